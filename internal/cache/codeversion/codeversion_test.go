package codeversion

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

const base = `package toy

import "strings"

// Rate is a constant group: iota makes members depend on each other.
const (
	A = iota
	B
)

var table = map[string]int{"x": 1}

type T struct{ n int }

func (t *T) Double() int { return 2 * t.n }
func (t T) Name() string { return strings.ToUpper("t") }

func helper(x int) int { return x + A }

// F is the node under test.
func F(x int) int {
	t := &T{n: helper(x)}
	return t.Double() + table["x"]
}

func G(x int) int { return x * 3 }

func Gen[V any](v V) V { return v }

var registry []func(int) int

func add(f func(int) int) { registry = append(registry, f) }

func Register() {
	k := 2
	add(func(x int) int { return F(x) + k })
	add(func(x int) int { return G(x) })
	fs := []func() int{func() int { return k }}
	_ = fs
}
`

func fsOf(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for n, s := range files {
		m[n] = &fstest.MapFile{Data: []byte(s)}
	}
	return m
}

func version(t *testing.T, src, fn string) Resolution {
	t.Helper()
	p, err := Parse(fsOf(map[string]string{"toy.go": src}))
	require.NoError(t, err)
	return p.Resolve("example.com/m/toy." + fn)
}

func TestVersionChanges(t *testing.T) {
	tests := []struct {
		name    string
		fn      string
		edit    func(string) string
		changed bool
	}{
		{"comment only", "F", func(s string) string {
			return strings.Replace(s, "// F is the node under test.", "// F is different now.", 1)
		}, false},
		{"formatting only", "F", func(s string) string {
			return strings.Replace(s, "t := &T{n: helper(x)}", "t := &T{\n\t\tn: helper(x)}", 1)
		}, false},
		{"unrelated function", "F", func(s string) string { return strings.Replace(s, "x * 3", "x * 4", 1) }, false},
		{"the function itself", "F", func(s string) string { return strings.Replace(s, "+ table", "- table", 1) }, true},
		{"a callee", "F", func(s string) string { return strings.Replace(s, "x + A", "x + 2", 1) }, true},
		{"a constant in a group", "F", func(s string) string { return strings.Replace(s, "A = iota", "A = iota + 1", 1) }, true},
		{"a variable", "F", func(s string) string { return strings.Replace(s, `"x": 1`, `"x": 2`, 1) }, true},
		{"a method of a used type", "F", func(s string) string { return strings.Replace(s, "2 * t.n", "3 * t.n", 1) }, true},
		{"an import of the file", "F", func(s string) string {
			return strings.Replace(s, `import "strings"`, `import strings "example.com/other"`, 1)
		}, true},
		{"closure's own body", "Register.func2", func(s string) string { return strings.Replace(s, "return G(x) }", "return G(x) + 1 }", 1) }, true},
		{"sibling closure", "Register.func2", func(s string) string { return strings.Replace(s, "F(x) + k", "F(x) - k", 1) }, false},
		{"captured variable", "Register.func1", func(s string) string { return strings.Replace(s, "k := 2", "k := 3", 1) }, true},
		{"callee of closure", "Register.func1", func(s string) string { return strings.Replace(s, "x + A", "x + 2", 1) }, true},
		{"generic", "Gen[...]", func(s string) string { return strings.Replace(s, "return v }", "var z V; _ = z; return v }", 1) }, true},
		{"method by pointer", "(*T).Double", func(s string) string { return strings.Replace(s, "2 * t.n", "3 * t.n", 1) }, true},
		{"method by value", "T.Name", func(s string) string { return strings.Replace(s, "x * 3", "x * 4", 1) }, false},
		{"a method of the receiver type", "T.Name", func(s string) string { return strings.Replace(s, "2 * t.n", "3 * t.n", 1) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := version(t, base, tc.fn)
			require.True(t, before.Exact, before.Reason)
			edited := tc.edit(base)
			require.NotEqual(t, base, edited, "the edit must change the source")
			after := version(t, edited, tc.fn)
			require.True(t, after.Exact, after.Reason)
			if tc.changed {
				require.NotEqual(t, before.Version, after.Version)
			} else {
				require.Equal(t, before.Version, after.Version)
			}
		})
	}
}

func TestFallbackToWholePackage(t *testing.T) {
	p, err := Parse(fsOf(map[string]string{"toy.go": base}))
	require.NoError(t, err)
	for _, name := range []string{"Missing", "Register.func9", "F.gowrap1", "glob..func1", "(*T).Missing", "", "(*T"} {
		r := p.Resolve("example.com/m/toy." + name)
		require.False(t, r.Exact, name)
		require.Equal(t, p.Whole(), r.Version, name)
		require.NotEmpty(t, r.Reason, name)
	}
	require.Equal(t, p.Whole(), p.For("nodot"))
	// The whole-package version sees any change, even in unrelated code.
	p2, err := Parse(fsOf(map[string]string{"toy.go": strings.Replace(base, "x * 3", "x * 4", 1)}))
	require.NoError(t, err)
	require.NotEqual(t, p.Whole(), p2.Whole())
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no files", map[string]string{"README": "x"}, "no Go source files"},
		{"only tests", map[string]string{"a_test.go": "package toy"}, "no Go source files"},
		{"syntax error", map[string]string{"a.go": "package toy\nfunc {"}, "parsing a.go"},
		{"two packages", map[string]string{"a.go": "package a", "b.go": "package b"}, "is package b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(fsOf(tc.files))
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := For(fstest.MapFS{}, "x.F")
	require.Error(t, err)
}

func TestTestFilesAreIgnored(t *testing.T) {
	a, err := Parse(fsOf(map[string]string{"toy.go": base}))
	require.NoError(t, err)
	b, err := Parse(fsOf(map[string]string{"toy.go": base, "toy_test.go": "package toy\nfunc TestX() {}"}))
	require.NoError(t, err)
	require.Equal(t, a.Whole(), b.Whole())
	v, err := For(fsOf(map[string]string{"toy.go": base}), "example.com/m/toy.F")
	require.NoError(t, err)
	require.Equal(t, a.For("example.com/m/toy.F"), v)
}

func TestSplitQualified(t *testing.T) {
	tests := []struct{ in, pkg, local string }{
		{"github.com/a/b/pipeline.Register.func3", "github.com/a/b/pipeline", "Register.func3"},
		{"github.com/a/b.v2/pkg.(*T).M", "github.com/a/b.v2/pkg", "(*T).M"},
		{"main.main", "main", "main"},
		{"nodot", "nodot", ""},
	}
	for _, tc := range tests {
		pkg, local := SplitQualified(tc.in)
		require.Equal(t, tc.pkg, pkg, tc.in)
		require.Equal(t, tc.local, local, tc.in)
	}
}

// TestCompilerClosureNames checks the resolver against the names this
// compiler really gives closures: each must resolve exactly, to the literal
// on the line that calls its marker.
func TestCompilerClosureNames(t *testing.T) {
	src, err := os.ReadFile("closures_test.go")
	require.NoError(t, err)
	lines := strings.Split(string(src), "\n")
	p, err := Parse(fsOf(map[string]string{"closures.go": string(src)}))
	require.NoError(t, err)
	want := map[string]string{"a": "markA()", "b": "b := func", "b.inner": "markB()", "c": "markC()",
		"d": "markD()", "e": "markE()", "value": "markA() + h.n", "plain": "func markA",
		"method": "func (h *holder) closures"}
	got := toyClosures()
	require.Len(t, got, len(want)+1)
	for key, fn := range got {
		name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
		r := p.Resolve(name)
		if key == "inlined" {
			if strings.HasSuffix(name, ".func3.1") { // not inlined after all
				continue
			}
			require.False(t, r.Exact, "%s (%s) must fall back", key, name)
			require.Equal(t, p.Whole(), r.Version)
			continue
		}
		require.True(t, r.Exact, "%s (%s): %s", key, name, r.Reason)
		var line int
		_, err := fmt.Sscanf(r.Pos[strings.IndexByte(r.Pos, ':')+1:], "%d", &line)
		require.NoError(t, err, r.Pos)
		require.Contains(t, lines[line-1], want[key], "%s (%s) resolved to %s", key, name, r.Pos)
	}
}

const withInits = `package toy

import "example.com/registry"

var table [4]int

func init() { table[1] = 10 }

func fill() { table[2] = 20 }

func init() { fill() }

var _ = setLimit()

var limit int

func setLimit() int { limit = 3; return 0 }

func init() { registry.Register("toy", encode) }

func encode(x int) []byte { return []byte{byte(x)} }

func F(i int) int { return table[i] }

func L() int { return limit }

func P() int { return 1 }
`

func TestInitFunctions(t *testing.T) {
	tests := []struct {
		name    string
		fn      string
		edit    func(string) string
		changed bool
	}{
		{"init that fills a table the node reads", "F", func(s string) string { return strings.Replace(s, "table[1] = 10", "table[1] = 11", 1) }, true},
		{"helper called by an init", "F", func(s string) string { return strings.Replace(s, "table[2] = 20", "table[2] = 21", 1) }, true},
		{"blank var initializer", "L", func(s string) string { return strings.Replace(s, "limit = 3", "limit = 4", 1) }, true},
		{"registration init touches no variable of the node", "F", func(s string) string { return strings.Replace(s, "byte(x)", "byte(x + 1)", 1) }, false},
		{"node reading no variable", "P", func(s string) string { return strings.Replace(s, "table[1] = 10", "table[1] = 11", 1) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := version(t, withInits, tc.fn)
			require.True(t, before.Exact, before.Reason)
			edited := tc.edit(withInits)
			require.NotEqual(t, withInits, edited)
			after := version(t, edited, tc.fn)
			if tc.changed {
				require.NotEqual(t, before.Version, after.Version)
			} else {
				require.Equal(t, before.Version, after.Version)
			}
		})
	}
}

func TestImports(t *testing.T) {
	p, err := Parse(fsOf(map[string]string{"a.go": "package toy\nimport (\n\t\"strings\"\n\tx \"example.com/x\"\n)\n", "b.go": "package toy\nimport \"strings\"\n"}))
	require.NoError(t, err)
	require.Equal(t, []string{"example.com/x", "strings"}, p.Imports())
}
