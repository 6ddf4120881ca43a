//go:build !unix

package lineage

// lockPath is a no-op where flock is not available: runs write their own
// outbox files, so only concurrent flushes can collide there.
func lockPath(string, bool) (func(), error) { return func() {}, nil }
