package fsutil

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var errDiskFull = errors.New("disk full")

// dirEntries lists the names in dir, sorted.
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// Moved from internal/output (WriteFileAtomic), with the prefix "output: "
// that output adds to these errors dropped.
func TestWriteFile(t *testing.T) {
	t.Run("writes and counts", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "a.json")
		n, err := WriteFile(path, Options{}, writeString(`{"a": 1}`+"\n"))
		require.NoError(t, err)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.EqualValues(t, len(got), n)
		require.Equal(t, []string{"a.json"}, dirEntries(t, dir))
	})
	t.Run("failure midway leaves no temp and the old file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "a.csv")
		require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
		_, err := WriteFile(path, Options{}, func(w io.Writer) error {
			if _, err := w.Write([]byte("half a fi")); err != nil {
				return err
			}
			return errDiskFull
		})
		require.ErrorIs(t, err, errDiskFull)
		require.ErrorContains(t, err, "write "+path)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, "old", string(got))
		require.Equal(t, []string{"a.csv"}, dirEntries(t, dir))
	})
	t.Run("panic in writer leaves no temp", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "a.csv")
		require.Panics(t, func() {
			_, _ = WriteFile(path, Options{}, func(w io.Writer) error { panic("bug") })
		})
		require.Empty(t, dirEntries(t, dir))
	})
	t.Run("replaced file keeps its permissions", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "a.csv")
		require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
		_, err := WriteFile(path, Options{}, writeString("new"))
		require.NoError(t, err)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	})
	t.Run("new file is not private to the owner", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a.csv")
		_, err := WriteFile(path, Options{}, func(w io.Writer) error { return nil })
		require.NoError(t, err)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		// 0666 less the umask: never the 0600 of os.CreateTemp unless the
		// umask asks for it.
		require.Equal(t, fs.FileMode(0o666)&^umask(t), fi.Mode().Perm())
	})
	t.Run("missing directory", func(t *testing.T) {
		_, err := WriteFile(filepath.Join(t.TempDir(), "no", "a.csv"), Options{}, func(io.Writer) error { return nil })
		require.ErrorContains(t, err, "create temporary file for")
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("rename onto a directory fails", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "a.csv", "x"), 0o755))
		_, err := WriteFile(filepath.Join(dir, "a.csv"), Options{}, func(io.Writer) error { return nil })
		require.ErrorContains(t, err, "replace ")
		require.Equal(t, []string{"a.csv"}, dirEntries(t, dir))
	})
	t.Run("relative path", func(t *testing.T) {
		t.Chdir(t.TempDir())
		_, err := WriteFile("rel.csv", Options{}, writeString("x"))
		require.NoError(t, err)
		require.FileExists(t, "rel.csv")
	})
}

func TestWriteFileOptions(t *testing.T) {
	cases := []struct {
		name     string
		opts     Options
		old      fs.FileMode // 0: no file before
		wantPerm fs.FileMode
	}{
		{"fixed mode for a new file", Options{Perm: 0o640}, 0, 0o640},
		{"fixed mode replaces the old one", Options{Perm: 0o600, NoSync: true}, 0o644, 0o600},
		{"own prefix", Options{Prefix: ".tmp-", Perm: 0o600}, 0, 0o600},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if c.old != 0 {
				require.NoError(t, os.WriteFile(path, []byte("old"), c.old))
				require.NoError(t, os.Chmod(path, c.old))
			}
			n, err := WriteFile(path, c.opts, writeString("new"))
			require.NoError(t, err)
			require.EqualValues(t, 3, n)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, c.wantPerm, fi.Mode().Perm())
			require.Equal(t, []string{"f"}, dirEntries(t, dir))
		})
	}
}

func TestStagedDiscard(t *testing.T) {
	dir := t.TempDir()
	st, err := Stage(context.Background(), filepath.Join(dir, "a"), Options{Prefix: ".tmp-"}, writeString("x"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(filepath.Base(st.Tmp), ".tmp-"), st.Tmp)
	st.Discard()
	require.Empty(t, dirEntries(t, dir))
}

// umask reads the process umask from a freshly created file.
func umask(t *testing.T) fs.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return 0o666 &^ fi.Mode().Perm()
}

func TestCreateTempName(t *testing.T) {
	dir := t.TempDir()
	f, err := createTemp(filepath.Join(dir, "x.csv"), Options{})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.True(t, strings.HasPrefix(filepath.Base(f.Name()), ".x.csv.tmp-"), f.Name())
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func TestCountingWriterStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var sink countWriter
	w := &countingWriter{ctx: ctx, w: &sink}
	_, err := w.Write([]byte("abc"))
	require.NoError(t, err)
	cancel()
	_, err = w.Write([]byte("def"))
	require.True(t, errors.Is(err, context.Canceled))
	require.EqualValues(t, 3, w.n)
	require.EqualValues(t, 3, sink.n)
}

func TestLock(t *testing.T) {
	if !CanLock {
		t.Skip("no file locks on this platform")
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, false)
	require.NoError(t, err)

	_, err = Lock(context.Background(), path, true)
	require.Error(t, err, "a second lock on a held file fails at once with try")

	// A waiting Lock ends with its context and does not keep the lock.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err = Lock(ctx, path, false)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A waiting Lock gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		u, err := Lock(context.Background(), path, false)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	require.NoError(t, <-got)

	_, err = Lock(context.Background(), filepath.Join(t.TempDir(), "no", "x.lock"), true)
	require.ErrorContains(t, err, "open lock file")
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestFlockSharedAndExclusive(t *testing.T) {
	if !CanLock {
		t.Skip("no file locks on this platform")
	}
	dir := t.TempDir()
	a, err := os.Open(dir)
	require.NoError(t, err)
	defer a.Close()
	b, err := os.Open(dir)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, Flock(a, Shared, true))
	require.NoError(t, Flock(b, Shared, false), "shared locks coexist")
	require.Error(t, Flock(b, Exclusive, false), "no exclusive lock beside a shared one")
	Unlock(a)
	require.NoError(t, Flock(b, Exclusive, false))
}
