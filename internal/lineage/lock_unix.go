//go:build unix

package lineage

import (
	"os"
	"syscall"
)

// lockPath takes an advisory lock on a lock file, so that concurrent runs
// and flushes do not interleave their writes. With try set it fails at
// once instead of waiting.
func lockPath(path string, try bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if try {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// lockFile locks an open file exclusively; the lock ends when f is closed
// or the process dies.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

// tryLockFile fails when another open file holds f's lock; otherwise it
// takes the lock, which closing f drops.
func tryLockFile(f *os.File) error { return lockFile(f) }
