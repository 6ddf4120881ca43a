package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run([]string{"-rows", "10", "-seed", "3"}, &out, &errOut))
	require.Equal(t, 11, strings.Count(out.String(), "\n"))

	path := filepath.Join(t.TempDir(), "s.csv")
	require.NoError(t, run([]string{"-rows", "10", "-seed", "3", "-o", path}, &out, &errOut))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, out.String(), string(b))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	require.Error(t, run([]string{"-rows", "-1"}, &out, &errOut))
	require.Error(t, run([]string{"-bogus"}, &out, &errOut))
	require.Error(t, run([]string{"extra"}, &out, &errOut))
	require.Error(t, run([]string{"-o", filepath.Join(t.TempDir(), "no", "such", "dir", "x.csv")}, &out, &errOut))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
}
