package cache

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testKey = "0123456789abcdef0123456789abcdef"

func key(i int) string { return strings.Repeat(string(rune('a'+i)), 32) }

func TestStorePutGet(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "c"))
	require.NoError(t, err)
	n, err := s.Put(Header{Node: "daily", Key: testKey, Type: "T", Codec: "c/v1"}, []byte("payload"))
	require.NoError(t, err)
	require.True(t, s.Has("daily", testKey))
	h, b, err := s.Get("daily", testKey)
	require.NoError(t, err)
	require.Equal(t, "payload", string(b))
	require.Equal(t, int64(7), h.Size)
	require.Equal(t, "c/v1", h.Codec)
	st, err := os.Stat(entryPathT(t, s, "daily", testKey))
	require.NoError(t, err)
	require.Equal(t, n, st.Size())

	_, _, err = s.Get("daily", key(1))
	require.ErrorIs(t, err, ErrNotFound)
	require.False(t, s.Has("daily", key(1)))

	tag, err := os.ReadFile(filepath.Join(s.Dir(), tagFile))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(tag), "Signature: 8a477f597d28d172789f06886806bc55"))
}

func entryPathT(t *testing.T, s *Store, node, key string) string {
	p, err := s.path(node, key)
	require.NoError(t, err)
	return p
}

func TestStoreRejectsBadNames(t *testing.T) {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	for _, k := range []string{"", "../../etc", "ABCDEF0123456789", "short"} {
		_, err := s.Put(Header{Node: "n", Key: k}, nil)
		require.Error(t, err, k)
		_, _, err = s.Get("n", k)
		require.Error(t, err, k)
		require.False(t, s.Has("n", k))
	}
	// Odd node names are hashed into a safe directory name.
	for _, node := range []string{"../escape", "a/b", ".hidden", strings.Repeat("x", 200)} {
		_, err := s.Put(Header{Node: node, Key: testKey}, []byte("x"))
		require.NoError(t, err, node)
		p := entryPathT(t, s, node, testKey)
		require.True(t, strings.HasPrefix(p, filepath.Join(s.Dir(), entriesDir)+string(filepath.Separator)), p)
		require.NotContains(t, strings.TrimPrefix(p, s.Dir()), "..")
		h, _, err := s.Get(node, testKey)
		require.NoError(t, err)
		require.Equal(t, node, h.Node)
	}
}

func TestOpenErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, []byte("x"), 0o600))
	_, err := Open(f)
	require.ErrorContains(t, err, "creating cache directory")
	_, err = Open(filepath.Join(f, "sub"))
	require.Error(t, err)
}

func TestDefaultDir(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Chdir(dir))
	defer func() { require.NoError(t, os.Chdir(wd)) }()
	s, err := Open("")
	require.NoError(t, err)
	require.Equal(t, DefaultDir, s.Dir())
	_, err = os.Stat(filepath.Join(dir, ".salesdag", "cache", tagFile))
	require.NoError(t, err)
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestListPruneClear(t *testing.T) {
	ck := &clock{t: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), NoSync(), WithClock(ck.now))
	require.NoError(t, err)
	// Five entries of 1000 payload bytes, used at day 1..5.
	for i := 0; i < 5; i++ {
		_, err := s.Put(Header{Node: "n" + string(rune('0'+i)), Key: key(i)}, make([]byte, 1000))
		require.NoError(t, err)
		used := ck.t.Add(-time.Duration(5-i) * 24 * time.Hour)
		require.NoError(t, os.Chtimes(entryPathT(t, s, "n"+string(rune('0'+i)), key(i)), used, used))
	}
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 5)
	require.Equal(t, "n4", list[0].Node, "most recently used first")
	require.Equal(t, "n0", list[4].Node)
	size := list[0].Bytes
	require.Greater(t, size, int64(1000))

	// A hit refreshes the last use: n0 becomes the newest.
	_, _, err = s.Get("n0", key(0))
	require.NoError(t, err)
	list, err = s.List()
	require.NoError(t, err)
	require.Equal(t, "n0", list[0].Node)
	require.Equal(t, ck.t, list[0].LastUsed.UTC())

	tests := []struct {
		name    string
		opts    PruneOptions
		removed []string
	}{
		{"nothing to do", PruneOptions{OlderThan: 30 * 24 * time.Hour, MaxSize: 1 << 30}, nil},
		{"older than 3.5 days", PruneOptions{OlderThan: 84 * time.Hour}, []string{"n1"}},
		{"max size keeps most recent", PruneOptions{MaxSize: 2*size + 10}, []string{"n2", "n3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := s.Prune(tc.opts)
			require.NoError(t, err)
			var names []string
			for _, e := range rep.Removed {
				names = append(names, e.Node)
			}
			require.Equal(t, tc.removed, names)
			require.Equal(t, int64(len(tc.removed))*size, rep.RemovedBytes)
		})
	}
	list, err = s.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []string{"n0", "n4"}, []string{list[0].Node, list[1].Node})

	_, err = s.Prune(PruneOptions{OlderThan: -1})
	require.Error(t, err)

	rep, err := s.Clear()
	require.NoError(t, err)
	require.Len(t, rep.Removed, 2)
	list, err = s.List()
	require.NoError(t, err)
	require.Empty(t, list)
	// The store still works after clearing.
	_, err = s.Put(Header{Node: "n", Key: testKey}, []byte("x"))
	require.NoError(t, err)
}

func TestPruneRemovesCorruptAndLeftovers(t *testing.T) {
	ck := &clock{t: time.Now()}
	s, err := Open(t.TempDir(), NoSync(), WithClock(ck.now))
	require.NoError(t, err)
	_, err = s.Put(Header{Node: "good", Key: testKey}, []byte("x"))
	require.NoError(t, err)
	_, err = s.Put(Header{Node: "bad", Key: testKey}, []byte("x"))
	require.NoError(t, err)
	bad := entryPathT(t, s, "bad", testKey)
	require.NoError(t, os.Truncate(bad, 3))
	dir := filepath.Dir(entryPathT(t, s, "good", testKey))
	oldTmp := filepath.Join(dir, tmpPrefix+"old")
	newTmp := filepath.Join(dir, tmpPrefix+"new")
	require.NoError(t, os.WriteFile(oldTmp, []byte("partial"), 0o600))
	require.NoError(t, os.WriteFile(newTmp, []byte("partial"), 0o600))
	old := ck.t.Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(oldTmp, old, old))
	// A file hash record for a file that no longer exists.
	gone := filepath.Join(t.TempDir(), "gone.csv")
	require.NoError(t, os.WriteFile(gone, []byte("a"), 0o600))
	_, _, err = s.FileKey(t.Context(), gone)
	require.NoError(t, err)
	require.NoError(t, os.Remove(gone))
	_, err = os.Stat(s.recordPath(gone))
	require.NoError(t, err)

	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	var corrupt []Entry
	for _, e := range list {
		if e.Corrupt != "" {
			corrupt = append(corrupt, e)
		}
	}
	require.Len(t, corrupt, 1)
	require.Equal(t, "bad", corrupt[0].Node, "the node comes from the directory when the header is unreadable")

	rep, err := s.Prune(PruneOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Removed, 1)
	require.Equal(t, 1, rep.Kept)
	_, err = os.Stat(oldTmp)
	require.True(t, os.IsNotExist(err), "stale temp file removed")
	_, err = os.Stat(newTmp)
	require.NoError(t, err, "a temp file being written right now stays")
	_, err = os.Stat(filepath.Dir(bad))
	require.True(t, os.IsNotExist(err), "empty node directory removed")
	_, err = os.Stat(s.recordPath(gone))
	require.True(t, os.IsNotExist(err), "record of a deleted file removed")
}

func TestClearRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, NoSync())
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, tagFile)))
	_, err = s.Clear()
	require.ErrorContains(t, err, "refusing to delete")
	require.NoError(t, os.WriteFile(filepath.Join(dir, tagFile), []byte("Signature: 8a477f597d28d172789f06886806bc55\nother tool\n"), 0o600))
	_, err = s.Clear()
	require.ErrorContains(t, err, "refusing to delete")
}

func TestListEmptyAndMissing(t *testing.T) {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	list, err := s.List()
	require.NoError(t, err)
	require.Empty(t, list)
	require.NoError(t, os.RemoveAll(filepath.Join(s.Dir(), entriesDir)))
	list, err = s.List()
	require.NoError(t, err)
	require.Empty(t, list)
	rep, err := s.Prune(PruneOptions{MaxSize: 1})
	require.NoError(t, err)
	require.Empty(t, rep.Removed)
}

func TestCorruptHeaderVariants(t *testing.T) {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	_, err = s.Put(Header{Node: "n", Key: testKey}, []byte("hello"))
	require.NoError(t, err)
	p := entryPathT(t, s, "n", testKey)
	good, err := os.ReadFile(p)
	require.NoError(t, err)
	tests := []struct {
		name   string
		edit   func([]byte) []byte
		reason string
	}{
		{"format version", func(b []byte) []byte { b[8] = 99; return b }, "format version 99"},
		{"header too long", func(b []byte) []byte { b[15] = 0x7f; return b }, "header length out of range"},
		{"header not json", func(b []byte) []byte {
			hl := int(b[12])
			copy(b[prefixLen:prefixLen+hl], strings.Repeat("x", hl))
			crc := crc32Of(b[prefixLen : prefixLen+hl])
			b[16], b[17], b[18], b[19] = byte(crc), byte(crc>>8), byte(crc>>16), byte(crc>>24)
			return b
		}, "header:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.edit(append([]byte(nil), good...))
			require.NoError(t, os.WriteFile(p, b, 0o600))
			_, _, err := s.Get("n", testKey)
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			require.Contains(t, ce.Error(), tc.reason)
			require.Contains(t, ce.Error(), p, "the message names the file")
		})
	}
}

func crc32Of(b []byte) uint32 { return crc32Checksum(b) }

func TestOpenNoCreate(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	_, err := Open(missing, NoCreate())
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(missing)
	require.True(t, os.IsNotExist(err), "nothing created")
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = Open(file, NoCreate())
	require.ErrorContains(t, err, "not a directory")
	dir := t.TempDir()
	_, err = Open(dir)
	require.NoError(t, err)
	s, err := Open(dir, NoCreate())
	require.NoError(t, err)
	list, err := s.List()
	require.NoError(t, err)
	require.Empty(t, list)
}
