//go:build unix

package pipeline

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A named pipe is a stream: FileSource must not open it (that would block
// for a writer or swallow data) and must mark it so the cache leaves it be.
func TestFileSourcePipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	done := make(chan struct{})
	var src Source
	var err error
	go func() {
		src, err = FileSource(fifo)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("FileSource blocked on a named pipe")
	}
	require.NoError(t, err)
	require.True(t, src.Stream)
	path, open := src.CacheContent()
	require.Empty(t, path)
	require.Nil(t, open)
}
