//go:build !unix

package lineage

import "os"

// lockPath is a no-op where flock is not available: runs write their own
// outbox files, so only concurrent flushes can collide there.
func lockPath(string, bool) (func(), error) { return func() {}, nil }

// lockFile and tryLockFile do nothing where flock is not available: a
// flush may then resend events that a running emitter still delivers.
func lockFile(*os.File) error    { return nil }
func tryLockFile(*os.File) error { return nil }
