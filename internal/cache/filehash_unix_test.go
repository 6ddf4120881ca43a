//go:build unix

package cache

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A pipe must never be stat-keyed (its size says nothing) nor hashed
// (that would consume the run's data).
func TestFileKeyRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.csv")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	s, err := Open(filepath.Join(dir, "cache"))
	require.NoError(t, err)
	_, _, err = s.FileKey(context.Background(), fifo)
	require.ErrorContains(t, err, "not a regular file")
}
