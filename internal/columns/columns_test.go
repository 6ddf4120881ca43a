package columns

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// toy is a small chain that exercises every rule:
//
//	in(a, b, k) -> n1: x = a (IDENTITY), y = upper(b) (TRANSFORMATION); rows filtered on k
//	n1 -> n2: s = sum(x) per y, t = y (IDENTITY), w = moving sum of x ordered by x; grouped by y
//	n2 -> n3: u = s (IDENTITY), v = count(t) (masked); sorted by t
func toy(t *testing.T) *Catalog {
	t.Helper()
	c, err := NewCatalog([]Source{{Name: "in", Columns: []string{"a", "b", "k"}}}, []Node{
		{
			Name: "n1",
			Fields: []Field{
				F("x", E(Identity, "", "in", "a")),
				F("y", E(Transformation, "upper case", "in", "b")),
			},
			Dataset: E(Filter, "k is set", "in", "k"),
		},
		{
			Name: "n2",
			Fields: []Field{
				F("s", E(Aggregation, "sum of x per y", "n1", "x")),
				F("t", E(Identity, "group key", "n1", "y")),
				F("w", E(Aggregation, "moving sum", "n1", "x"), E(Window, "ordered by x", "n1", "x")),
			},
			Dataset: E(GroupBy, "one row per y", "n1", "y"),
		},
		{
			Name: "n3",
			Fields: []Field{
				F("u", E(Identity, "", "n2", "s")),
				F("v", E(Aggregation, "count of t", "n2", "t").Masked()),
			},
			Dataset: E(Sort, "by t", "n2", "t"),
		},
	})
	require.NoError(t, err)
	return c
}

// short renders a dep as "col DIRECT:SUBTYPE(+masked) | INDIRECT:node/SUBTYPE ...".
func short(d Dep) string {
	s := d.Column
	if d.Direct != nil {
		s += " " + string(d.Direct.Subtype)
		if d.Direct.Masking {
			s += "(masked)"
		}
	}
	for _, st := range d.Indirect {
		s += " " + st.Node + "/" + string(st.Subtype)
	}
	return s
}

func shortAll(deps []Dep) []string {
	out := make([]string, len(deps))
	for i, d := range deps {
		out[i] = short(d)
	}
	return out
}

func TestResolveComposition(t *testing.T) {
	c := toy(t)
	tests := []struct {
		node, col string
		want      []string
	}{
		{"n1", "x", []string{"a IDENTITY", "k n1/FILTER"}},
		{"n1", "y", []string{"b TRANSFORMATION", "k n1/FILTER"}},
		// AGGREGATION dominates IDENTITY; the grouping column b and the
		// filter column k come along as INDIRECT.
		{"n2", "s", []string{"a AGGREGATION", "b n2/GROUP_BY", "k n1/FILTER"}},
		// IDENTITY of a TRANSFORMATION is a TRANSFORMATION.
		{"n2", "t", []string{"b TRANSFORMATION n2/GROUP_BY", "k n1/FILTER"}},
		// A column used both directly and as window order: one dep with
		// both.
		{"n2", "w", []string{"a AGGREGATION n2/WINDOW", "b n2/GROUP_BY", "k n1/FILTER"}},
		// INDIRECT dependencies accumulate down the chain.
		{"n3", "u", []string{"a AGGREGATION", "b n2/GROUP_BY n3/SORT", "k n1/FILTER"}},
		// Masking sticks; the sort's column b turns INDIRECT.
		{"n3", "v", []string{"b AGGREGATION(masked) n2/GROUP_BY n3/SORT", "k n1/FILTER"}},
	}
	for _, tt := range tests {
		t.Run(tt.node+"."+tt.col, func(t *testing.T) {
			f, ok := c.ResolveColumn(tt.node, tt.col)
			require.True(t, ok)
			require.Equal(t, tt.want, shortAll(f.Deps))
		})
	}
}

func TestResolveDatasetLevel(t *testing.T) {
	c := toy(t)
	tests := []struct {
		node string
		want []string
	}{
		{"n1", []string{"k n1/FILTER"}},
		// Inherits n1's filter.
		{"n2", []string{"b n2/GROUP_BY", "k n1/FILTER"}},
		{"n3", []string{"b n2/GROUP_BY n3/SORT", "k n1/FILTER"}},
	}
	for _, tt := range tests {
		r, ok := c.Resolve(tt.node)
		require.True(t, ok)
		require.Equal(t, tt.want, shortAll(r.Dataset), tt.node)
		for _, d := range r.Dataset {
			require.Nil(t, d.Direct, "dataset-level deps are INDIRECT only")
		}
	}
}

func TestPathHopsAndDescription(t *testing.T) {
	c := toy(t)
	f, ok := c.ResolveColumn("n3", "u")
	require.True(t, ok)
	d, ok := f.Dep("in", "a")
	require.True(t, ok)
	require.Equal(t, []Hop{
		{Node: "n1", Column: "x", Subtype: Identity},
		{Node: "n2", Column: "s", Subtype: Aggregation, Description: "sum of x per y"},
		{Node: "n3", Column: "u", Subtype: Identity},
	}, d.Direct.Hops)
	require.Equal(t, "n2: sum of x per y", d.Direct.Description())
	_, ok = f.Dep("in", "nope")
	require.False(t, ok)

	f, _ = c.ResolveColumn("n2", "t")
	d, _ = f.Dep("in", "b")
	require.Equal(t, "n1: upper case -> n2: group key", d.Direct.Description())
	require.Equal(t, []Step{{Node: "n2", Subtype: GroupBy, Description: "one row per y"}}, d.Indirect)
}

func TestStrongestPathWins(t *testing.T) {
	src := []Source{{Name: "in", Columns: []string{"a", "b"}}}
	tests := []struct {
		name  string
		edges Edges
		want  Subtype
		desc  string
	}{
		{"aggregation beats identity", All(E(Identity, "copy", "in", "a"), E(Aggregation, "sum", "in", "a")), Aggregation, "n: sum"},
		{"transformation beats identity", All(E(Transformation, "neg", "in", "a"), E(Identity, "copy", "in", "a")), Transformation, "n: neg"},
		{"tie keeps the first", All(E(Transformation, "first", "in", "a"), E(Transformation, "second", "in", "a")), Transformation, "n: first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCatalog(src, []Node{{Name: "n", Fields: []Field{F("o", tt.edges)}}})
			require.NoError(t, err)
			f, ok := c.ResolveColumn("n", "o")
			require.True(t, ok)
			require.Len(t, f.Deps, 1)
			require.Equal(t, tt.want, f.Deps[0].Direct.Subtype)
			require.Equal(t, tt.desc, f.Deps[0].Direct.Description())
		})
	}
}

func TestIndirectOnlyStaysIndirect(t *testing.T) {
	// m.o filters on n.z, which depends on in.a only indirectly: in.a
	// keeps its indirect steps but gets no FILTER of its own (nothing of
	// its value reaches the filter).
	c, err := NewCatalog([]Source{{Name: "in", Columns: []string{"a", "b"}}}, []Node{
		{Name: "n", Fields: []Field{F("z", E(Identity, "", "in", "b"), E(Sort, "by a", "in", "a"))}},
		{Name: "m", Fields: []Field{F("o", E(Identity, "", "in", "b"), E(Filter, "z > 0", "n", "z"))}},
	})
	require.NoError(t, err)
	f, ok := c.ResolveColumn("m", "o")
	require.True(t, ok)
	require.Equal(t, []string{"a n/SORT", "b IDENTITY m/FILTER"}, shortAll(f.Deps))
}

func TestSubtypes(t *testing.T) {
	for _, s := range []Subtype{Identity, Transformation, Aggregation} {
		require.True(t, s.IsDirect())
		require.Equal(t, Direct, s.Type())
		require.True(t, s.Valid())
	}
	for _, s := range []Subtype{Filter, GroupBy, Sort, Window} {
		require.False(t, s.IsDirect())
		require.Equal(t, Indirect, s.Type())
		require.True(t, s.Valid())
	}
	require.False(t, Subtype("JOIN_ISH").Valid())
	require.Equal(t, Aggregation, Stronger(Identity, Aggregation))
	require.Equal(t, Aggregation, Stronger(Aggregation, Transformation))
	require.Equal(t, Transformation, Stronger(Transformation, Identity))
	require.Equal(t, "n.c", Ref{"n", "c"}.String())
}

func TestValidation(t *testing.T) {
	src := []Source{{Name: "in", Columns: []string{"a"}}}
	ok := Node{Name: "n", Fields: []Field{F("x", E(Identity, "", "in", "a"))}}
	tests := []struct {
		name    string
		sources []Source
		nodes   []Node
		wantErr []string
	}{
		{"unknown node", src, []Node{{Name: "n", Fields: []Field{F("x", E(Identity, "", "zz", "a"))}}},
			[]string{`"zz" is not a source or a node declared before it`}},
		{"later node", src, []Node{
			{Name: "m", Fields: []Field{F("y", E(Identity, "", "n", "x"))}}, ok},
			[]string{`"n" is not a source or a node declared before it`}},
		{"self reference", src, []Node{{Name: "n", Fields: []Field{F("x", E(Identity, "", "n", "x"))}}},
			[]string{`"n" is not a source or a node declared before it`}},
		{"missing column", src, []Node{{Name: "n", Fields: []Field{F("x", E(Identity, "", "in", "b"))}}},
			[]string{`in has no column "b"`}},
		{"unknown subtype", src, []Node{{Name: "n", Fields: []Field{F("x", E("COPY", "", "in", "a"))}}},
			[]string{`unknown transformation subtype "COPY"`}},
		{"direct dataset edge", src, []Node{{Name: "n", Fields: ok.Fields, Dataset: E(Identity, "", "in", "a")}},
			[]string{"dataset-level edges must be INDIRECT"}},
		{"duplicate node", src, []Node{ok, ok}, []string{`node "n" is declared twice`}},
		{"node named like a source", src, []Node{{Name: "in", Fields: ok.Fields}}, []string{`node "in" is declared twice or collides`}},
		{"duplicate column", src, []Node{{Name: "n", Fields: []Field{ok.Fields[0], ok.Fields[0]}}}, []string{`column "x" is empty or declared twice`}},
		{"no edges", src, []Node{{Name: "n", Fields: []Field{{Name: "x"}}}}, []string{"n.x: no input column declared"}},
		{"no columns", src, []Node{{Name: "n"}}, []string{`node "n" declares no columns`}},
		{"unnamed node", src, []Node{{Fields: ok.Fields}}, []string{"node #1 has no name"}},
		{"unnamed source", []Source{{Columns: []string{"a"}}}, nil, []string{"source #1 has no name"}},
		{"duplicate source", []Source{src[0], src[0]}, nil, []string{`source "in" is declared twice`}},
		{"duplicate source column", []Source{{Name: "in", Columns: []string{"a", "a"}}}, nil, []string{`source "in": column "a"`}},
		{"every problem at once", src, []Node{
			{Name: "n", Fields: []Field{F("x", E(Identity, "", "in", "b")), F("y", E(Identity, "", "in", "c"))}}},
			[]string{`in has no column "b"`, `in has no column "c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCatalog(tt.sources, tt.nodes)
			require.Error(t, err)
			for _, w := range tt.wantErr {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestQueries(t *testing.T) {
	c := toy(t)
	require.Equal(t, []Source{{Name: "in", Columns: []string{"a", "b", "k"}}}, c.Sources())
	require.Len(t, c.Nodes(), 3)
	n, ok := c.Node("n2")
	require.True(t, ok)
	require.Equal(t, "n2", n.Name)
	_, ok = c.Node("zz")
	require.False(t, ok)

	cols, ok := c.Columns("n2")
	require.True(t, ok)
	require.Equal(t, []string{"s", "t", "w"}, cols)
	cols, ok = c.Columns("in")
	require.True(t, ok)
	require.Equal(t, []string{"a", "b", "k"}, cols)
	_, ok = c.Columns("zz")
	require.False(t, ok)

	require.Equal(t, []string{"in"}, c.Reads("n1"))
	require.Equal(t, []string{"n1"}, c.Reads("n2"))
	require.Nil(t, c.Reads("zz"))

	require.Equal(t, []Ref{{"in", "a"}}, c.Find("a"))
	require.Equal(t, []Ref{{"n2", "s"}}, c.Find("s"))
	require.Empty(t, c.Find("nothing"))

	var uses []string
	for _, u := range c.Uses("in", "a") {
		uses = append(uses, u.Node+"."+u.Column+": "+short(u.Dep))
	}
	require.Equal(t, []string{
		"n1.x: a IDENTITY",
		"n2.s: a AGGREGATION",
		"n2.w: a AGGREGATION n2/WINDOW",
		"n3.u: a AGGREGATION",
	}, uses)

	_, ok = c.Resolve("zz")
	require.False(t, ok)
	_, ok = c.ResolveColumn("zz", "x")
	require.False(t, ok)
	_, ok = c.ResolveColumn("n1", "zz")
	require.False(t, ok)
	r, _ := c.Resolve("n1")
	_, ok = r.Field("zz")
	require.False(t, ok)
}

func TestResultsAreCopies(t *testing.T) {
	c := toy(t)
	r, _ := c.Resolve("n3")
	r.Fields[0].Deps[0].Direct.Hops[0].Node = "changed"
	r.Fields[0].Deps[0].Indirect = nil
	r.Dataset[0].Indirect[0].Node = "changed"
	again, _ := c.Resolve("n3")
	require.Equal(t, "n1", again.Fields[0].Deps[0].Direct.Hops[0].Node)
	require.Equal(t, "n2", again.Dataset[0].Indirect[0].Node)

	es := E(Identity, "", "in", "a")
	m := es.Masked()
	require.False(t, es[0].Masking, "Masked must not change its receiver")
	require.True(t, m[0].Masking)
}

func TestCheckDeps(t *testing.T) {
	c := toy(t)
	graph := map[string][]string{"n1": {"in"}, "n2": {"n1"}, "n3": {"n2"}}
	deps := func(n string) ([]string, bool) { d, ok := graph[n]; return d, ok }
	require.NoError(t, c.CheckDeps(deps))

	graph["n3"] = []string{"n1"}
	delete(graph, "n2")
	err := c.CheckDeps(deps)
	require.ErrorContains(t, err, `node "n2" is declared but not in the graph`)
	require.ErrorContains(t, err, `node "n3" reads "n2", which is not one of its dependencies [n1]`)
}

func TestCheckColumns(t *testing.T) {
	c := toy(t)
	require.NoError(t, c.CheckColumns("n2", []string{"t", "s", "w"}))
	err := c.CheckColumns("n2", []string{"s", "t", "extra"})
	require.ErrorContains(t, err, "columns extra are not declared")
	require.ErrorContains(t, err, "declared columns w are not in its result")
	require.ErrorContains(t, c.CheckColumns("zz", nil), `node "zz" has no declaration`)
}

// TestGoldenResolution pins the whole resolution of the toy chain, so a
// change in the rule shows up as a diff (go test -update rewrites it).
func TestGoldenResolution(t *testing.T) {
	c := toy(t)
	var all []*Resolved
	for _, n := range c.Nodes() {
		r, _ := c.Resolve(n.Name)
		all = append(all, r)
	}
	got, err := json.MarshalIndent(all, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "toy_resolution.json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

// Sources returns the declared sources.
func (c *Catalog) Sources() []Source { return slices.Clone(c.sources) }

// Uses lists every node column that depends on the source column
// source.column, directly or indirectly, in declaration order: the
// column's journey from the input to the outputs.
func (c *Catalog) Uses(source, column string) []Use {
	var out []Use
	key := depKey{source, column}
	for _, n := range c.nodes {
		for _, f := range n.Fields {
			if d, ok := c.fields[Ref{n.Name, f.Name}][key]; ok {
				out = append(out, Use{Node: n.Name, Column: f.Name, Dep: cloneDep(*d)})
			}
		}
	}
	return out
}

// Find returns every source and node column called name, sources first,
// then nodes in declaration order.
func (c *Catalog) Find(name string) []Ref {
	var out []Ref
	for _, s := range c.sources {
		if slices.Contains(s.Columns, name) {
			out = append(out, Ref{s.Name, name})
		}
	}
	for _, n := range c.nodes {
		for _, f := range n.Fields {
			if f.Name == name {
				out = append(out, Ref{n.Name, name})
			}
		}
	}
	return out
}

// Use is one node column whose value depends on a source column.
type Use struct {
	Node   string
	Column string
	Dep    Dep
}
