package history

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"

	"strings"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/lineage"
)

// FieldRef names a column of a dataset; an empty Field stands for the
// dataset as a whole (the target of dataset-level dependencies such as a
// filter or a grouping).
type FieldRef struct {
	Namespace string `json:"namespace"`
	Dataset   string `json:"dataset"`
	Field     string `json:"field"`
	// Node wrote the dataset; "" for a dataset from outside the run (the
	// input file).
	Node string `json:"node,omitempty"`
}

func (f FieldRef) key() string { return f.Namespace + "\x00" + f.Dataset + "\x00" + f.Field }

// DatasetLabel is a short name for the dataset: a path's last element.
func (f FieldRef) DatasetLabel() string { return datasetLabel(f.Dataset) }

// String is "dataset.field", or "dataset.*" for the whole dataset.
func (f FieldRef) String() string {
	return f.DatasetLabel() + "." + cmp.Or(f.Field, "*")
}

func datasetLabel(name string) string {
	if strings.Contains(name, "/") {
		return path.Base(name)
	}
	return name
}

// ColumnEdge says that To is computed from From, and how.
type ColumnEdge struct {
	From            FieldRef                 `json:"from"`
	To              FieldRef                 `json:"to"`
	Transformations []lineage.Transformation `json:"transformations"`
	// Path is the chain of nodes the data flows through from From to To,
	// both ends included, when the DAG is known; the facet of a run output
	// resolves straight back to the input file, the DAG fills in the nodes
	// in between.
	Path []string `json:"path,omitempty"`
}

// columnGraph is every column-level dependency in one run's events.
type columnGraph struct {
	edges []ColumnEdge
	ix    *datasetIndex
}

func buildColumnGraph(r *Run, evs []*lineage.RunEvent) *columnGraph {
	g := &columnGraph{ix: newDatasetIndex(r, evs)}
	at := map[string]int{}
	add := func(from, to FieldRef, ts []lineage.Transformation) {
		k := from.key() + "\x01" + to.key()
		if i, ok := at[k]; ok {
			// The same dependency seen on a node's output and on the run's:
			// keep every distinct transformation once.
			for _, t := range ts {
				if !slices.Contains(g.edges[i].Transformations, t) {
					g.edges[i].Transformations = append(g.edges[i].Transformations, t)
				}
			}
			return
		}
		at[k] = len(g.edges)
		g.edges = append(g.edges, ColumnEdge{From: from, To: to, Transformations: append([]lineage.Transformation{}, ts...)})
	}
	ref := func(ns, name, field string) FieldRef {
		return FieldRef{Namespace: ns, Dataset: name, Field: field, Node: g.ix.writerOf(ns, name)}
	}
	for _, ev := range evs {
		_, node := rootOf(ev)
		for _, o := range ev.Outputs {
			facet := o.Facets.ColumnLineage
			if facet == nil {
				continue
			}
			if node != "" && g.ix.writer[dsKey(o.Namespace, o.Name)] == "" {
				g.ix.writer[dsKey(o.Namespace, o.Name)] = node
			}
			for _, f := range slices.Sorted(maps.Keys(facet.Fields)) {
				to := ref(o.Namespace, o.Name, f)
				for _, in := range facet.Fields[f].InputFields {
					add(ref(in.Namespace, in.Name, in.Field), to, in.Transformations)
				}
			}
			whole := ref(o.Namespace, o.Name, "")
			for _, in := range facet.Dataset {
				add(ref(in.Namespace, in.Name, in.Field), whole, in.Transformations)
			}
		}
	}
	// Writers learnt late (a node's facet on its own output) apply to
	// edges seen before.
	for i := range g.edges {
		e := &g.edges[i]
		e.From.Node = g.ix.writerOf(e.From.Namespace, e.From.Dataset)
		e.To.Node = g.ix.writerOf(e.To.Namespace, e.To.Dataset)
	}
	return g
}

// fields lists every distinct column in the graph.
func (g *columnGraph) fields() []string {
	seen := map[string]bool{}
	for _, e := range g.edges {
		for _, f := range []string{e.From.Field, e.To.Field} {
			if f != "" {
				seen[f] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// match finds the columns called name: "amount", or qualified by node or
// dataset ("weekly_aggregation.weekly_total", "weekly_aggregation.csv.weekly_total").
func (g *columnGraph) match(name string) []FieldRef {
	var out []FieldRef
	seen := map[string]bool{}
	for _, e := range g.edges {
		for _, f := range []FieldRef{e.From, e.To} {
			if f.Field == "" || seen[f.key()] {
				continue
			}
			label := f.DatasetLabel()
			stem := label
			if i := strings.IndexByte(stem, '.'); i > 0 {
				stem = stem[:i]
			}
			ok := name == f.Field
			for _, q := range []string{f.Node, label, stem, f.Dataset} {
				if q != "" && name == q+"."+f.Field {
					ok = true
				}
			}
			if ok {
				seen[f.key()] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// journey is every edge on a path through one of start: where its values
// come from, and everything computed from them.
func (g *columnGraph) journey(start []FieldRef) []ColumnEdge {
	picked := map[int]bool{}
	// Downstream: follow edges out of reached columns.
	g.walk(start, picked, func(f FieldRef, e ColumnEdge) (FieldRef, bool, bool) {
		return e.To, e.From.key() == f.key(), e.To.Field != ""
	})
	// Upstream: follow edges into reached columns, and the dataset-level
	// dependencies of their datasets.
	g.walk(start, picked, func(f FieldRef, e ColumnEdge) (FieldRef, bool, bool) {
		k := e.To.key()
		return e.From, k == f.key() || (f.Field != "" && k == FieldRef{Namespace: f.Namespace, Dataset: f.Dataset}.key()), true
	})
	out := make([]ColumnEdge, 0, len(picked))
	for i := range g.edges {
		if picked[i] {
			out = append(out, g.edges[i])
		}
	}
	return out
}

// walk visits the columns reachable from start breadth first. step says,
// for a reached column f and an edge e, which column e leads to, whether e
// is on the way (it is then marked in picked) and whether to go on from
// the column it leads to.
func (g *columnGraph) walk(start []FieldRef, picked map[int]bool, step func(f FieldRef, e ColumnEdge) (next FieldRef, on, follow bool)) {
	reached := map[string]bool{}
	queue := slices.Clone(start)
	for _, s := range start {
		reached[s.key()] = true
	}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		for i, e := range g.edges {
			next, on, follow := step(f, e)
			if !on {
				continue
			}
			picked[i] = true
			if follow && !reached[next.key()] {
				reached[next.key()] = true
				queue = append(queue, next)
			}
		}
	}
}

// ColumnJourney is the answer of `lineage column`.
type ColumnJourney struct {
	Column  string       `json:"column"`
	Run     Run          `json:"run"`
	Matches []FieldRef   `json:"matches"`
	Steps   []ColumnEdge `json:"steps"`
}

// ColumnQuery selects the run and the graph for Column.
type ColumnQuery struct {
	// Run is a run reference (see Resolve); "" means the latest run whose
	// events have column-level lineage.
	Run string
	// DAG, if given, fills in the nodes between the ends of each step.
	DAG *dag.DAG
}

// Errors of Column.
var (
	// ErrNoColumnLineage: no recorded run has column lineage.
	ErrNoColumnLineage = errors.New("no recorded run has column-level lineage")
	// ErrNoSuchColumn: the run's column lineage has no such column.
	ErrNoSuchColumn = errors.New("no column")
)

// Column traces the column called name through a run: from the input
// file, through each node, to the outputs.
func (s *Store) Column(name string, q ColumnQuery) (*ColumnJourney, error) {
	r, err := s.pickRun(q.Run, func(r *Run) bool { return r.ColumnLineage })
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("history: %w yet in %s (columnLineage facets come with `salesdag run`)", ErrNoColumnLineage, s.path)
	}
	evs, err := s.runEvents(r)
	if err != nil {
		return nil, err
	}
	g := buildColumnGraph(r, evs)
	m := g.match(name)
	if len(m) == 0 {
		hint := "; that run's columnLineage facets are empty"
		if known := g.fields(); len(known) > 0 {
			if len(known) > 40 {
				known = append(known[:40], "...")
			}
			hint = "; known columns: " + strings.Join(known, ", ")
		}
		return nil, fmt.Errorf("history: %w %q in the column lineage of run %s%s", ErrNoSuchColumn, name, r.ShortID, hint)
	}
	steps := g.journey(m)
	order := nodeOrder(q.DAG)
	for i := range steps {
		steps[i].Path = stepPath(q.DAG, g.ix, steps[i])
	}
	sortSteps(steps, order)
	return &ColumnJourney{Column: name, Run: *r, Matches: m, Steps: steps}, nil
}

// pickRun resolves ref, or finds the latest run that keep accepts.
func (s *Store) pickRun(ref string, keep func(*Run) bool) (*Run, error) {
	if ref == "" {
		return s.Latest(keep)
	}
	id, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	return s.Get(id)
}

func nodeOrder(d *dag.DAG) map[string]int {
	order := map[string]int{}
	if d == nil {
		return order
	}
	for i, n := range d.Nodes() {
		order[n.Name] = i + 1
	}
	return order
}

// stepPath is the chain of nodes from the one that produced (or, for the
// input file, first read) From to the one that wrote To.
func stepPath(d *dag.DAG, ix *datasetIndex, e ColumnEdge) []string {
	from := cmp.Or(e.From.Node, ix.readers[dsKey(e.From.Namespace, e.From.Dataset)])
	to := e.To.Node
	switch {
	case to == "":
		return nil
	case from == "" || from == to:
		return []string{to}
	case d == nil:
		return []string{from, to}
	}
	p, err := d.Path(from, to)
	if err != nil {
		return []string{from, to}
	}
	return p
}

// sortSteps orders steps from the sources on: by the depth of From in
// the steps' graph, then by the node order of To.
func sortSteps(steps []ColumnEdge, order map[string]int) {
	depth := map[string]int{}
	for range steps { // longest-path relaxation; the graph is acyclic
		changed := false
		for _, e := range steps {
			if d := depth[e.From.key()] + 1; d > depth[e.To.key()] {
				depth[e.To.key()] = d
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	// A column comes before its dataset's row-level dependencies (no
	// field, compared as "\xff": after any UTF-8 name).
	slices.SortStableFunc(steps, func(a, b ColumnEdge) int {
		return cmp.Or(cmp.Compare(depth[a.From.key()], depth[b.From.key()]),
			cmp.Compare(order[a.To.Node], order[b.To.Node]),
			strings.Compare(a.To.DatasetLabel(), b.To.DatasetLabel()),
			strings.Compare(cmp.Or(a.To.Field, "\xff"), cmp.Or(b.To.Field, "\xff")),
			strings.Compare(a.From.String(), b.From.String()))
	})
}
