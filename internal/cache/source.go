package cache

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/salesdag/salesdag/internal/cache/codeversion"
)

// selfSource is this package's own source. Its hash is part of every key,
// so a change to the entry format or to a codec defined here (Frame, the
// JSON codec) can never decode old entries wrongly.
//
//go:embed *.go
var selfSource embed.FS

var buildVersion = sync.OnceValue(func() string {
	h := sha256.New()
	fmt.Fprintf(h, "format %d\ncodeversion %s\ngo %s\narch %s/%s\n", FormatVersion, codeversion.Prefix,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(h, "module %s %s %s\n", bi.Main.Path, bi.Main.Version, bi.Main.Sum)
		var settings []string
		for _, s := range bi.Settings {
			// Architecture levels can change floating-point results (FMA).
			if s.Key == "-tags" || (strings.HasPrefix(s.Key, "GO") && s.Key != "GOOS" && s.Key != "GOARCH") {
				settings = append(settings, s.Key+"="+s.Value)
			}
		}
		sort.Strings(settings)
		fmt.Fprintf(h, "settings %s\n", strings.Join(settings, " "))
	}
	if p, err := codeversion.Parse(selfSource); err == nil {
		fmt.Fprintf(h, "cache %s\n", p.Whole())
	}
	return hex.EncodeToString(h.Sum(nil))
})

// BuildVersion is the part of every key that describes the binary rather
// than a node: cache format, Go version, target architecture, the main
// module's version and this package's own source.
func BuildVersion() string { return buildVersion() }
