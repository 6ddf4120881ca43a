package dag

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// Small typed functions reused by the tests.
func inc(_ context.Context, x int) (int, error)         { return x + 1, nil }
func double(_ context.Context, x int) (int, error)      { return 2 * x, nil }
func triple(_ context.Context, x int) (int, error)      { return 3 * x, nil }
func sum(_ context.Context, a, b int) (int, error)      { return a + b, nil }
func itoa(_ context.Context, x int) (string, error)     { return strconv.Itoa(x), nil }
func seven(context.Context) (int, error)                { return 7, nil }
func hello(context.Context) (string, error)             { return "hello", nil }
func upper(_ context.Context, s string) (string, error) { return s + "!", nil }

func join3(_ context.Context, a int, b string, c int) (string, error) {
	return strconv.Itoa(a) + b + strconv.Itoa(c), nil
}

// sampleGraph registers:
//
//	src (input int) -> a -> b ---> d -> g
//	                     \-> c -/      /
//	src -> e (string) ----------------/
//	f (no deps) ---------------------/
func sampleGraph() *Graph {
	g := New()
	Input[int](g, "src", "the number")
	Add1(g, Spec{Name: "a", Doc: "src+1", Tags: []string{"t1"}}, "src", inc)
	Add1(g, Spec{Name: "b", Doc: "a*2"}, "a", double)
	Add1(g, Spec{Name: "c", Doc: "a*3"}, "a", triple)
	Add2(g, Spec{Name: "d", Doc: "b+c"}, "b", "c", sum)
	Add1(g, Spec{Name: "e", Doc: "src as text"}, "src", itoa)
	Add0(g, Spec{Name: "f", Doc: "constant"}, seven)
	Add3(g, Spec{Name: "g", Doc: "all"}, "d", "e", "f", join3)
	return g
}

func mustBuild(t testing.TB, g *Graph) *DAG {
	t.Helper()
	d, err := g.Build()
	require.NoError(t, err)
	return d
}

// validationErrors flattens Build's joined error.
func validationErrors(t *testing.T, err error) []*ValidationError {
	t.Helper()
	require.Error(t, err)
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "Build must join its errors: %T", err)
	var out []*ValidationError
	for _, e := range joined.Unwrap() {
		var ve *ValidationError
		require.ErrorAs(t, e, &ve)
		out = append(out, ve)
	}
	return out
}

func TestBuildErrors(t *testing.T) {
	type want struct {
		kind ErrorKind
		node string
		dep  string
		msg  string
	}
	tests := []struct {
		name     string
		register func(g *Graph)
		want     []want
	}{
		{
			name: "empty name",
			register: func(g *Graph) {
				Add0(g, Spec{Name: "ok"}, seven)
				Add0(g, Spec{Doc: "nameless"}, seven)
			},
			want: []want{{KindEmptyName, "", "", `registration #2 (doc "nameless") has an empty node name; give every node a unique name`}},
		},
		{
			name: "empty input name",
			register: func(g *Graph) {
				Input[int](g, "", "x")
			},
			want: []want{{KindEmptyName, "", "", `registration #1 (doc "x") has an empty node name; give every node a unique name`}},
		},
		{
			name: "nil function",
			register: func(g *Graph) {
				Add0[int](g, Spec{Name: "z0"}, nil)
				Add1[int, int](g, Spec{Name: "z1"}, "z0", nil)
				Add2[int, int, int](g, Spec{Name: "z2"}, "z0", "z0", nil)
				Add3[int, int, int, int](g, Spec{Name: "z3"}, "z0", "z0", "z0", nil)
			},
			want: []want{
				{KindNilFunc, "z0", "", `node "z0" has a nil function`},
				{KindNilFunc, "z1", "", `node "z1" has a nil function`},
				{KindNilFunc, "z2", "", `node "z2" has a nil function`},
				{KindNilFunc, "z3", "", `node "z3" has a nil function`},
			},
		},
		{
			name: "duplicate name",
			register: func(g *Graph) {
				Input[int](g, "x", "")
				Add0(g, Spec{Name: "x"}, seven)
			},
			want: []want{{KindDuplicate, "x", "", `node "x" is registered twice; node names must be unique`}},
		},
		{
			name: "unknown dependency with suggestion",
			register: func(g *Graph) {
				Input[int](g, "source", "")
				Add1(g, Spec{Name: "raw"}, "sourse", inc)
			},
			want: []want{{KindUnknownDep, "raw", "sourse", `node "raw" depends on unknown node "sourse" (did you mean "source"?)`}},
		},
		{
			name: "unknown dependency without close names",
			register: func(g *Graph) {
				Input[int](g, "source", "")
				Add1(g, Spec{Name: "raw"}, "zzz", inc)
			},
			want: []want{{KindUnknownDep, "raw", "zzz", `node "raw" depends on unknown node "zzz" (known: source, raw)`}},
		},
		{
			name: "type mismatch names both nodes and types",
			register: func(g *Graph) {
				Add0(g, Spec{Name: "text"}, hello)
				Add1(g, Spec{Name: "n"}, "text", inc)
			},
			want: []want{{KindTypeMismatch, "n", "text", `node "n" parameter 1 wants int but dependency "text" returns string`}},
		},
		{
			name: "type mismatch on a later parameter",
			register: func(g *Graph) {
				Add0(g, Spec{Name: "i"}, seven)
				Add0(g, Spec{Name: "s"}, hello)
				Add3(g, Spec{Name: "j"}, "i", "i", "s", join3)
			},
			want: []want{
				{KindTypeMismatch, "j", "i", `node "j" parameter 2 wants string but dependency "i" returns int`},
				{KindTypeMismatch, "j", "s", `node "j" parameter 3 wants int but dependency "s" returns string`},
			},
		},
		{
			name: "interface dependency is not assignable to a concrete parameter",
			register: func(g *Graph) {
				Input[io.Reader](g, "r", "")
				Add1(g, Spec{Name: "use"}, "r", func(context.Context, *bytes.Buffer) (int, error) { return 0, nil })
			},
			want: []want{{KindTypeMismatch, "use", "r", `node "use" parameter 1 wants *bytes.Buffer but dependency "r" returns io.Reader`}},
		},
		{
			name: "self cycle",
			register: func(g *Graph) {
				Add1(g, Spec{Name: "a"}, "a", inc)
			},
			want: []want{{KindCycle, "a", "", `cycle: a -> a`}},
		},
		{
			name: "three-node cycle in data-flow order from the first registered",
			register: func(g *Graph) {
				Add1(g, Spec{Name: "b"}, "a", inc) // a feeds b
				Add1(g, Spec{Name: "a"}, "c", inc) // c feeds a
				Add1(g, Spec{Name: "c"}, "b", inc) // b feeds c
				Add1(g, Spec{Name: "out"}, "c", inc)
			},
			want: []want{{KindCycle, "b", "", `cycle: b -> c -> a -> b`}},
		},
		{
			name: "two cycles",
			register: func(g *Graph) {
				Add0(g, Spec{Name: "root"}, seven)
				Add2(g, Spec{Name: "x"}, "root", "y", sum)
				Add1(g, Spec{Name: "y"}, "x", inc)
				Add2(g, Spec{Name: "p"}, "q", "root", sum)
				Add1(g, Spec{Name: "q"}, "p", inc)
			},
			want: []want{
				{KindCycle, "x", "", `cycle: x -> y -> x`},
				{KindCycle, "p", "", `cycle: p -> q -> p`},
			},
		},
		{
			name: "every kind at once, registration errors first",
			register: func(g *Graph) {
				Add0(g, Spec{Name: "s"}, hello)
				Add0(g, Spec{Name: "s"}, hello)
				Add1(g, Spec{Name: "n"}, "s", inc)
				Add1(g, Spec{Name: "m"}, "nope", inc)
				Add1(g, Spec{Name: "loop"}, "loop", upper)
			},
			want: []want{
				{KindDuplicate, "s", "", `node "s" is registered twice; node names must be unique`},
				{KindTypeMismatch, "n", "s", `node "n" parameter 1 wants int but dependency "s" returns string`},
				{KindUnknownDep, "m", "nope", `node "m" depends on unknown node "nope" (known: s, n, m, loop)`},
				{KindCycle, "loop", "", `cycle: loop -> loop`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New()
			tt.register(g)
			d, err := g.Build()
			require.Nil(t, d)
			got := validationErrors(t, err)
			require.Len(t, got, len(tt.want), "errors: %v", err)
			for i, w := range tt.want {
				require.Equal(t, w.kind, got[i].Kind)
				require.Equal(t, w.node, got[i].Node)
				require.Equal(t, w.dep, got[i].Dep)
				require.Equal(t, w.msg, got[i].Error())
			}
		})
	}
}

func TestCycleErrorPath(t *testing.T) {
	g := New()
	Add1(g, Spec{Name: "a"}, "c", inc)
	Add1(g, Spec{Name: "b"}, "a", inc)
	Add1(g, Spec{Name: "c"}, "b", inc)
	_, err := g.Build()
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, KindCycle, ve.Kind)
	require.Equal(t, []string{"a", "b", "c", "a"}, ve.Cycle)
	require.EqualError(t, err, "cycle: a -> b -> c -> a")
}

func TestBuildAcceptsAssignableTypes(t *testing.T) {
	g := New()
	Input[*bytes.Buffer](g, "buf", "")
	Add1(g, Spec{Name: "len"}, "buf", func(_ context.Context, r io.Reader) (int, error) {
		b, err := io.ReadAll(r)
		return len(b), err
	})
	Add1(g, Spec{Name: "any"}, "len", func(_ context.Context, v any) (string, error) { return "ok", nil })
	d := mustBuild(t, g)
	p, err := d.Plan("len", "any")
	require.NoError(t, err)
	res, err := d.Execute(context.Background(), p, map[string]any{"buf": bytes.NewBufferString("abc")})
	require.NoError(t, err)
	require.Equal(t, Results{"len": 3, "any": "ok"}, res)
}

func TestNodes(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	var names []string
	for _, n := range d.Nodes() {
		names = append(names, n.Name)
	}
	require.Equal(t, []string{"src", "a", "b", "c", "d", "e", "f", "g"}, names)

	n, ok := d.Node("g")
	require.True(t, ok)
	require.Equal(t, &Node{
		Name: "g",
		Doc:  "all",
		Deps: []string{"d", "e", "f"},
		In:   []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[string](), reflect.TypeFor[int]()},
		Out:  reflect.TypeFor[string](),
		Func: "github.com/salesdag/salesdag/internal/dag.join3",
	}, n)
	src, ok := d.Node("src")
	require.True(t, ok)
	require.True(t, src.IsInput)
	require.Equal(t, "the number", src.Doc)
	require.Equal(t, reflect.TypeFor[int](), src.Out)
	a, _ := d.Node("a")
	require.Equal(t, []string{"t1"}, a.Tags)

	_, ok = d.Node("nope")
	require.False(t, ok)
}

func TestNodesOrderTiesByRegistration(t *testing.T) {
	tests := []struct {
		name     string
		register func(g *Graph)
		want     []string
	}{
		{
			name: "dependency registered later comes first, others keep their order",
			register: func(g *Graph) {
				Add1(g, Spec{Name: "late"}, "base", inc)
				Add0(g, Spec{Name: "z"}, seven)
				Add0(g, Spec{Name: "base"}, seven)
				Add0(g, Spec{Name: "y"}, seven)
			},
			want: []string{"z", "base", "late", "y"},
		},
		{
			name: "independent nodes in registration order",
			register: func(g *Graph) {
				Add0(g, Spec{Name: "c"}, seven)
				Add0(g, Spec{Name: "a"}, seven)
				Add0(g, Spec{Name: "b"}, seven)
			},
			want: []string{"c", "a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New()
			tt.register(g)
			d := mustBuild(t, g)
			for range 3 { // stable across calls
				var got []string
				for _, n := range d.Nodes() {
					got = append(got, n.Name)
				}
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestBuildSnapshotsGraph(t *testing.T) {
	g := New()
	tags := []string{"x"}
	Add0(g, Spec{Name: "a", Tags: tags}, seven)
	d1 := mustBuild(t, g)
	tags[0] = "changed"
	Add1(g, Spec{Name: "b"}, "a", inc)
	d2 := mustBuild(t, g)
	require.Len(t, d1.Nodes(), 1)
	require.Len(t, d2.Nodes(), 2)
	a, _ := d1.Node("a")
	require.Equal(t, []string{"x"}, a.Tags)
	require.Empty(t, d1.Dependents("a"))
	require.Equal(t, []string{"b"}, d2.Dependents("a"))
}

func TestZeroGraphWorks(t *testing.T) {
	var g Graph
	Add0(&g, Spec{Name: "a"}, seven)
	Add0(&g, Spec{Name: "a"}, seven)
	_, err := g.Build()
	require.EqualError(t, err, `node "a" is registered twice; node names must be unique`)
}

func TestErrorsIsWorksOnJoined(t *testing.T) {
	g := New()
	Add1(g, Spec{Name: "a"}, "missing", inc)
	_, err := g.Build()
	var ve *ValidationError
	require.True(t, errors.As(err, &ve))
	require.Equal(t, KindUnknownDep, ve.Kind)
}

func namedNode(context.Context) (int, error) { return 1, nil }

func TestNodeFuncName(t *testing.T) {
	g := New()
	Input[string](g, "in", "an input")
	Add0(g, Spec{Name: "named"}, namedNode)
	d, err := g.Build()
	require.NoError(t, err)
	n, ok := d.Node("named")
	require.True(t, ok)
	require.Equal(t, "github.com/salesdag/salesdag/internal/dag.namedNode", n.Func)
	in, _ := d.Node("in")
	require.Empty(t, in.Func)
}
