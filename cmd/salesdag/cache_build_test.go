package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// buildVariant builds salesdag like TestMain does, plus one extra source
// file added through -overlay (a tiny code change: the repository is not
// touched and the build settings recorded in the binary stay the same).
// Only package main is compiled again, so this costs about one link.
func buildVariant(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "extra.go")
	require.NoError(t, os.WriteFile(src, []byte(extra), 0o600))
	wd, err := os.Getwd()
	require.NoError(t, err)
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(wd, "zz_cache_build_variant.go"): src}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o600))
	bin := filepath.Join(dir, "salesdag")
	args := []string{"build", "-race", "-overlay", filepath.Join(dir, "overlay.json"), "-o", bin, "."}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		args = append(args[:1], args[2:]...)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func cacheKeys(t *testing.T, dir, cacheDir string) []string {
	t.Helper()
	ls := run(t, dir, nil, "cache", "ls", "--json", "--dir", cacheDir)
	require.Zero(t, ls.code, ls.stderr)
	var entries []struct {
		Node, Key string
	}
	require.NoError(t, json.Unmarshal([]byte(ls.stdout), &entries))
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Node+"/"+e.Key)
	}
	sort.Strings(keys)
	return keys
}

// TestCacheEntriesBelongToOneBuild: the code part of a cache key is the
// build, so a binary built from different code (here: one more source
// file in package main) never hits an entry of another, while the same
// binary hits its own entries again and again.
func TestCacheEntriesBelongToOneBuild(t *testing.T) {
	t.Parallel()
	other := buildVariant(t, `package main

import "os"

var buildVariant = "b"

func init() {
	if os.Getenv("SALESDAG_CACHE_TEST_NEVER_SET_"+buildVariant) == "yes" {
		println(buildVariant)
	}
}
`)
	a, err := os.ReadFile(binPath)
	require.NoError(t, err)
	b, err := os.ReadFile(other)
	require.NoError(t, err)
	require.False(t, bytes.Equal(a, b), "the two builds differ")

	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	salesdag := func(bin string) string {
		r := runBin(t, bin, dir, nil, "run", "--cache="+cacheDir, "--lineage", "none", "--no-history")
		require.Zero(t, r.code, r.stderr)
		return r.stderr
	}
	require.Contains(t, salesdag(binPath), "cache: 2 disabled, 6 miss")
	require.Contains(t, salesdag(binPath), "cache: 6 hit, 2 skipped", "same binary: hits")
	first := cacheKeys(t, dir, cacheDir)
	require.Len(t, first, 6)

	require.Contains(t, salesdag(other), "cache: 2 disabled, 6 miss", "another build: misses")
	require.Contains(t, salesdag(other), "cache: 6 hit, 2 skipped")
	both := cacheKeys(t, dir, cacheDir)
	require.Len(t, both, 12, "the other build's entries are its own")
	require.Subset(t, both, first)

	require.Contains(t, salesdag(binPath), "cache: 6 hit, 2 skipped", "the first build still finds its entries")
}

// TestDamagedCacheNeverFailsARun: damaged entries and side-index records
// cost a warning naming the file and what was done; a cache directory
// that cannot be used costs a warning and a run without the cache.
func TestDamagedCacheNeverFailsARun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	input := filepath.Join(dir, "sales.csv")
	sample, err := os.ReadFile(filepath.Join("..", "..", "internal", "pipeline", "sample", "sales_raw.csv"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(input, sample, 0o600))
	args := []string{"run", "--input", input, "--cache=" + cacheDir, "--lineage", "none", "--no-history"}
	first := run(t, dir, nil, args...)
	require.Zero(t, first.code, first.stderr)

	entries, err := filepath.Glob(filepath.Join(cacheDir, "entries", "*", "*.entry"))
	require.NoError(t, err)
	require.Len(t, entries, 6)
	require.NoError(t, os.WriteFile(entries[0], []byte("garbage"), 0o600))
	require.NoError(t, os.Truncate(entries[1], 30))
	records, err := filepath.Glob(filepath.Join(cacheDir, "files", "*.json"))
	require.NoError(t, err)
	require.Len(t, records, 2, "the input file and the executable")
	for _, r := range records {
		require.NoError(t, os.WriteFile(r, []byte("{\x00garbage"), 0o600))
	}

	second := run(t, dir, nil, args...)
	require.Zero(t, second.code, second.stderr)
	require.Contains(t, second.stderr, "cache: 2 disabled, 4 hit, 2 miss")
	for _, e := range entries[:2] {
		require.Contains(t, second.stderr, "damaged entry "+e)
		node := filepath.Base(filepath.Dir(e))
		require.Contains(t, second.stderr, "removed it; "+node+" is computed again")
	}
	for _, r := range records {
		require.Contains(t, second.stderr, "damaged file-hash record "+r)
	}
	require.Contains(t, second.stderr, "is hashed again")

	third := run(t, dir, nil, args...)
	require.Zero(t, third.code, third.stderr)
	require.Contains(t, third.stderr, "cache: 6 hit, 2 skipped", "repaired")
	require.NotContains(t, third.stderr, "damaged")

	// A cache directory whose layout is broken: the run goes on without it.
	broken := filepath.Join(dir, "broken")
	require.NoError(t, os.MkdirAll(broken, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "entries"), nil, 0o600))
	r := run(t, dir, nil, "run", "--input", input, "--cache="+broken, "--lineage", "none", "--no-history")
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stderr, "cache not used: running without it")
	require.Contains(t, r.stderr, broken)
	require.NotContains(t, r.stderr, "cache miss")
}
