package pipeline

import (
	"context"
	"io"

	"github.com/salesdag/salesdag/internal/cache"
)

// CacheContent makes a Source's cache key the hash of its bytes (through
// the cache's size+mtime+ctime+inode index for files), not its path or
// name: the same data under another name hits, changed data misses.
// A stream (pipe) has neither: it can be read only once, by the run.
func (s Source) CacheContent() (string, func() (io.ReadCloser, error)) {
	if s.Stream {
		return "", nil
	}
	return s.Path, s.Open
}

// CacheKey is the cache key of the options: everything except what cannot
// change results (worker count, chunk size, the progress callback, whether
// rows are kept or the profile computed during the read), so a
// rerun with another --workers reuses the cache. Fields added later are
// part of the key unless listed here.
func (o Options) CacheKey(context.Context) (string, error) {
	o.Workers, o.Progress, o.chunkSize, o.afterChunk = 0, nil, 0, nil
	o.KeepRows, o.Profile = false, false // how the rows are held, not what they are
	return cache.ValueKey(o)
}

// CachePolicies returns the default cache policy of the sales nodes (a
// fresh map the caller may change). The two row-level tables are not
// cached: storing them costs more than parsing the file again and would
// put every customer id on disk in the cache; their keys still flow, so
// everything downstream is cached. See the cache section of the README
// for the measurements.
func CachePolicies() map[string]cache.Policy {
	return map[string]cache.Policy{
		NodeRaw:     cache.PolicyDisable,
		NodeCleaned: cache.PolicyDisable,
	}
}
