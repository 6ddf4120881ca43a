package cache

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFileKeyIsAContentHash(t *testing.T) {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	dir := t.TempDir()
	big := make([]byte, 3*hashChunk+12345) // several chunks, hashed in parallel
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"small", []byte("date,amount\n2024-01-01,1\n")},
		{"exactly one chunk", big[:hashChunk]},
		{"several chunks", big},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := filepath.Join(dir, "a-"+strings.ReplaceAll(tc.name, " ", "-"))
			b := filepath.Join(dir, "b-"+strings.ReplaceAll(tc.name, " ", "-"))
			require.NoError(t, os.WriteFile(a, tc.content, 0o600))
			require.NoError(t, os.WriteFile(b, tc.content, 0o600))
			ka, stamp, err := s.FileKey(context.Background(), a)
			require.NoError(t, err)
			kb, _, err := s.FileKey(context.Background(), b)
			require.NoError(t, err)
			require.Equal(t, ka, kb, "same bytes, same key, wherever the file is")
			kr, err := HashReader(context.Background(), bytes.NewReader(tc.content))
			require.NoError(t, err)
			require.Equal(t, ka, kr, "a stream of the same bytes has the same key")
			require.False(t, stamp.Changed())
			for other, k := range seen {
				require.NotEqual(t, k, ka, "differs from %s", other)
			}
			seen[tc.name] = ka
		})
	}
}

func TestFileKeyShortcut(t *testing.T) {
	// A clock one hour ahead makes records older than the racy window.
	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	tests := []struct {
		name       string
		clock      func() time.Time
		change     func(t *testing.T, path string)
		wantHashes int64 // full hashes on the second call
		sameKey    bool
	}{
		{"unchanged file: no re-hash", ahead, func(*testing.T, string) {}, 0, true},
		{"recently changed file is racy: re-hash", time.Now, func(*testing.T, string) {}, 1, true},
		{"same size, mtime restored: re-hash, new key", ahead, func(t *testing.T, p string) {
			st, err := os.Stat(p)
			require.NoError(t, err)
			// Let the coarse file system clock tick, so the write gets a
			// ctime different from the one recorded.
			time.Sleep(50 * time.Millisecond)
			require.NoError(t, os.WriteFile(p, []byte("1\n2\n4\n"), 0o644))
			require.NoError(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
		}, 1, false},
		{"touched, content same: re-hash, same key", ahead, func(t *testing.T, p string) {
			now := time.Now().Add(time.Minute)
			require.NoError(t, os.Chtimes(p, now, now))
		}, 1, true},
		{"replaced by another file: re-hash", ahead, func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p+".tmp", []byte("1\n2\n3\n"), 0o644))
			require.NoError(t, os.Rename(p+".tmp", p))
		}, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), NoSync(), WithClock(tc.clock))
			require.NoError(t, err)
			p := filepath.Join(t.TempDir(), "in.csv")
			require.NoError(t, os.WriteFile(p, []byte("1\n2\n3\n"), 0o644))
			k1, _, err := s.FileKey(context.Background(), p)
			require.NoError(t, err)
			tc.change(t, p)
			before := filesHashed.Load()
			k2, _, err := s.FileKey(context.Background(), p)
			require.NoError(t, err)
			if identityOf(mustStat(t, p)).Full {
				require.Equal(t, tc.wantHashes, filesHashed.Load()-before)
			}
			if tc.sameKey {
				require.Equal(t, k1, k2)
			} else {
				require.NotEqual(t, k1, k2)
			}
		})
	}
}

func mustStat(t *testing.T, p string) os.FileInfo {
	st, err := os.Stat(p)
	require.NoError(t, err)
	return st
}

func TestFileStampChanged(t *testing.T) {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(p, []byte("abc"), 0o644))
	_, stamp, err := s.FileKey(context.Background(), p)
	require.NoError(t, err)
	require.False(t, stamp.Changed())
	require.NoError(t, os.WriteFile(p, []byte("abcd"), 0o644))
	require.True(t, stamp.Changed())
	require.NoError(t, os.Remove(p))
	require.True(t, stamp.Changed())
}

func TestFileKeyErrors(t *testing.T) {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	_, _, err = s.FileKey(context.Background(), filepath.Join(t.TempDir(), "missing.csv"))
	require.ErrorContains(t, err, "missing.csv")

	p := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(p, make([]byte, 2*hashChunk), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = s.FileKey(ctx, p)
	require.ErrorIs(t, err, context.Canceled)
	_, err = HashReader(ctx, bytes.NewReader([]byte("x")))
	require.ErrorIs(t, err, context.Canceled)
	_, err = HashReader(context.Background(), io.MultiReader(bytes.NewReader([]byte("x")), errReader{}))
	require.ErrorContains(t, err, "hashing input")

	// A directory cannot be hashed.
	_, _, err = s.FileKey(context.Background(), t.TempDir())
	require.Error(t, err)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrPermission }

func TestDamagedFileRecordIsAWarning(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, p string)
		reason string
	}{
		{"garbage", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p, []byte("\x00\xff{not json"), 0o600))
		}, "invalid character"},
		{"truncated", func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b[:len(b)/2], 0o600))
		}, "unexpected end of JSON input"},
		{"empty", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, 0)) }, "unexpected end of JSON input"},
		{"wrong shape", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p, []byte(`{"path":"x","hash":"not a hash"}`), 0o600))
		}, "not a file-hash record"},
		{"a directory", func(t *testing.T, p string) {
			require.NoError(t, os.Remove(p))
			require.NoError(t, os.Mkdir(p, 0o700))
		}, "is a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			res, _, _, err := e.run(Options{}, "label")
			require.NoError(t, err)
			wantLabel(t, res, "total=6")
			rp := e.store().recordPath(mustAbs(t, e.input))
			tc.damage(t, rp)

			before := filesHashed.Load()
			res, r, calls, err := e.run(Options{}, "label")
			require.NoError(t, err, "a damaged index never fails a run")
			wantLabel(t, res, "total=6")
			require.Empty(t, calls, "the input hashes to the same key: still a hit")
			require.Equal(t, []string{"label"}, r.Loaded())
			require.Equal(t, int64(1), filesHashed.Load()-before, "the input is hashed again")
			w := e.eventsWith(StatusCorrupt)
			require.Len(t, w, 1)
			require.Equal(t, "source", w[0].Node)
			require.ErrorContains(t, w[0].Err, "damaged file-hash record "+rp+" ("+"")
			require.ErrorContains(t, w[0].Err, tc.reason)
			require.ErrorContains(t, w[0].Err, "removed it; input "+e.input+" is hashed again")
			_, err = readFileRecord(rp)
			require.NoError(t, err, "a good record replaces the damaged one")

			_, _, _, err = e.run(Options{}, "label")
			require.NoError(t, err)
			require.Empty(t, e.eventsWith(StatusCorrupt), "warned once")
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
