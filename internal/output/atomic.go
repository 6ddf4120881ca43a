package output

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

	"github.com/salesdag/salesdag/internal/fsutil"
)

// stage writes a complete, synced and closed temporary file
// ".<base>.tmp-N" next to path (see fsutil.Stage).
func stage(ctx context.Context, path string, write func(io.Writer) error) (*fsutil.Staged, error) {
	st, err := fsutil.Stage(ctx, path, fsutil.Options{}, write)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return st, nil
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
	dir = cmp.Or(dir, ".")
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

// lockDir holds a shared flock on dir while a set of files is written.
// First it tries an exclusive one: when that is granted, no other
// salesdag is writing into dir, and clean runs before the lock is made
// shared. Where dir cannot be locked, it writes without the lock and
// without cleaning (where flock is not available, every lock is granted).
func lockDir(dir string, clean func()) (unlock func()) {
	f, err := os.Open(dir)
	if err != nil {
		return func() {}
	}
	if fsutil.Flock(f, fsutil.Exclusive, false) == nil {
		clean()
		// Downgrading never waits: shared locks only wait for exclusive ones.
		if fsutil.Flock(f, fsutil.Shared, true) != nil {
			f.Close()
			return func() {}
		}
	} else if fsutil.Flock(f, fsutil.Shared, true) != nil {
		f.Close()
		return func() {}
	}
	return func() {
		fsutil.Unlock(f)
		f.Close()
	}
}
