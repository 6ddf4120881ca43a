package cache

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// The code part of every key is the build: a hash of the bytes of the
// running executable. Whatever code a result depends on (a node, a
// package it calls, the codecs, the Go toolchain, build flags, embedded
// data) is in those bytes, so a binary built from different code never
// shares an entry with this one, and there is nothing to keep up to date.
// A rebuild of the same code may give other bytes (a new version string,
// another toolchain): that costs misses, never a stale hit. `go run` and
// `go test` work the same way: their binary is hashed.

var (
	// exeHashed counts full hashes of the executable (tests).
	exeHashed atomic.Int64

	// buildKey is the executable's key once this process knows it.
	buildKey struct {
		sync.Mutex
		key string
	}
)

// BuildVersion returns the key of the running executable: a SHA-256 tree
// hash of its bytes, prefixed with "exe:". It is computed once per
// process, and remembered in the store's side index under the file's
// size, mtime, ctime, inode and device (as input files are, see FileKey),
// so a rerun of the same binary reads a small record instead of the
// whole binary.
func (s *Store) BuildVersion(ctx context.Context) (string, error) {
	return s.buildVersion(ctx, nil)
}

func (s *Store) buildVersion(ctx context.Context, warn func(error)) (string, error) {
	buildKey.Lock()
	defer buildKey.Unlock()
	if buildKey.key != "" {
		return buildKey.key, nil
	}
	name, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cache: finding this program's executable: %w", err)
	}
	open := name
	if selfExe != "" {
		// The file the kernel runs, even if name was replaced since.
		open = selfExe
	}
	k, _, err := s.indexedHash(ctx, open, name, "the program "+name, &exeHashed, warn)
	if err != nil {
		return "", err
	}
	buildKey.key = "exe:" + k
	return buildKey.key, nil
}
