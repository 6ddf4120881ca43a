//go:build unix

package fsutil

import (
	"errors"
	"os"
	"syscall"
)

// CanLock says whether Flock really locks here.
const CanLock = true

// Flock takes (or converts to) a lock of mode on f, waiting for it when
// wait is set. The lock ends with Unlock, when f is closed or when the
// process dies.
func Flock(f *os.File, mode LockMode, wait bool) error {
	how := syscall.LOCK_SH
	if mode == Exclusive {
		how = syscall.LOCK_EX
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	return flock(f, how)
}

// Unlock drops f's lock.
func Unlock(f *os.File) { _ = flock(f, syscall.LOCK_UN) }

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
