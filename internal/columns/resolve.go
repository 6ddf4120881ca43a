package columns

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Hop is one step of a DIRECT path: at Node, the column Column was
// computed from the previous hop (or the source column) with Subtype.
type Hop struct {
	Node        string
	Column      string
	Subtype     Subtype
	Description string
	Masking     bool
}

// Path is the composed DIRECT transformation from a source column to a
// node column, with the hops it went through, input side first.
type Path struct {
	Subtype Subtype
	Masking bool
	Hops    []Hop
}

// Description tells the path in words: "node: what it did" for every hop
// that says something, input side first.
func (p *Path) Description() string {
	var parts []string
	for _, h := range p.Hops {
		if h.Description != "" {
			parts = append(parts, h.Node+": "+h.Description)
		}
	}
	return strings.Join(parts, " -> ")
}

// Step is one INDIRECT dependency: at Node, the rows were filtered,
// grouped, sorted or windowed using (a value derived from) the source
// column.
type Step struct {
	Node        string
	Subtype     Subtype
	Description string
}

// Dep is everything a value depends on from one source column: at most
// one composed DIRECT path and the accumulated INDIRECT steps.
type Dep struct {
	Source   string
	Column   string
	Direct   *Path
	Indirect []Step
}

// ResolvedField is the lineage of one output column down to the source
// columns, in source column order.
type ResolvedField struct {
	Name string
	Deps []Dep
}

// Resolved is the lineage of one node: every declared column, and the
// dataset-level (INDIRECT) dependencies of its rows as a whole, including
// those inherited from the nodes it reads.
type Resolved struct {
	Node    string
	Fields  []ResolvedField
	Dataset []Dep
}

// Field returns the resolved field name.
func (r *Resolved) Field(name string) (ResolvedField, bool) {
	for _, f := range r.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return ResolvedField{}, false
}

// Resolve returns the lineage of a node's columns down to the sources.
func (c *Catalog) Resolve(node string) (*Resolved, bool) {
	r, ok := c.resolved[node]
	if !ok {
		return nil, false
	}
	return cloneResolved(r), true
}

type depKey struct{ source, column string }

type depSet map[depKey]*Dep

// lookup returns the lineage of a ref: a source column depends on itself
// (an IDENTITY path without hops), a node column on what it resolved to.
func (c *Catalog) lookup(r Ref) depSet {
	if _, ok := c.srcIndex[r.Node]; ok {
		return depSet{{r.Node, r.Column}: {Source: r.Node, Column: r.Column, Direct: &Path{Subtype: Identity}}}
	}
	return c.fields[r]
}

// apply carries the lineage of an edge's input through the edge, for the
// column col of node (see the package comment for the rule).
func apply(e Edge, node, col string, in depSet) depSet {
	out := make(depSet, len(in))
	for k, d := range in {
		nd := &Dep{Source: d.Source, Column: d.Column, Indirect: slices.Clone(d.Indirect)}
		switch {
		case d.Direct == nil:
			// Only indirect behind this edge: nothing flows directly.
		case e.Subtype.IsDirect():
			nd.Direct = &Path{
				Subtype: Stronger(d.Direct.Subtype, e.Subtype),
				Masking: d.Direct.Masking || e.Masking,
				Hops:    append(slices.Clone(d.Direct.Hops), Hop{Node: node, Column: col, Subtype: e.Subtype, Description: e.Description, Masking: e.Masking}),
			}
		default:
			nd.Indirect = append(nd.Indirect, Step{Node: node, Subtype: e.Subtype, Description: e.Description})
		}
		out[k] = nd
	}
	return out
}

// merge adds src into dst: the stronger DIRECT path wins (dst's on a tie)
// and INDIRECT steps are united.
func merge(dst, src depSet) {
	for k, d := range src {
		cur, ok := dst[k]
		if !ok {
			dst[k] = &Dep{Source: d.Source, Column: d.Column, Direct: d.Direct, Indirect: slices.Clone(d.Indirect)}
			continue
		}
		if d.Direct != nil && (cur.Direct == nil || subtypeRank[d.Direct.Subtype] > subtypeRank[cur.Direct.Subtype]) {
			cur.Direct = d.Direct
		}
		for _, s := range d.Indirect {
			if !slices.Contains(cur.Indirect, s) {
				cur.Indirect = append(cur.Indirect, s)
			}
		}
	}
}

func (c *Catalog) resolveNode(n Node) {
	own := depSet{}
	for _, e := range n.Dataset {
		merge(own, apply(e, n.Name, "", c.lookup(e.From)))
	}
	c.dataset[n.Name] = own
	r := &Resolved{Node: n.Name}
	for _, f := range n.Fields {
		m := depSet{}
		for _, e := range f.From {
			merge(m, apply(e, n.Name, f.Name, c.lookup(e.From)))
		}
		// The node's rows are shaped by its dataset-level edges, so every
		// value it outputs depends on them.
		merge(m, own)
		c.fields[Ref{n.Name, f.Name}] = m
		r.Fields = append(r.Fields, ResolvedField{Name: f.Name, Deps: c.list(m)})
	}
	all := depSet{}
	merge(all, own)
	for _, up := range c.Reads(n.Name) {
		if prev, ok := c.resolved[up]; ok {
			for _, d := range prev.Dataset {
				merge(all, depSet{{d.Source, d.Column}: &d})
			}
		}
	}
	r.Dataset = c.list(all)
	c.resolved[n.Name] = r
}

// list returns the deps in source column order with their steps sorted
// by node order, subtype and description.
func (c *Catalog) list(m depSet) []Dep {
	out := make([]Dep, 0, len(m))
	for _, k := range slices.Collect(maps.Keys(m)) {
		d := cloneDep(*m[k])
		slices.SortFunc(d.Indirect, func(a, b Step) int {
			return cmp.Or(
				cmp.Compare(c.order[a.Node], c.order[b.Node]),
				cmp.Compare(subtypeRank[a.Subtype], subtypeRank[b.Subtype]),
				cmp.Compare(a.Description, b.Description))
		})
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Dep) int {
		return cmp.Or(
			cmp.Compare(c.order[a.Source], c.order[b.Source]),
			cmp.Compare(c.columnIndex(a.Source, a.Column), c.columnIndex(b.Source, b.Column)),
			cmp.Compare(a.Column, b.Column))
	})
	return out
}

func (c *Catalog) columnIndex(source, column string) int {
	if i, ok := c.srcIndex[source]; ok {
		return slices.Index(c.sources[i].Columns, column)
	}
	return -1
}

func cloneDep(d Dep) Dep {
	out := Dep{Source: d.Source, Column: d.Column, Indirect: slices.Clone(d.Indirect)}
	if d.Direct != nil {
		p := *d.Direct
		p.Hops = slices.Clone(p.Hops)
		out.Direct = &p
	}
	return out
}

func cloneField(f ResolvedField) ResolvedField {
	out := ResolvedField{Name: f.Name, Deps: make([]Dep, len(f.Deps))}
	for i, d := range f.Deps {
		out.Deps[i] = cloneDep(d)
	}
	return out
}

func cloneResolved(r *Resolved) *Resolved {
	out := &Resolved{Node: r.Node, Fields: make([]ResolvedField, len(r.Fields)), Dataset: make([]Dep, len(r.Dataset))}
	for i, f := range r.Fields {
		out.Fields[i] = cloneField(f)
	}
	for i, d := range r.Dataset {
		out.Dataset[i] = cloneDep(d)
	}
	return out
}
