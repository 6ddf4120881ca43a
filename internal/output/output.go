// Package output writes node results to files: tables as pandas-compatible
// CSV (and Parquet on request), everything else as Python-compatible JSON.
// Every file is written atomically, and WriteAll commits a whole run's files
// only after all of them were written, so a failed or interrupted run leaves
// earlier outputs untouched and no partial file behind.
//
// Which files a node gets (SPEC section 2, as amended by issue 10: the
// formats list exactly what is written):
//   - a table (frame.Tabler or *frame.Frame) gets one file per requested
//     format: <node>.csv, <node>.json (an array of records) and/or
//     <node>.parquet;
//   - any other value (an object or a list) gets <node>.json whatever the
//     formats: JSON is its only form.
//
// No formats at all means DefaultFormats, csv: tables as CSV, everything
// else as JSON, as the reference writes them.
package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/fsutil"
)

// Format names an output file format.
type Format string

// The supported formats.
const (
	FormatCSV     Format = "csv"
	FormatJSON    Format = "json"
	FormatParquet Format = "parquet"
)

// DefaultFormats is what salesdag writes when no format is given: tables
// as CSV (objects and lists are always JSON).
var DefaultFormats = []Format{FormatCSV}

// tableFormats is the order of a table's files.
var tableFormats = []Format{FormatCSV, FormatJSON, FormatParquet}

// ParseFormats parses a comma-separated list such as "csv,json,parquet"
// (case-insensitive, spaces allowed, duplicates ignored). An empty string
// gives DefaultFormats.
func ParseFormats(s string) ([]Format, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(DefaultFormats), nil
	}
	var out []Format
	for _, p := range strings.Split(s, ",") {
		f := Format(strings.ToLower(strings.TrimSpace(p)))
		if err := f.validate(); err != nil {
			return nil, err
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

func (f Format) validate() error {
	switch f {
	case FormatCSV, FormatJSON, FormatParquet:
		return nil
	}
	return fmt.Errorf("output: unknown format %q: use csv, json or parquet", string(f))
}

// Written describes one file written by Write or WriteAll.
type Written struct {
	Node   string
	Path   string // absolute path of the file
	Format string // "csv", "json" or "parquet"
	Rows   int64  // table rows; for JSON: array length, 1 for an object, 0 for null
	Bytes  int64
	Schema []frame.Field
}

// WriteSetCommit is WriteAll that also removes the files named in stale
// (plain names in dir) that it does not write, as part of the same set: they are
// removed only after every new file is in place, and put back if that
// fails. A file of an earlier run that the new set replaces by nothing
// (rejected_rows.csv after a run without bad rows set aside) thus never
// sits next to results it does not belong to.
//
// Before writing, WriteSetCommit removes temporary files (".<name>.tmp-N",
// ".<name>.old-N", ".salesdag-probe-N") that a killed salesdag left in
// dir. A writer holds a shared lock on dir (flock) while it writes; the
// cleanup runs only when an exclusive lock can be had, that is when no
// other salesdag is writing there, so a concurrent run's files are never
// touched.
//
// commit (when not nil) is called once every file is written to its
// temporary name and before any is renamed into place: the files and another store (a database transaction that commit
// commits) are then all or nothing. If commit fails the temporary files
// are removed, dir is left as it was and its error is returned as is; if
// writing the files fails commit is never called.
func WriteSetCommit(ctx context.Context, dir string, results map[string]any, nodes []string, formats []Format, stale []string, commit func(context.Context) error) ([]Written, error) {
	if len(formats) == 0 {
		formats = DefaultFormats
	}
	want := make(map[Format]bool, len(formats))
	for _, f := range formats {
		if err := f.validate(); err != nil {
			return nil, err
		}
		want[f] = true
	}
	var jobs []job
	seen := make(map[string]bool, len(nodes))
	for _, node := range nodes {
		if seen[node] {
			continue
		}
		seen[node] = true
		if err := checkNodeName(node); err != nil {
			return nil, err
		}
		v, ok := results[node]
		if !ok {
			return nil, fmt.Errorf("output: no result for node %q to write", node)
		}
		js, err := jobsFor(node, v, want)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, js...)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("output: files not written: %w", err)
	}
	for _, name := range stale {
		if err := checkNodeName(name); err != nil {
			return nil, err
		}
	}
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("output: resolve output directory %q: %w", dir, err)
	}
	unlock := lockDir(abs, func() { removeLeftovers(abs, leftoverMinAge) })
	defer unlock()

	stagedFiles, err := stageAll(ctx, abs, jobs)
	if err != nil {
		return nil, err
	}
	// The last point of no return: once renaming starts it runs to the end,
	// since a rename is quick and a half-renamed set is worse than a late stop.
	if err := ctx.Err(); err != nil {
		for _, st := range stagedFiles {
			st.Discard()
		}
		return nil, fmt.Errorf("output: files not written: %w", err)
	}
	if commit != nil {
		if err := commit(ctx); err != nil {
			for _, st := range stagedFiles {
				st.Discard()
			}
			return nil, err
		}
	}
	out := make([]Written, len(jobs))
	for i, j := range jobs {
		st := stagedFiles[i]
		out[i] = Written{Node: j.node, Path: st.Final, Format: string(j.format), Rows: j.rows, Bytes: st.Bytes, Schema: j.schema}
	}
	// Keep the files about to be replaced (as hard links), so that a
	// rename failing halfway can put every earlier one back.
	backups := make([]string, len(stagedFiles))
	existed := make([]bool, len(stagedFiles))
	for i, st := range stagedFiles {
		_, err := os.Lstat(st.Final)
		existed[i] = err == nil
		backups[i] = keepOld(st.Final)
	}
	dropBackups := func() {
		for _, b := range backups {
			if b != "" {
				os.Remove(b)
			}
		}
	}
	// rollback puts back the first n committed files; it returns the
	// names it could not restore.
	rollback := func(n int) []string {
		var lost []string
		for k := range n {
			final := stagedFiles[k].Final
			switch {
			case backups[k] != "":
				if os.Rename(backups[k], final) == nil {
					backups[k] = ""
					continue
				}
			case !existed[k]:
				if os.Remove(final) == nil {
					continue
				}
			}
			lost = append(lost, filepath.Base(final))
		}
		return lost
	}
	fail := func(err error, lost []string) ([]Written, error) {
		dropBackups()
		if len(lost) > 0 {
			err = fmt.Errorf("%w (could not restore: %s)", err, strings.Join(lost, ", "))
		}
		return nil, err
	}
	for i, st := range stagedFiles {
		if err := st.Commit(); err != nil {
			err = fmt.Errorf("output: %w", err)
			for _, rest := range stagedFiles[i+1:] {
				rest.Discard()
			}
			return fail(err, rollback(i))
		}
	}
	// Then the files of the old set that the new one does not have.
	writing := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		writing[j.file] = true
	}
	type removed struct{ path, backup string }
	var gone []removed
	for _, name := range stale {
		path := filepath.Join(abs, name)
		if writing[name] {
			continue
		}
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
			continue // nothing there, or not a file salesdag wrote
		}
		b := keepOld(path)
		if err := removeFile(path); err != nil {
			if b != "" {
				os.Remove(b)
			}
			var lost []string
			for _, g := range gone {
				if g.backup == "" || os.Rename(g.backup, g.path) != nil {
					lost = append(lost, filepath.Base(g.path))
				}
			}
			return fail(fmt.Errorf("output: remove %s of an earlier run: %w", path, err), append(lost, rollback(len(stagedFiles))...))
		}
		gone = append(gone, removed{path, b})
	}
	for _, g := range gone {
		if g.backup != "" {
			os.Remove(g.backup)
		}
	}
	dropBackups()
	fsutil.SyncDir(abs)
	return out, nil
}

// removeFile is os.Remove (tests make it fail).
var removeFile = os.Remove

// leftoverMinAge is how old a leftover temporary file must be before it
// is removed: zero where the directory lock proves it stale; without
// flock, a day (no run takes that long to write its files).
var leftoverMinAge = func() time.Duration {
	if fsutil.CanLock {
		return 0
	}
	return 24 * time.Hour
}()

// isLeftover reports whether name is one of the temporary names salesdag
// gives files in an output directory: ".<file>.tmp-N" (a file being
// written), ".<file>.old-N" (the file it replaces, kept until the set is
// in place) and ".salesdag-probe-N" (CheckDir).
func isLeftover(name string) bool {
	if digitsAfter(name, ".salesdag-probe-") {
		return true
	}
	if !strings.HasPrefix(name, ".") {
		return false
	}
	for _, mark := range []string{".tmp-", ".old-"} {
		i := strings.LastIndex(name, mark)
		if i < 0 || !digitsAfter(name[i:], mark) {
			continue
		}
		base := name[1:i]
		for _, ext := range []string{".csv", ".json", ".parquet"} {
			if strings.HasSuffix(base, ext) && len(base) > len(ext) {
				return true
			}
		}
	}
	return false
}

// digitsAfter reports whether s is prefix followed by one or more digits.
func digitsAfter(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeLeftovers removes salesdag's temporary files in dir that are at
// least minAge old. Failures are ignored: they cost nothing but space.
func removeLeftovers(dir string, minAge time.Duration) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	now := time.Now()
	for _, e := range ents {
		if !e.Type().IsRegular() || !isLeftover(e.Name()) {
			continue
		}
		if minAge > 0 {
			info, err := e.Info()
			if err != nil || now.Sub(info.ModTime()) < minAge {
				continue
			}
		}
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}

// maxParallelWrites bounds how many files are written at once.
const maxParallelWrites = 8

// stageAll writes every job to its temporary file, several at once: each
// file ends with an fsync, and overlapping those saves most of the time
// writing takes. The first failure stops the others. On error every
// temporary file is removed and the error of the earliest failing job (in
// job order, so the message does not depend on scheduling) is returned.
func stageAll(ctx context.Context, dir string, jobs []job) ([]*fsutil.Staged, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stagedFiles := make([]*fsutil.Staged, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, maxParallelWrites)
	var wg sync.WaitGroup
	for i, j := range jobs {
		path := filepath.Join(dir, j.file)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			defer func() {
				// A panicking encoder (a node's MarshalJSON, say) must not
				// take the process down from this goroutine.
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("output: write %s: panic: %v", path, r)
					cancel()
				}
			}()
			if err := wctx.Err(); err != nil {
				errs[i] = fmt.Errorf("output: %s not written: %w", path, err)
				return
			}
			st, err := stage(wctx, path, j.write)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			stagedFiles[i] = st
		})
	}
	wg.Wait()

	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		// Jobs stopped by our own cancel are not the cause.
		if first == nil || (errors.Is(first, context.Canceled) && ctx.Err() == nil && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	if first != nil {
		for _, st := range stagedFiles {
			if st != nil {
				st.Discard()
			}
		}
		return nil, first
	}
	return stagedFiles, nil
}

// CheckDir creates dir if needed and checks that files can be created in
// it, so that a run can fail before any work with one clear message.
func CheckDir(dir string) error {
	if dir == "" {
		return errors.New("output directory is empty: give a directory with --output-dir")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("output directory %s is not a directory: choose another --output-dir", dir)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("output directory %s cannot be created: %w; choose another --output-dir", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".salesdag-probe-*")
	if err != nil {
		return fmt.Errorf("output directory %s is not writable: %w; fix its permissions or choose another --output-dir", dir, err)
	}
	name := probe.Name()
	probe.Close()
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("output directory %s: cannot remove probe file %s: %w", dir, name, err)
	}
	return nil
}

// job is one file to write.
type job struct {
	node, file string
	format     Format
	rows       int64
	schema     []frame.Field
	write      func(io.Writer) error
}

// jobsFor decides the files for one node's value (see the package doc).
func jobsFor(node string, v any, want map[Format]bool) ([]job, error) {
	if isNil(v) {
		return nil, fmt.Errorf("output: node %q has no value (nil) to write", node)
	}
	if f, ok := tableOf(v); ok {
		if f == nil {
			return nil, fmt.Errorf("output: node %q returned a nil table", node)
		}
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("output: node %q: %w", node, err)
		}
		rows, schema := int64(f.Rows()), f.Schema()
		write := map[Format]func(io.Writer) error{
			FormatCSV:     func(w io.Writer) error { return WriteCSV(w, f) },
			FormatJSON:    func(w io.Writer) error { return WriteJSONRecords(w, f) },
			FormatParquet: func(w io.Writer) error { return WriteParquet(w, f) },
		}
		var js []job
		for _, format := range tableFormats {
			if want[format] {
				js = append(js, job{node: node, file: node + "." + string(format), format: format, rows: rows, schema: schema, write: write[format]})
			}
		}
		return js, nil
	}
	return []job{{node: node, file: node + ".json", format: FormatJSON, rows: jsonRows(v), schema: SchemaOf(v),
		write: func(w io.Writer) error { return WriteJSON(w, v) }}}, nil
}

// checkNodeName rejects names that would not stay a plain file in dir.
func checkNodeName(node string) error {
	if node == "" || node == "." || node == ".." || strings.ContainsAny(node, `/\`) || strings.ContainsRune(node, 0) {
		return fmt.Errorf("output: node name %q cannot be used as a file name", node)
	}
	return nil
}

// tableOf returns the frame of a table value.
func tableOf(v any) (*frame.Frame, bool) {
	switch t := v.(type) {
	case *frame.Frame:
		return t, true
	case frame.Tabler:
		return t.Table(), true
	}
	return nil, false
}

// isNil reports whether v is nil or a nil pointer, map, slice or interface
// (calling Table on a nil pointer could panic in the node's code).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// jsonRows is the row count of a JSON value: the length of an array, 1 for
// an object or a scalar, 0 for null.
func jsonRows(v any) int64 {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return 0
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Invalid:
		return 0
	case reflect.Slice:
		if rv.IsNil() {
			return 0
		}
		return int64(rv.Len())
	case reflect.Array:
		return int64(rv.Len())
	case reflect.Map:
		if rv.IsNil() {
			return 0
		}
	}
	return 1
}
