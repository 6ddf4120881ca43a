// Package columns describes column-level lineage in neutral terms: each
// node declares, for every column (or JSON field) it outputs, which
// upstream columns it is computed from and how, and a Catalog of those
// declarations resolves any output column back to the columns of the
// external inputs (the input file).
//
// The vocabulary is OpenLineage's (transformation types DIRECT and
// INDIRECT with their subtypes) so that the app can turn a resolution into
// a columnLineage facet without translation, but this package knows
// nothing about OpenLineage events: the pipeline declares, the app
// converts.
//
// # Composition rule
//
// Resolving walks every edge back to a source column and composes the
// transformations met on the way:
//
//   - DIRECT composes with DIRECT into the strongest of the two, where
//     AGGREGATION dominates TRANSFORMATION, which dominates IDENTITY
//     (a sum of an identity is a sum; an identity of a sum is still a sum).
//     The hops of the path are kept, so the journey stays visible.
//   - An INDIRECT edge turns everything DIRECT behind it into that
//     INDIRECT subtype (a FILTER on a column derived from `amount` is a
//     FILTER on `amount`), and keeps the INDIRECT dependencies behind it.
//   - INDIRECT dependencies accumulate along the chain and are never
//     dropped: a value computed from filtered, grouped rows depends
//     indirectly on the filter and the grouping columns. A node's own
//     dataset-level dependencies (filters, grouping, sorting of its rows)
//     are added to every field of that node, so they follow the field
//     downstream.
//   - Masking (the value no longer reveals its input, like a count)
//     sticks: once a DIRECT path is masked it stays masked.
//   - When several paths reach the same source column, the strongest
//     DIRECT wins (the first declared on a tie) and the INDIRECT sets are
//     merged, without duplicates.
//
// The dataset-level lineage of a node is its own dataset edges resolved
// the same way, plus the dataset-level lineage of every node it reads.
package columns

import (
	"errors"
	"fmt"
	"slices"
)

// Transformation types of OpenLineage's column lineage.
const (
	Direct   = "DIRECT"
	Indirect = "INDIRECT"
)

// Subtype is an OpenLineage transformation subtype.
type Subtype string

// The subtypes salesdag uses. DIRECT: the output value is derived from the
// input value; INDIRECT: the input affects the output only through which
// rows are kept, how they are grouped, ordered or windowed.
const (
	Identity       Subtype = "IDENTITY"
	Transformation Subtype = "TRANSFORMATION"
	Aggregation    Subtype = "AGGREGATION"
	Filter         Subtype = "FILTER"
	GroupBy        Subtype = "GROUP_BY"
	Sort           Subtype = "SORT"
	Window         Subtype = "WINDOW"
)

// subtypeRank orders subtypes: DIRECT ones by strength (used to compose),
// INDIRECT ones after them in a fixed order (used to sort).
var subtypeRank = map[Subtype]int{
	Identity: 1, Transformation: 2, Aggregation: 3,
	Filter: 10, GroupBy: 11, Sort: 12, Window: 13,
}

// Valid reports whether s is one of the known subtypes.
func (s Subtype) Valid() bool { _, ok := subtypeRank[s]; return ok }

// IsDirect reports whether s is a DIRECT subtype.
func (s Subtype) IsDirect() bool { return s == Identity || s == Transformation || s == Aggregation }

// Type is "DIRECT" or "INDIRECT".
func (s Subtype) Type() string {
	if s.IsDirect() {
		return Direct
	}
	return Indirect
}

// Stronger returns the dominant of two DIRECT subtypes.
func Stronger(a, b Subtype) Subtype {
	if subtypeRank[b] > subtypeRank[a] {
		return b
	}
	return a
}

// Ref names one column of a node or of a source.
type Ref struct {
	Node   string
	Column string
}

// Edge says that a column, or a whole node's rows, depend on the column
// From, and how.
type Edge struct {
	From        Ref
	Subtype     Subtype
	Description string
	// Masking: the result does not reveal the input's values (a count of
	// distinct ids, a null count).
	Masking bool
}

// Edges is a list of edges; E builds one.
type Edges []Edge

// E returns one edge of subtype sub from each of node's columns cols, all
// with the same description.
func E(sub Subtype, description, node string, cols ...string) Edges {
	out := make(Edges, len(cols))
	for i, c := range cols {
		out[i] = Edge{From: Ref{Node: node, Column: c}, Subtype: sub, Description: description}
	}
	return out
}

// Masked returns a copy of e with every edge marked as masking.
func (e Edges) Masked() Edges {
	out := slices.Clone(e)
	for i := range out {
		out[i].Masking = true
	}
	return out
}

// All concatenates edge lists.
func All(lists ...Edges) Edges {
	var out Edges
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// Field is one output column (or JSON field) of a node and its edges.
type Field struct {
	Name string
	From Edges
}

// F declares the output column name computed from the given edges.
func F(name string, from ...Edges) Field {
	return Field{Name: name, From: All(from...)}
}

// Node is the declaration of one node: its output columns and the
// INDIRECT edges that shape its rows as a whole (filters, grouping,
// sorting).
type Node struct {
	Name    string
	Doc     string
	Fields  []Field
	Dataset Edges
}

// Source is an external dataset that nodes read, such as the input file,
// with its columns in order.
type Source struct {
	Name    string
	Columns []string
}

// Catalog holds validated declarations and their resolutions. It is
// immutable and safe for concurrent use.
type Catalog struct {
	sources  []Source
	nodes    []Node
	srcIndex map[string]int
	index    map[string]int
	order    map[string]int       // sources first, then nodes, in declaration order
	resolved map[string]*Resolved // node -> resolution
	fields   map[Ref]depSet       // node column -> its deps by source column
	dataset  map[string]depSet    // node -> its own dataset-level deps
}

// NewCatalog validates the declarations and resolves every node. Nodes
// must be declared in dependency order: an edge may only name a source or
// a node declared before (this also rules out cycles). Every problem is
// reported, joined.
func NewCatalog(sources []Source, nodes []Node) (*Catalog, error) {
	c := &Catalog{
		sources:  slices.Clone(sources),
		nodes:    slices.Clone(nodes),
		srcIndex: map[string]int{},
		index:    map[string]int{},
		order:    map[string]int{},
		resolved: map[string]*Resolved{},
		fields:   map[Ref]depSet{},
		dataset:  map[string]depSet{},
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	for _, n := range c.nodes {
		c.resolveNode(n)
	}
	return c, nil
}

func (c *Catalog) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("columns: "+format, args...)) }
	has := map[string]map[string]bool{} // known dataset -> its columns
	for i, s := range c.sources {
		switch {
		case s.Name == "":
			bad("source #%d has no name", i+1)
			continue
		case has[s.Name] != nil:
			bad("source %q is declared twice", s.Name)
			continue
		}
		cols := map[string]bool{}
		for _, col := range s.Columns {
			if col == "" || cols[col] {
				bad("source %q: column %q is empty or declared twice", s.Name, col)
			}
			cols[col] = true
		}
		has[s.Name] = cols
		c.srcIndex[s.Name] = i
		c.order[s.Name] = len(c.order)
	}
	checkEdge := func(where string, e Edge, dataset bool) {
		switch {
		case !e.Subtype.Valid():
			bad("%s: unknown transformation subtype %q", where, e.Subtype)
		case dataset && e.Subtype.IsDirect():
			bad("%s: dataset-level edges must be INDIRECT (FILTER, GROUP_BY, SORT, WINDOW), got %s", where, e.Subtype)
		}
		cols, ok := has[e.From.Node]
		switch {
		case !ok:
			bad("%s: %q is not a source or a node declared before it (declare nodes in dependency order)", where, e.From.Node)
		case !cols[e.From.Column]:
			bad("%s: %s has no column %q", where, e.From.Node, e.From.Column)
		}
	}
	for i, n := range c.nodes {
		if n.Name == "" {
			bad("node #%d has no name", i+1)
			continue
		}
		if has[n.Name] != nil {
			bad("node %q is declared twice or collides with a source", n.Name)
			continue
		}
		if len(n.Fields) == 0 {
			bad("node %q declares no columns", n.Name)
		}
		cols := map[string]bool{}
		for _, f := range n.Fields {
			where := fmt.Sprintf("%s.%s", n.Name, f.Name)
			if f.Name == "" || cols[f.Name] {
				bad("node %q: column %q is empty or declared twice", n.Name, f.Name)
			}
			cols[f.Name] = true
			if len(f.From) == 0 {
				bad("%s: no input column declared", where)
			}
			for _, e := range f.From {
				checkEdge(where, e, false)
			}
		}
		for _, e := range n.Dataset {
			checkEdge(n.Name+" (dataset)", e, true)
		}
		// Registered after its edges are checked, so a node cannot name
		// itself or a later node.
		has[n.Name] = cols
		c.index[n.Name] = i
		c.order[n.Name] = len(c.order)
	}
	return errors.Join(errs...)
}

// Node returns the declaration of a node.
func (c *Catalog) Node(name string) (Node, bool) {
	i, ok := c.index[name]
	if !ok {
		return Node{}, false
	}
	return c.nodes[i], true
}

// Reads returns the sources and nodes a node's declaration names, in
// declaration order.
func (c *Catalog) Reads(node string) []string {
	n, ok := c.Node(node)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	for _, f := range n.Fields {
		for _, e := range f.From {
			seen[e.From.Node] = true
		}
	}
	for _, e := range n.Dataset {
		seen[e.From.Node] = true
	}
	return c.sorted(seen)
}

func (c *Catalog) sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int { return c.order[a] - c.order[b] })
	return out
}
