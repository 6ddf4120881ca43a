//go:build unix

package output

import (
	"os"
	"syscall"
)

// lockedLeftoverAge: on Unix the directory lock tells whether another
// salesdag is writing, so any leftover is stale once the lock is ours.
const lockedLeftoverAge = 0

// lockDir holds a shared flock on dir while a set of files is written.
// First it tries an exclusive one: when that is granted, no other
// salesdag is writing into dir, and clean runs before the lock is made
// shared. Where dir cannot be locked, it writes without the lock and
// without cleaning.
func lockDir(dir string, clean func()) (unlock func()) {
	f, err := os.Open(dir)
	if err != nil {
		return func() {}
	}
	fd := int(f.Fd())
	if flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		clean()
		// Downgrading never waits: shared locks only wait for exclusive ones.
		if flock(fd, syscall.LOCK_SH) != nil {
			f.Close()
			return func() {}
		}
	} else if flock(fd, syscall.LOCK_SH) != nil {
		f.Close()
		return func() {}
	}
	return func() {
		_ = flock(fd, syscall.LOCK_UN)
		f.Close()
	}
}

func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if err != syscall.EINTR {
			return err
		}
	}
}
