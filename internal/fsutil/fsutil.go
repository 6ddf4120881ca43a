// Package fsutil holds the file-system primitives salesdag's stores share:
// atomic file replacement, directory sync and advisory file locks.
package fsutil

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Options tune WriteFile and Stage.
type Options struct {
	// Prefix starts the temporary file's name, which ends in random
	// digits; "" means ".<base>.tmp-".
	Prefix string
	// Perm is the new file's mode. Zero means 0666 less the umask for a
	// new file and the old mode for a replaced one.
	Perm fs.FileMode
	// NoSync skips the fsync of the file and its directory (for files that
	// can be rebuilt).
	NoSync bool
}

// Staged is a complete temporary file waiting to be renamed to Final.
type Staged struct {
	Tmp, Final string
	Bytes      int64
	sync       bool
}

// WriteFile replaces path so that readers see either the old content or
// the complete new one: write fills a temporary file in the same
// directory, which is synced, closed and renamed over path, and then the
// directory is synced. On any error (or a panic in write) the temporary
// file is removed and path is left untouched. It returns the bytes written.
func WriteFile(path string, opts Options, write func(io.Writer) error) (int64, error) {
	st, err := Stage(context.Background(), path, opts, write)
	if err != nil {
		return 0, err
	}
	if err := st.Commit(); err != nil {
		return 0, err
	}
	if st.sync {
		SyncDir(filepath.Dir(path))
	}
	return st.Bytes, nil
}

// Stage writes a complete temporary file next to path (synced unless
// opts.NoSync, and closed); Commit puts it in place. ctx is checked on
// every write, so a cancelled caller stops mid-file. Errors name the file
// and say which step failed.
func Stage(ctx context.Context, path string, opts Options, write func(io.Writer) error) (*Staged, error) {
	f, err := createTemp(path, opts)
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		// Also runs when write panics, so no temporary file survives.
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	perm := opts.Perm
	if fi, statErr := os.Stat(path); perm == 0 && statErr == nil && fi.Mode().IsRegular() {
		perm = fi.Mode().Perm()
	}
	if perm != 0 {
		if err := f.Chmod(perm); err != nil {
			return nil, fmt.Errorf("set permissions of %s: %w", path, err)
		}
	}
	cw := &countingWriter{ctx: ctx, w: f}
	if err := write(cw); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if !opts.NoSync {
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("sync %s: %w", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("close %s: %w", tmp, err)
	}
	done = true
	return &Staged{Tmp: tmp, Final: path, Bytes: cw.n, sync: !opts.NoSync}, nil
}

// Commit renames the temporary file over the final path; on failure the
// temporary file is removed. The caller syncs the directory.
func (s *Staged) Commit() error {
	if err := os.Rename(s.Tmp, s.Final); err != nil {
		os.Remove(s.Tmp)
		return fmt.Errorf("replace %s: %w", s.Final, err)
	}
	return nil
}

// Discard removes the temporary file.
func (s *Staged) Discard() { os.Remove(s.Tmp) }

// createTemp creates Prefix+random digits next to path. Unlike
// os.CreateTemp (always 0600) it asks for 0666 when opts.Perm is zero, so
// the umask decides the final permissions as it does for os.Create.
func createTemp(path string, opts Options) (*os.File, error) {
	dir, base := filepath.Split(path)
	dir = cmp.Or(dir, ".")
	prefix := cmp.Or(opts.Prefix, "."+base+".tmp-")
	prefix = filepath.Join(dir, prefix)
	mode := fs.FileMode(0o666)
	if opts.Perm != 0 {
		mode = 0o600
	}
	for range 100 {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no free temporary name %s* after 100 tries", prefix)
}

// FreeName returns name if nothing is there, else the first of name-2,
// name-3, ... that is free: where to move a damaged file without
// overwriting an earlier one.
func FreeName(name string) string {
	try := name
	for i := 2; ; i++ {
		if _, err := os.Lstat(try); errors.Is(err, fs.ErrNotExist) {
			return try
		}
		try = fmt.Sprintf("%s-%d", name, i)
	}
}

// SyncDir makes new, renamed or removed entries of dir durable. Some file
// systems refuse to sync a directory; the data itself is already synced,
// so that is not an error.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// countingWriter counts bytes and stops writing once ctx is done.
type countingWriter struct {
	ctx context.Context
	w   io.Writer
	n   int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Lock takes an exclusive advisory lock on the file at path (created with
// mode 0600 if needed). It waits for the lock until ctx is done (then the
// error is ctx's, and a grant that comes later is released at once), or,
// with try set, fails at once when another holder has it. Where file
// locks are not available it only opens the file.
func Lock(ctx context.Context, path string, try bool) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	release := func() {
		Unlock(f)
		f.Close()
	}
	if try {
		if err := Flock(f, Exclusive, false); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return release, nil
	}
	got := make(chan error, 1)
	go func() { got <- Flock(f, Exclusive, true) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return release, nil
	case <-ctx.Done():
		go func() {
			if err := <-got; err == nil {
				release()
				return
			}
			f.Close()
		}()
		return nil, ctx.Err()
	}
}

// LockMode is a kind of advisory lock.
type LockMode int

const (
	Shared LockMode = iota
	Exclusive
)
