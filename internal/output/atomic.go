package output

import (
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

// WriteFileAtomic writes a file so that readers see either the old content
// or the complete new one, never a partial file: write fills a temporary
// file in the same directory (".<base>.tmp-<random>"), which is synced,
// closed and renamed over path. On any error the temporary file is removed
// and an existing file at path is left untouched. It returns the number of
// bytes written.
//
// A new file gets the permissions os.Create would give it (0666 less the
// umask); a replaced file keeps its permissions.
func WriteFileAtomic(path string, write func(io.Writer) error) (int64, error) {
	st, err := stage(context.Background(), path, write)
	if err != nil {
		return 0, err
	}
	if err := st.commit(); err != nil {
		return 0, err
	}
	syncDir(filepath.Dir(path))
	return st.bytes, nil
}

// staged is a complete temporary file waiting to be renamed to final.
type staged struct {
	tmp, final string
	bytes      int64
}

// stage writes a complete, synced and closed temporary file next to path.
// ctx is checked on every write, so a cancelled run stops mid-file.
func stage(ctx context.Context, path string, write func(io.Writer) error) (*staged, error) {
	f, err := createTemp(path)
	if err != nil {
		return nil, fmt.Errorf("output: create temporary file for %s: %w", path, err)
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
	if fi, statErr := os.Stat(path); statErr == nil && fi.Mode().IsRegular() {
		if err := f.Chmod(fi.Mode().Perm()); err != nil {
			return nil, fmt.Errorf("output: keep permissions of %s: %w", path, err)
		}
	}
	cw := &countingWriter{ctx: ctx, w: f}
	if err := write(cw); err != nil {
		return nil, fmt.Errorf("output: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("output: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("output: close %s: %w", tmp, err)
	}
	done = true
	return &staged{tmp: tmp, final: path, bytes: cw.n}, nil
}

// commit renames the temporary file over the final path; on failure the
// temporary file is removed.
func (s *staged) commit() error {
	if err := os.Rename(s.tmp, s.final); err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("output: replace %s: %w", s.final, err)
	}
	return nil
}

// discard removes the temporary file.
func (s *staged) discard() { os.Remove(s.tmp) }

// createTemp creates ".<base>.tmp-<random>" next to path. Unlike
// os.CreateTemp (always 0600) it asks for 0666, so the umask decides the
// final file's permissions as it does for os.Create.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	prefix := filepath.Join(dir, "."+base+".tmp-")
	for range 100 {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no free temporary name %s* after 100 tries", prefix)
}

// syncDir makes renames in dir durable. Some file systems refuse to sync a
// directory; the data itself is already synced, so that is not an error.
func syncDir(dir string) {
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

// keepOld hard-links an existing regular file at path to a hidden name
// next to it and returns that name ("" when there was no file, or it could
// not be linked: then it cannot be restored).
func keepOld(path string) string {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	for range 100 {
		name := filepath.Join(dir, "."+base+".old-"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		err := os.Link(path, name)
		if err == nil {
			return name
		}
		if !errors.Is(err, fs.ErrExist) {
			return ""
		}
	}
	return ""
}
