package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/pipeline"
)

func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run([]string{"-rows", "10", "-seed", "3"}, &out, &errOut))
	require.Equal(t, 11, strings.Count(out.String(), "\n"))

	path := filepath.Join(t.TempDir(), "s.csv")
	require.NoError(t, run([]string{"-rows", "10", "-seed", "3", "--output-file", path}, &out, &errOut))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, out.String(), string(b))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	require.Error(t, run([]string{"-rows", "-1"}, &out, &errOut))
	require.Error(t, run([]string{"-bogus"}, &out, &errOut))
	require.Error(t, run([]string{"extra"}, &out, &errOut))
	require.Error(t, run([]string{"--output-file", filepath.Join(t.TempDir(), "no", "such", "dir", "x.csv")}, &out, &errOut))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
}

func TestHelpAndShortFlags(t *testing.T) {
	for _, h := range []string{"-h", "--help", "-help"} {
		var out, errOut bytes.Buffer
		require.NoError(t, run([]string{h}, &out, &errOut), "%s is not an error", h)
		require.Contains(t, out.String(), "--output-file FILE")
		require.Empty(t, errOut.String())
	}
	// -o means --outputs in salesdag; here it is refused with the fix.
	for _, args := range [][]string{{"-o", "x.csv"}, {"--o=x.csv"}, {"-rows", "3", "-o", "x.csv"}} {
		var out, errOut bytes.Buffer
		err := run(args, &out, &errOut)
		var ue usageError
		require.ErrorAs(t, err, &ue, "%v", args)
		require.Contains(t, err.Error(), "--output-file")
	}
	var ue usageError
	require.ErrorAs(t, run([]string{"-bogus"}, io.Discard, io.Discard), &ue)
}

func TestRunRandom(t *testing.T) {
	var a, b, want bytes.Buffer
	require.NoError(t, run([]string{"--random", "--seed", "7"}, &a, &b))
	require.NoError(t, pipeline.GenerateRandom(&want, 7, -1))
	require.Equal(t, want.String(), a.String(), "the seed draws the size")
	a.Reset()
	want.Reset()
	require.NoError(t, run([]string{"--random", "--seed", "7", "--rows", "3"}, &a, &b))
	require.NoError(t, pipeline.GenerateRandom(&want, 7, 3))
	require.Equal(t, want.String(), a.String(), "-rows fixes it")
}
