//go:build linux

package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFileSourceNamesTheRealError: files that report size 0 were all
// called "file is empty". A /proc file has content (it is read as a
// stream); one that cannot be read says why.
func TestFileSourceNamesTheRealError(t *testing.T) {
	// /proc/self/status: size 0, readable; its first line is no header.
	src, err := FileSource("/proc/self/status")
	require.NoError(t, err)
	require.True(t, src.Stream, "read once, never hashed or size-checked")
	_, err = ReadSales(context.Background(), src, Options{})
	require.ErrorContains(t, err, "/proc/self/status:1: no header line")

	// /proc/self/mem: size 0, opens, but reading offset 0 is an I/O error.
	_, err = FileSource("/proc/self/mem")
	require.EqualError(t, err, "input /proc/self/mem: cannot be read: input/output error")

	// A write-only file that even root cannot read.
	const writeOnly = "/proc/sys/vm/compact_memory"
	if _, serr := os.Stat(writeOnly); serr == nil {
		_, err = FileSource(writeOnly)
		require.EqualError(t, err, "input "+writeOnly+": cannot be read: permission denied")
	}
	if os.Geteuid() != 0 {
		p := filepath.Join(t.TempDir(), "locked.csv")
		require.NoError(t, os.WriteFile(p, nil, 0o000))
		_, err = FileSource(p)
		require.EqualError(t, err, "input "+p+": cannot be read: permission denied")
	}

	// A truly empty file is still "empty".
	empty := filepath.Join(t.TempDir(), "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = FileSource(empty)
	require.EqualError(t, err, "input "+empty+": file is empty")
}
