package lineage

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/salesdag/salesdag/internal/fsutil"
)

// The outbox is a directory of JSON-lines files, one per run that left
// events undelivered, named so that they sort in the order runs began.
// An emitter owns its file while it runs (spill.go: appended in whole
// batches, fsynced, locked so that Flush skips it) and leaves in it
// exactly what it could not deliver. Flush rewrites a file atomically
// (temporary file, fsync, rename) and keeps whatever was not accepted, in
// order.

const (
	outboxExt     = ".jsonl"
	outboxLock    = ".lock"
	flushLock     = ".flush.lock"
	corruptSuffix = ".corrupt"
)

func outboxFile(dir, name string) string { return filepath.Join(dir, name+outboxExt) }

// FlushOptions tune Flush's retries; zero values take the Emitter's
// defaults.
type FlushOptions struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Logf           func(format string, args ...any)
}

// FlushReport says what Flush did.
type FlushReport struct {
	Files      int // outbox files looked at
	Sent       int // events accepted and removed
	Rejected   int // events refused for good, kept
	Remaining  int // events still in the outbox (refused ones included)
	Corrupt    int // lines that were not events, moved to *.corrupt
	InUse      int // files skipped: a running salesdag still owns them
	FirstError error
	SetAside   []SetAside // damaged files and what was done (warnings)
}

// String is a one-line summary.
func (r FlushReport) String() string {
	s := fmt.Sprintf("lineage flush: %d sent, %d remaining in %d file(s)", r.Sent, r.Remaining, r.Files)
	if r.Rejected > 0 {
		s += fmt.Sprintf(", %d refused", r.Rejected)
	}
	if r.Corrupt > 0 {
		s += fmt.Sprintf(", %d corrupt line(s) set aside", r.Corrupt)
	}
	if r.InUse > 0 {
		s += fmt.Sprintf(", %d file(s) skipped: in use by a running salesdag", r.InUse)
	}
	if r.FirstError != nil {
		s += " (first error: " + oneLine(r.FirstError.Error()) + ")"
	}
	return s
}

// Flush re-sends the outbox in dir through t, oldest file first and in
// order within a file, and removes only what was accepted. Retryable
// failures are retried (honouring Retry-After); when an event still cannot
// be delivered, it and everything after it stay for the next Flush, so the
// order is kept. Refused events (non-retryable) stay too and are counted.
// Only one Flush runs on a directory at a time. A missing dir is an empty
// outbox. Flush does not close t.
func Flush(ctx context.Context, dir string, t Transport, opts FlushOptions) (FlushReport, error) {
	var r FlushReport
	opts.MaxAttempts = positive(opts.MaxAttempts, DefaultMaxAttempts)
	opts.InitialBackoff = positive(opts.InitialBackoff, DefaultInitialBackoff)
	opts.MaxBackoff = positive(opts.MaxBackoff, DefaultMaxBackoff)
	files, err := outboxFiles(dir)
	if err != nil || len(files) == 0 {
		return r, err
	}
	unlock, err := fsutil.Lock(context.Background(), filepath.Join(dir, flushLock), true)
	if err != nil {
		return r, fmt.Errorf("lineage flush: %s is being flushed by another process (%w); try again when it is done", dir, err)
	}
	defer unlock()

	stopped := false // a failure that ends sending for this Flush
	for _, path := range files {
		r.Files++
		content, err := readLocked(dir, path)
		var rf *readFileError
		switch {
		case errors.Is(err, errInUse):
			r.InUse++ // a running salesdag may still deliver these itself
			continue
		case errors.Is(err, os.ErrNotExist):
			continue
		case errors.As(err, &rf):
			r.SetAside = append(r.SetAside, setAsideFile(path, errors.Unwrap(rf.err)))
			continue
		case err != nil:
			return r, err
		}
		var keep [][]byte
		var corrupt [][]byte
		for _, line := range splitLines(content) {
			if !isEvent(line) {
				corrupt = append(corrupt, line)
				continue
			}
			if stopped {
				keep = append(keep, line)
				continue
			}
			err := sendWithRetry(ctx, t, line, opts)
			switch {
			case err == nil:
				r.Sent++
			case !retryable(err) && ctx.Err() == nil:
				r.Rejected++
				keep = append(keep, line)
			default:
				stopped = true
				keep = append(keep, line)
			}
			if err != nil && r.FirstError == nil {
				r.FirstError = err
			}
		}
		r.Corrupt += len(corrupt)
		r.Remaining += len(keep)
		if err := rewriteOutbox(dir, path, content, keep, corrupt); err != nil {
			return r, err
		}
		if len(corrupt) > 0 {
			r.SetAside = append(r.SetAside, SetAside{File: path, To: path + corruptSuffix, Lines: len(corrupt)})
		}
	}
	return r, nil
}

func sendWithRetry(ctx context.Context, t Transport, line []byte, opts FlushOptions) error {
	var err error
	for attempt := 1; ; attempt++ {
		if cerr := ctx.Err(); cerr != nil {
			return cmp.Or(err, cerr)
		}
		err = t.Send(ctx, line)
		if err == nil || !retryable(err) || attempt >= opts.MaxAttempts {
			return err
		}
		wait := backoff(attempt, opts.InitialBackoff, opts.MaxBackoff)
		if ra := retryAfter(err); ra > 0 {
			wait = ra
		}
		if d, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(d) {
			// The next attempt would come after the deadline: stop now
			// rather than wait for nothing.
			return &deadlineError{err: err, wait: wait}
		}
		if opts.Logf != nil {
			opts.Logf("lineage flush: %v; attempt %d, retrying in %s", err, attempt, wait.Round(time.Millisecond))
		}
		tm := time.NewTimer(wait)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return err
		}
	}
}

// OutboxFiles lists the outbox files in dir, oldest first.
func outboxFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lineage: read outbox %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, outboxExt) && !strings.HasPrefix(n, ".") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Pending counts the events waiting in the outbox in dir.
func Pending(dir string) (int, error) {
	files, err := outboxFiles(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		b, err := readOutboxFile(f)
		if err != nil {
			continue // Flush moves it aside and says so
		}
		for _, l := range splitLines(b) {
			if isEvent(l) {
				n++
			}
		}
	}
	return n, nil
}

func readLocked(dir, path string) ([]byte, error) {
	unlock, err := fsutil.Lock(context.Background(), filepath.Join(dir, outboxLock), false)
	if err != nil {
		return nil, fmt.Errorf("lineage: lock outbox %s: %w", dir, err)
	}
	defer unlock()
	if fileInUse(path) {
		return nil, errInUse
	}
	b, err := readOutboxFile(path)
	if err != nil {
		return nil, &readFileError{fmt.Errorf("lineage: read outbox %s: %w", path, err)}
	}
	return b, nil
}

// rewriteOutbox replaces path with keep plus anything appended since it
// was read (original), and sets corrupt lines aside.
func rewriteOutbox(dir, path string, original []byte, keep, corrupt [][]byte) error {
	unlock, err := fsutil.Lock(context.Background(), filepath.Join(dir, outboxLock), false)
	if err != nil {
		return fmt.Errorf("lineage: lock outbox %s: %w", dir, err)
	}
	defer unlock()
	now, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("lineage: re-read outbox %s: %w", path, err)
	}
	buf := bytes.NewBuffer(joinLines(keep))
	if bytes.HasPrefix(now, original) {
		buf.Write(now[len(original):])
	}
	if len(corrupt) > 0 {
		if err := appendRaw(path+corruptSuffix, joinLines(corrupt)); err != nil {
			return err
		}
	}
	if buf.Len() == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("lineage: remove flushed outbox %s: %w", path, err)
		}
		fsutil.SyncDir(dir)
		return nil
	}
	if bytes.Equal(buf.Bytes(), now) {
		return nil
	}
	if err := writeOutbox(path, buf.Bytes()); err != nil {
		return fmt.Errorf("lineage: rewrite outbox: %w", err)
	}
	return nil
}

// writeOutbox replaces path atomically with b (private to the owner, synced).
func writeOutbox(path string, b []byte) error {
	_, err := fsutil.WriteFile(path, fsutil.Options{Prefix: ".flush-", Perm: 0o600}, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	return err
}

func appendRaw(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("lineage: set aside corrupt outbox lines in %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	err = cmp.Or(err, f.Close())
	if err != nil {
		return fmt.Errorf("lineage: set aside corrupt outbox lines in %s: %w", path, err)
	}
	return nil
}

// splitLines returns the non-empty lines of b; a last line without its
// newline (a torn write) is returned too and fails json.Valid.
func splitLines(b []byte) [][]byte {
	var out [][]byte
	for line := range bytes.Lines(b) {
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, bytes.TrimSuffix(line, []byte("\n")))
		}
	}
	return out
}

// joinLines writes each line followed by a newline.
func joinLines(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// deadlineError is a retryable failure whose next attempt would come
// after the flush's deadline (a long Retry-After, say).
type deadlineError struct {
	err  error
	wait time.Duration
}

func (e *deadlineError) Error() string {
	return fmt.Sprintf("%v; not retried: the next attempt (in %s) would come after the deadline", e.err, e.wait.Round(time.Second))
}

func (e *deadlineError) Unwrap() error { return e.err }
