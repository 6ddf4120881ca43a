//go:build !unix

package fsutil

import "os"

// CanLock says whether Flock really locks here.
const CanLock = false

// Flock does nothing where flock is not available.
func Flock(*os.File, LockMode, bool) error { return nil }

// Unlock does nothing where flock is not available.
func Unlock(*os.File) {}
