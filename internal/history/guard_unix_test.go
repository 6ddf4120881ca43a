//go:build unix

package history

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A read through a memory map past the end of a truncated file is a
// fault (SIGBUS) that would kill the process; guard turns it into an
// error, as it does for bbolt reading a truncated store.
func TestGuardRecoversFromAFault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, make([]byte, 4*os.Getpagesize()), 0o600))
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	data, err := syscall.Mmap(int(f.Fd()), 0, 4*os.Getpagesize(), syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	defer syscall.Munmap(data)
	require.NoError(t, os.Truncate(p, int64(os.Getpagesize())))
	var sink byte
	err = guard(func() error {
		sink = data[3*os.Getpagesize()]
		return nil
	})
	require.Error(t, err)
	require.True(t, isDamage(err))
	require.Zero(t, sink)
	require.NoError(t, guard(func() error { sink = data[0]; return nil }), "the goroutine is fine afterwards")
}
