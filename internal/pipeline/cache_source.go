package pipeline

import (
	"embed"
	"io/fs"
	"reflect"

	"github.com/salesdag/salesdag/internal/cache"
)

// SourceFS is this package's own source, embedded so that the result cache
// can derive each node's code version from the code it runs (package
// cache/codeversion): editing a node invalidates its cached results and
// those downstream of it, and nothing else.
//
//go:embed *.go
var SourceFS embed.FS

// PackagePath is this package's import path.
var PackagePath = reflect.TypeFor[Source]().PkgPath()

// CacheSources is the Options.Sources value for the cache.
func CacheSources() map[string]fs.FS {
	return map[string]fs.FS{PackagePath: SourceFS}
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
