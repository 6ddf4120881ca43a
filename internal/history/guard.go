package history

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/salesdag/salesdag/internal/fsutil"
)

// Local state must never block work. bbolt trusts its file: on a damaged
// one it panics (failed page assertions) or reads through the memory map
// past the end of a truncated file, which is a fault that kills the
// process. So every use of the store is checked:
//
//  1. bbolt's own checks on open (meta page checksums, page size);
//  2. the cheap check, on every open: the file holds every page the meta
//     page counts (a truncated file fails here, before any page past its
//     end is touched);
//  3. the full check: a walk of every key of every bucket in this
//     goroutine, then bbolt's tx.Check (free list, page references, key
//     order). The walk comes first because tx.Check runs in a goroutine
//     of its own, where a fault cannot be recovered; after the walk every
//     page it visits is known to be mapped. It reads the whole file, so
//     it runs where it costs no one: with the first batch of a run's
//     events (in the background, before anything is written to the
//     store), in `lineage repair`, and in a query only after bbolt failed
//     on what the query read.
//
// On a store of 5000 runs (33 MiB; BenchmarkCheck, fresh open each time,
// on a loaded 2-core machine): open 0.25 ms, open and cheap check ~1 ms,
// open and full check 50-85 ms.
//
// All of it, and every later use of the handle, runs under guard: a
// panic, or a memory fault turned into one by debug.SetPanicOnFault,
// becomes an error. A file found damaged is moved aside to
// history.db.corrupt-<time> (kept for the user, never deleted) and a new
// store is started; the caller reports that in one warning.

// CorruptError reports a store file that cannot be read safely.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("history: %s is damaged: %v", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// panicError is a panic inside bbolt (or a memory fault in its map).
type panicError struct{ v any }

func (e panicError) Error() string { return fmt.Sprintf("bbolt cannot read it: %v", e.v) }

// guard runs fn and turns a panic or a memory fault in it into an error.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if v := recover(); v != nil {
			err = panicError{v}
		}
	}()
	return fn()
}

// isDamage reports whether an error from opening or checking the store
// means the file is damaged, as opposed to busy, missing or not
// permitted (which moving it aside would not fix).
func isDamage(err error) bool {
	var ce *CorruptError
	var pe panicError
	switch {
	case err == nil:
		return false
	case errors.As(err, &ce), errors.As(err, &pe):
		return true
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch):
		return true
	}
	// bbolt's own words for a meta page that counts more than the file
	// can hold.
	msg := err.Error()
	return strings.Contains(msg, "file size too small") || strings.Contains(msg, "mmap too large")
}

// openDB opens the store at path with opts and checks it (full: the
// whole tree, see above). A damaged file is a *CorruptError; fi is then
// the file that was found damaged, for moveAside.
func openDB(path string, opts bolt.Options, full bool) (db *bolt.DB, fi os.FileInfo, err error) {
	// Remember the file bbolt opens, to close it if bbolt panics before
	// it hands out the handle. Its memory map stays (and with it bbolt's
	// lock on that file) until the process ends: harmless, as the file is
	// then moved aside and a new one started.
	var file *os.File
	opts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err == nil {
			file = f
			fi, _ = f.Stat()
		}
		return f, err
	}
	// Load the free list here, under guard, and not later in a goroutine
	// of bbolt's own (tx.Check).
	opts.PreLoadFreelist = true
	err = guard(func() error {
		var oerr error
		db, oerr = bolt.Open(path, 0o600, &opts)
		return oerr
	})
	if err != nil {
		if _, ok := err.(panicError); ok && file != nil {
			file.Close()
		}
		if isDamage(err) {
			return nil, fi, &CorruptError{Path: path, Err: err}
		}
		return nil, fi, err
	}
	if err := checkDB(db, full); err != nil {
		closeDB(db)
		return nil, fi, &CorruptError{Path: path, Err: err}
	}
	return db, fi, nil
}

// checkDB verifies an open store: its size always, its whole tree when
// full.
func checkDB(db *bolt.DB, full bool) error {
	return guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			fi, err := os.Stat(db.Path())
			if err != nil {
				return err
			}
			if need := tx.Size(); fi.Size() < need {
				return fmt.Errorf("the file is %d bytes but holds %d: truncated", fi.Size(), need)
			}
			if !full {
				return nil
			}
			if err := walkAll(tx); err != nil {
				return err
			}
			var errs []error
			for err := range tx.Check() {
				if len(errs) < 3 {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		})
	})
}

// walkAll reads every key and value of every top-level bucket, so that
// any page bbolt cannot follow fails here, in the calling goroutine.
func walkAll(tx *bolt.Tx) error {
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		var sink byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) > 0 {
				sink ^= v[0] ^ v[len(v)-1]
			}
		}
		_ = sink
		return nil
	})
}

// closeDB closes a handle that may be in a bad state.
func closeDB(db *bolt.DB) {
	_ = guard(db.Close)
}

// corruptName is the name a damaged store is moved to.
func corruptName(path string, now time.Time) string {
	return fsutil.FreeName(path + ".corrupt-" + now.UTC().Format("20060102T150405Z"))
}

// moveAside renames the damaged store at path, if it is still the file
// seen (another process may have moved it already), and returns where it
// went ("" when there was nothing to move). The caller holds the writers'
// lock.
func moveAside(path string, seen os.FileInfo) (string, error) {
	cur, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("history: move damaged %s aside: %w", path, err)
	}
	if seen != nil && !os.SameFile(cur, seen) {
		return "", nil
	}
	to := corruptName(path, time.Now())
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("history: move damaged %s aside: %w", path, err)
	}
	fsutil.SyncDir(filepath.Dir(path))
	return to, nil
}

// movedWarning is the one line that tells the user what happened.
func movedWarning(ce *CorruptError, to string) string {
	if to == "" {
		return fmt.Sprintf("run history %s was damaged (%s); another salesdag has already moved it aside", ce.Path, errLine(ce.Err))
	}
	return fmt.Sprintf("run history %s was damaged (%s); moved it to %s and started a new one", ce.Path, errLine(ce.Err), to)
}

// errLine shortens an error for a warning line.
func errLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", "; ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
