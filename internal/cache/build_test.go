package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// selfBytes reads the running test binary the way the kernel sees it.
func selfBytes(t *testing.T) []byte {
	t.Helper()
	p := selfExe
	if p == "" {
		var err error
		p, err = os.Executable()
		require.NoError(t, err)
	}
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func TestBuildVersionIsAHashOfTheExecutable(t *testing.T) {
	forgetBuildVersion()
	t.Cleanup(forgetBuildVersion)
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	want, err := HashReader(context.Background(), bytes.NewReader(selfBytes(t)))
	require.NoError(t, err)
	before := exeHashed.Load()
	v, err := s.BuildVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, "exe:"+want, v)
	// Once per process: another store does not hash it again.
	other, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	v2, err := other.BuildVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, v, v2)
	require.Equal(t, int64(1), exeHashed.Load()-before)

	// A Cache without Options.Version keys its entries with it.
	c := New(s, Options{})
	got, err := c.version(context.Background())
	require.NoError(t, err)
	require.Equal(t, v, got)
}

func TestBuildVersionIsRememberedByStat(t *testing.T) {
	forgetBuildVersion()
	t.Cleanup(forgetBuildVersion)
	// A clock one hour ahead puts the binary's mtime outside the racy
	// window, as it is for any binary not built in the last 3 seconds.
	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(dir, NoSync(), WithClock(ahead))
		require.NoError(t, err)
		return s
	}
	before := exeHashed.Load()
	v1, err := open().BuildVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(1), exeHashed.Load()-before)
	name, err := os.Executable()
	require.NoError(t, err)
	rec, err := readFileRecord(open().recordPath(name))
	require.NoError(t, err, "the hash is remembered in the cache directory")
	require.Equal(t, name, rec.Path)

	// A new process (here: the memory forgotten) reads the record, not
	// the binary.
	forgetBuildVersion()
	v2, err := open().BuildVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, v1, v2)
	if identityOf(mustStat(t, name)).Full {
		require.Equal(t, int64(1), exeHashed.Load()-before, "no second hash")
	}

	// A record that does not match the binary's stat is not trusted.
	rec.ID.CtimeNs++
	writeRecord(t, open().recordPath(name), rec)
	forgetBuildVersion()
	v3, err := open().BuildVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, v1, v3)
	require.Equal(t, int64(2), exeHashed.Load()-before, "hashed again")
}

func TestDamagedBuildRecordIsAWarning(t *testing.T) {
	forgetBuildVersion()
	t.Cleanup(forgetBuildVersion)
	dir := t.TempDir()
	s, err := Open(dir, NoSync())
	require.NoError(t, err)
	v1, err := s.BuildVersion(context.Background())
	require.NoError(t, err)
	name, err := os.Executable()
	require.NoError(t, err)
	rp := s.recordPath(name)
	require.NoError(t, os.WriteFile(rp, []byte("\x00\x17garbage{"), 0o600))
	forgetBuildVersion()
	var warnings []NodeEvent
	c := New(s, Options{OnEvent: func(e NodeEvent) { warnings = append(warnings, e) }})
	v2, err := c.version(context.Background())
	require.NoError(t, err)
	require.Equal(t, v1, v2)
	require.Len(t, warnings, 1)
	require.Equal(t, StatusCorrupt, warnings[0].Status)
	require.ErrorContains(t, warnings[0].Err, "damaged file-hash record "+rp)
	require.ErrorContains(t, warnings[0].Err, "removed it; the program "+name+" is hashed again")
	_, err = readFileRecord(rp)
	require.NoError(t, err, "a good record replaces it")
	require.Equal(t, filepath.Join(dir, filesDir), filepath.Dir(rp))
}

func writeRecord(t *testing.T, p string, rec *fileRecord) {
	t.Helper()
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, b, 0o600))
}

// BenchmarkBuildVersion is what a new process pays to know its build:
// hashing the executable, or reading the record the previous run left.
func BenchmarkBuildVersion(b *testing.B) {
	b.Cleanup(forgetBuildVersion)
	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	for _, bc := range []struct {
		name   string
		record bool
	}{{"hash", false}, {"record", true}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			s, err := Open(dir, NoSync(), WithClock(ahead))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				forgetBuildVersion()
				if !bc.record {
					_ = os.RemoveAll(filepath.Join(dir, filesDir))
				}
				if _, err := s.BuildVersion(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
