package history

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/salesdag/salesdag/internal/lineage"
)

// DefaultReadTimeout is how long Open waits for a writer to finish.
const DefaultReadTimeout = 5 * time.Second

// Store reads the history. Open it for one command and Close it soon:
// while it is open, writers wait.
type Store struct {
	db   *bolt.DB // nil for a store file that was never initialised
	path string
	host string
	// warnings are damaged state met and dealt with (Warnings).
	warnings []string
	seen     os.FileInfo // the file opened, for moving it aside
	// alive tells whether the recording process of a run without a
	// terminal event still exists (tests replace it).
	alive func(pid int) bool
}

// Open opens the store at path read-only. A store
// that does not exist yet is ErrNoHistory.
func Open(path string) (*Store, error) {
	host, _ := os.Hostname()
	s := &Store{path: path, host: host, alive: processAlive}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("history: %w in %s (every `salesdag run` records one; set %s to use another store)", ErrNoHistory, path, EnvHome)
	case err != nil:
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	case fi.Size() == 0:
		// Created by a writer that died before initialising it: empty.
		return s, nil
	}
	// The cheap check only: a query reads few pages, under guard; one it
	// cannot read leads to the full check (view).
	db, seen, err := openDB(path, bolt.Options{ReadOnly: true, Timeout: DefaultReadTimeout}, false)
	s.seen = seen
	var ce *CorruptError
	if errors.As(err, &ce) {
		if err := s.setAside(ce); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err != nil {
		if isLockTimeout(err) {
			return nil, fmt.Errorf("history: %s is locked by another salesdag process for more than %s; try again", path, DefaultReadTimeout)
		}
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	s.db = db
	return s, nil
}

// setAside moves the damaged store aside, so that the next run starts a
// new one; until then this one is empty.
func (s *Store) setAside(ce *CorruptError) error {
	to, err := moveAsideNow(s.path, s.seen)
	if err != nil {
		return fmt.Errorf("%w; %w (move it away by hand; `salesdag run` starts a new one)", ce, err)
	}
	s.warn("%s", movedWarning(ce, to))
	return nil
}

// moveAsideNow takes the writers' lock of path and moves the damaged
// store seen aside.
func moveAsideNow(path string, seen os.FileInfo) (string, error) {
	unlock := lockPath(path)
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultReadTimeout)
	defer cancel()
	unlockFile, err := lockFile(ctx, path)
	if err != nil {
		return "", err
	}
	defer unlockFile()
	return moveAside(path, seen)
}

// maxWarnings bounds the warnings a query reports one by one.
const maxWarnings = 5

func (s *Store) warn(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// skipped records an unreadable record that a query left out.
func (s *Store) skipped(what string, err error) {
	s.warn("run history %s: skipped %s: %s (`salesdag lineage repair` drops what cannot be read)", s.path, what, errLine(err))
}

// Warnings returns what the queries so far met and dealt with: a damaged
// store moved aside, unreadable records skipped. One line each, at most
// a few and then a count of the rest.
func (s *Store) Warnings() []string {
	if len(s.warnings) <= maxWarnings {
		return append([]string(nil), s.warnings...)
	}
	out := append([]string(nil), s.warnings[:maxWarnings]...)
	return append(out, fmt.Sprintf("run history %s: %d more unreadable record(s) skipped", s.path, len(s.warnings)-maxWarnings))
}

// EmptyStore is a store with no runs, for describing the DAG before
// anything was recorded.
func EmptyStore() *Store {
	return &Store{path: "(no history)", alive: processAlive}
}

// Close releases the store.
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	if err := guard(s.db.Close); err != nil {
		return fmt.Errorf("history: close %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) view(fn func(runs, events, index *bolt.Bucket) error) error {
	if s.db == nil {
		return fn(nil, nil, nil)
	}
	err := guard(func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			return fn(tx.Bucket(bucketRuns), tx.Bucket(bucketEvents), tx.Bucket(bucketByStart))
		})
	})
	var pe panicError
	if !errors.As(err, &pe) {
		return err
	}
	// bbolt could not read the store: is it damaged, or is it salesdag?
	if cerr := checkDB(s.db, true); cerr != nil {
		closeDB(s.db)
		s.db = nil
		if err := s.setAside(&CorruptError{Path: s.path, Err: cerr}); err != nil {
			return err
		}
		return fn(nil, nil, nil)
	}
	return fmt.Errorf("history: reading %s: %w", s.path, err)
}

// effective turns RUNNING into INCOMPLETE when the process that recorded
// the run, on this host, no longer exists.
func (s *Store) effective(r *Run) {
	r.Status = cmp.Or(r.Status, StatusRunning)
	if r.Status == StatusRunning && r.PID > 0 && r.Host == s.host && !s.alive(r.PID) {
		r.Status = StatusIncomplete
	}
}

func decodeRun(v []byte) (*Run, error) {
	var r Run
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("history: unreadable run summary: %w", err)
	}
	return &r, nil
}

// shortID is the shortest prefix of id's hex digits, at least 8, that no
// other run shares, in the canonical dashed form.
func shortID(runs *bolt.Bucket, id uuid.UUID) string {
	n := 8
	if runs != nil {
		for _, nb := range neighbours(runs.Cursor(), id[:]) {
			if len(nb) == 16 && !bytes.Equal(nb, id[:]) {
				n = max(n, commonHexPrefix(id[:], nb)+1)
			}
		}
	}
	return dashedPrefix(id, n)
}

// neighbours returns the keys just before and just after key.
func neighbours(c *bolt.Cursor, key []byte) [][]byte {
	k, _ := c.Seek(key)
	if k == nil {
		last, _ := c.Last()
		return [][]byte{last}
	}
	var next []byte
	if bytes.Equal(k, key) {
		next, _ = c.Next()
	} else {
		next = k
	}
	c.Seek(key)
	prev, _ := c.Prev()
	return [][]byte{prev, next}
}

func commonHexPrefix(a, b []byte) int {
	ha, hb := hex.EncodeToString(a), hex.EncodeToString(b)
	i := 0
	for i < len(ha) && i < len(hb) && ha[i] == hb[i] {
		i++
	}
	return i
}

// dashedPrefix returns the first n hex digits of id, with the dashes of
// the canonical form that fall among them.
func dashedPrefix(id uuid.UUID, n int) string {
	s := id.String()
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			digits++
		}
		if digits == n {
			return s[:i+1]
		}
	}
	return s
}

// ListQuery selects runs for List.
type ListQuery struct {
	Limit    int      // at most this many; <= 0 means all
	Statuses []Status // only runs in one of these states; empty means all
}

// List returns runs newest first.
func (s *Store) List(q ListQuery) ([]Run, error) {
	want := map[Status]bool{}
	for _, st := range q.Statuses {
		want[st] = true
	}
	out := []Run{}
	err := s.view(func(runs, _, index *bolt.Bucket) error {
		// Terminal states are final: filter on the index alone, and
		// decode only the runs that are listed or may have died.
		skip := func(st Status) bool { return len(want) > 0 && st.Terminal() && !want[st] }
		s.newest(runs, index, skip, func(id uuid.UUID, r *Run) bool {
			if len(want) == 0 || want[r.Status] {
				r.ShortID = shortID(runs, id)
				out = append(out, *r)
			}
			return q.Limit <= 0 || len(out) < q.Limit
		})
		return nil
	})
	return out, err
}

// newest calls fn with each readable run, newest first, until fn returns
// false. skip (when not nil) leaves out, by the status in the index, a
// run that need not be decoded.
func (s *Store) newest(runs, index *bolt.Bucket, skip func(Status) bool, fn func(id uuid.UUID, r *Run) bool) {
	if index == nil {
		return
	}
	c := index.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		if skip != nil && skip(Status(v)) {
			continue
		}
		if len(k) != 24 {
			s.skipped(fmt.Sprintf("an index entry of %d bytes", len(k)), errors.New("wrong key length"))
			continue
		}
		id, _ := uuid.FromBytes(k[8:])
		raw := runs.Get(id[:])
		if raw == nil {
			continue
		}
		r, err := decodeRun(raw)
		if err != nil {
			s.skipped("run "+id.String(), err)
			continue
		}
		s.effective(r)
		if !fn(id, r) {
			return
		}
	}
}

// ErrNotFound is wrapped by errors for run ids that match no run.
var ErrNotFound = errors.New("no such run")

// AmbiguousError is returned for a run id prefix that more than one run
// has.
type AmbiguousError struct {
	Ref        string
	Candidates []Run // the first matches, in id order
	More       bool  // there are more than Candidates
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run id %q is ambiguous; it could be", e.Ref)
	for i, c := range e.Candidates {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s (%s, %s)", c.ID, c.Start.Local().Format("2006-01-02 15:04:05"), c.Status)
	}
	if e.More {
		b.WriteString(", ...")
	}
	b.WriteString("; type more of the id")
	return b.String()
}

const maxCandidates = 10

// Resolve turns a run reference into a run id: a full id, a unique prefix
// of one (dashes optional, like a git short hash), or "latest".
func (s *Store) Resolve(ref string) (uuid.UUID, error) {
	ref = strings.TrimSpace(ref)
	norm := strings.ToLower(strings.ReplaceAll(ref, "-", ""))
	if norm == "latest" || norm == "last" {
		return s.latestID(ref)
	}
	if norm == "" || len(norm) > 32 || strings.Trim(norm, "0123456789abcdef") != "" {
		return uuid.Nil, fmt.Errorf("history: %q is not a run id (hexadecimal digits, as `salesdag lineage runs` shows them, or \"latest\")", ref)
	}
	seek, err := hex.DecodeString(norm[:len(norm)/2*2])
	if err != nil {
		return uuid.Nil, fmt.Errorf("history: %q is not a run id: %w", ref, err)
	}
	var found []uuid.UUID
	var cands []Run
	more := false
	err = s.view(func(runs, _, _ *bolt.Bucket) error {
		if runs == nil {
			return nil
		}
		c := runs.Cursor()
		for k, v := c.Seek(seek); k != nil && bytes.HasPrefix(k, seek); k, v = c.Next() {
			if !strings.HasPrefix(hex.EncodeToString(k), norm) {
				continue
			}
			if len(found) == maxCandidates {
				more = true
				break
			}
			id, err := uuid.FromBytes(k)
			if err != nil {
				continue
			}
			found = append(found, id)
			r, err := decodeRun(v)
			if err != nil {
				r = &Run{ID: id.String()}
			}
			s.effective(r)
			cands = append(cands, *r)
		}
		return nil
	})
	switch {
	case err != nil:
		return uuid.Nil, err
	case len(found) == 0:
		return uuid.Nil, fmt.Errorf("history: %w matches %q in %s (see `salesdag lineage runs`)", ErrNotFound, ref, s.path)
	case len(found) > 1:
		return uuid.Nil, &AmbiguousError{Ref: ref, Candidates: cands, More: more}
	}
	return found[0], nil
}

func (s *Store) latestID(ref string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.view(func(_, _, index *bolt.Bucket) error {
		if index == nil {
			return nil
		}
		if k, _ := index.Cursor().Last(); len(k) == 24 {
			id, _ = uuid.FromBytes(k[8:])
		}
		return nil
	})
	if err == nil && id == uuid.Nil {
		err = fmt.Errorf("history: %w for %q: %w in %s", ErrNotFound, ref, ErrNoHistory, s.path)
	}
	return id, err
}

// Get returns the summary of run id.
func (s *Store) Get(id uuid.UUID) (*Run, error) {
	var r *Run
	err := s.view(func(runs, events, _ *bolt.Bucket) error {
		if runs == nil {
			return nil
		}
		raw := runs.Get(id[:])
		if raw == nil {
			return nil
		}
		var err error
		if r, err = decodeRun(raw); err != nil {
			s.skipped("the summary of run "+id.String()+", re-derived it from the run's events", err)
			r = s.rebuildRun(id, events)
		}
		r.ShortID = shortID(runs, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("history: %w: %s in %s", ErrNotFound, id, s.path)
	}
	s.effective(r)
	return r, nil
}

// RawEvents returns the recorded events of run id (root and nodes), in
// the order they were recorded, as the JSON that was emitted.
func (s *Store) RawEvents(id uuid.UUID) ([]json.RawMessage, error) {
	var out []json.RawMessage
	err := s.view(func(_, events, _ *bolt.Bucket) error {
		if events == nil {
			return nil
		}
		c := events.Cursor()
		for k, v := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Next() {
			data, err := decompressEvent(v)
			if err == nil && !json.Valid(data) {
				err = errors.New("not JSON")
			}
			if err != nil {
				s.skipped(fmt.Sprintf("event %d of run %s", binary.BigEndian.Uint64(k[16:]), id), err)
				continue
			}
			out = append(out, data)
		}
		return nil
	})
	return out, err
}

// runEvents returns the recorded events of a listed run.
func (s *Store) runEvents(r *Run) ([]*lineage.RunEvent, error) {
	id, err := uuid.Parse(r.ID)
	if err != nil {
		return nil, fmt.Errorf("history: run id %q: %w", r.ID, err)
	}
	return s.Events(id)
}

// Events returns the decoded events of run id, in recorded order.
func (s *Store) Events(id uuid.UUID) ([]*lineage.RunEvent, error) {
	raw, err := s.RawEvents(id)
	if err != nil {
		return nil, err
	}
	out := make([]*lineage.RunEvent, 0, len(raw))
	for i, b := range raw {
		var ev lineage.RunEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			s.skipped(fmt.Sprintf("event %d of run %s", i, id), err)
			continue
		}
		out = append(out, &ev)
	}
	return out, nil
}

// Latest returns the newest run for which keep returns true, or nil.
func (s *Store) Latest(keep func(*Run) bool) (*Run, error) {
	var found *Run
	err := s.view(func(runs, _, index *bolt.Bucket) error {
		s.newest(runs, index, nil, func(id uuid.UUID, r *Run) bool {
			if !keep(r) {
				return true
			}
			r.ShortID = shortID(runs, id)
			found = r
			return false
		})
		return nil
	})
	return found, err
}
