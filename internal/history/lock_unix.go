//go:build unix

package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	bolterrors "go.etcd.io/bbolt/errors"
)

// lockFile takes the writers' lock of the store: an exclusive flock on
// path+".lock", waited for in the kernel. bbolt's own lock is retried
// only every 50 ms, so under steady contention a waiting process could
// starve; a blocked flock is woken as soon as the holder lets go. The
// wait ends with ctx: a grant that comes later is released at once.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("history: open lock file: %w", err)
	}
	got := make(chan error, 1)
	go func() {
		for {
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
			if !errors.Is(err, syscall.EINTR) {
				got <- err
				return
			}
		}
	}()
	release := func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("history: lock %s.lock: %w", path, err)
		}
		return release, nil
	case <-ctx.Done():
		go func() {
			if err := <-got; err == nil {
				release()
				return
			}
			f.Close()
		}()
		return nil, fmt.Errorf("history: another salesdag is writing %s (%w): %w", path, ctx.Err(), bolterrors.ErrTimeout)
	}
}
