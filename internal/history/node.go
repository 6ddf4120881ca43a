package history

import (
	"fmt"
	"slices"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/lineage"
)

// NodeView is the answer of `lineage node`: where a node sits in the DAG,
// what a change to it affects, and its columns in the latest run that ran
// it.
type NodeView struct {
	Node       string   `json:"node"`
	Doc        string   `json:"doc,omitempty"`
	Input      bool     `json:"input,omitempty"` // an external input of the DAG
	DependsOn  []string `json:"depends_on"`
	Feeds      []string `json:"feeds"`
	Upstream   []string `json:"upstream"`
	Downstream []string `json:"downstream"`
	// LastRun is the latest recorded run that ran the node, NodeRun the
	// node's part of it.
	LastRun *Run     `json:"last_run,omitempty"`
	NodeRun *NodeRun `json:"node_run,omitempty"`
	// Affected lists the outputs of LastRun written by the node or by a
	// node downstream of it: what a change to the node changes.
	Affected   []string       `json:"affected_outputs"`
	ColumnsIn  []NodeColumn   `json:"columns_in"`
	ColumnsOut []NodeColumn   `json:"columns_out"`
	RowFilters []ColumnSource `json:"dataset_dependencies,omitempty"`
}

// NodeColumn is one column a node reads or writes.
type NodeColumn struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	// Node produced the column (for columns in); "" for the input file.
	Node    string `json:"node,omitempty"`
	Dataset string `json:"dataset,omitempty"`
	// From lists, for a column out, the columns it is computed from.
	From []ColumnSource `json:"from,omitempty"`
}

// ColumnSource is one input column of a column, with how it is used.
type ColumnSource struct {
	Field           FieldRef                 `json:"field"`
	Transformations []lineage.Transformation `json:"transformations"`
}

// NodeQuery selects the run and the graph for Node.
type NodeQuery struct {
	// Run is a run reference; "" means the latest run in which the node
	// completed and wrote a dataset, else completed, else ran at all.
	Run string
	// DAG gives the node's place in the graph; without it only what the
	// events recorded is known.
	DAG *dag.DAG
}

// Node describes the node called name.
func (s *Store) Node(name string, q NodeQuery) (*NodeView, error) {
	v := &NodeView{Node: name, DependsOn: []string{}, Feeds: []string{}, Upstream: []string{}, Downstream: []string{},
		Affected: []string{}, ColumnsIn: []NodeColumn{}, ColumnsOut: []NodeColumn{}}
	if d := q.DAG; d != nil {
		n, ok := d.Node(name)
		if !ok {
			_, err := d.Upstream(name) // names the closest nodes
			return nil, fmt.Errorf("history: %w", err)
		}
		v.Doc, v.Input = n.Doc, n.IsInput
		v.DependsOn = append(v.DependsOn, n.Deps...)
		v.Feeds = append(v.Feeds, d.Dependents(name)...)
		v.Upstream, _ = d.Upstream(name)
		v.Downstream, _ = d.Downstream(name)
	}
	// Prefer the latest run in which the node completed and left a dataset
	// (its columns are known), then one in which it completed, then any.
	completed := func(r *Run) bool { n, ok := r.Node(name); return ok && n.Status == StatusComplete }
	prefs := []func(*Run) bool{
		func(r *Run) bool { return completed(r) && wroteDataset(r, name) },
		completed,
		func(r *Run) bool { _, ok := r.Node(name); return ok },
	}
	var r *Run
	var err error
	if q.Run != "" {
		r, err = s.pickRun(q.Run, nil)
	}
	for _, keep := range prefs {
		if q.Run != "" || r != nil || err != nil {
			break
		}
		r, err = s.Latest(keep)
	}
	if err != nil {
		return nil, err
	}
	if r == nil {
		if q.DAG == nil {
			return nil, fmt.Errorf("history: %w: no recorded run ran a node called %q", ErrNotFound, name)
		}
		return v, nil
	}
	v.LastRun = r
	if nr, ok := r.Node(name); ok {
		v.NodeRun = nr
	}
	evs, err := s.runEvents(r)
	if err != nil {
		return nil, err
	}
	d := buildDetail(r, evs)
	g := buildColumnGraph(r, evs)
	if v.NodeRun != nil {
		for _, n := range d.Nodes {
			if n.Name == name {
				nr := n // with the row count filled in from its output file
				v.NodeRun = &nr
			}
		}
	}

	impact := map[string]bool{name: true}
	for _, n := range v.Downstream {
		impact[n] = true
	}
	for _, ds := range d.Datasets {
		if ds.Role == "output" && impact[ds.Node] && slices.Contains(r.Outputs, DatasetName(ds.Namespace, ds.Name)) {
			v.Affected = appendUnique(v.Affected, DatasetName(ds.Namespace, ds.Name))
		}
	}

	v.ColumnsOut = columnsOf(d, g, name)
	for i := range v.ColumnsOut {
		c := &v.ColumnsOut[i]
		for _, e := range g.edges {
			if e.To.Node == name && e.To.Field == c.Name {
				c.From = appendSource(c.From, e)
			}
		}
	}
	for _, e := range g.edges {
		if e.To.Node == name && e.To.Field == "" {
			v.RowFilters = appendSource(v.RowFilters, e)
		}
	}

	// Columns in: what the node's events say it read, then what its
	// dependencies wrote.
	seen := map[string]bool{}
	addIn := func(c NodeColumn) {
		k := c.Node + "\x00" + c.Dataset + "\x00" + c.Name
		if !seen[k] {
			seen[k] = true
			v.ColumnsIn = append(v.ColumnsIn, c)
		}
	}
	for _, ds := range d.Datasets {
		if ds.Role != "input" || ds.Node != name {
			continue
		}
		for _, f := range ds.Fields {
			addIn(NodeColumn{Name: f.Name, Type: f.Type, Node: d.producer(ds), Dataset: DatasetName(ds.Namespace, ds.Name)})
		}
	}
	for _, dep := range v.DependsOn {
		for _, c := range columnsOf(d, g, dep) {
			c.Node = dep
			addIn(c)
		}
	}
	if q.DAG == nil {
		// Without the DAG, the columns the node's lineage names are its
		// inputs.
		for _, c := range v.ColumnsOut {
			for _, src := range c.From {
				addIn(NodeColumn{Name: src.Field.Field, Node: src.Field.Node, Dataset: DatasetName(src.Field.Namespace, src.Field.Dataset)})
			}
		}
	}
	return v, nil
}

// producer is the node that wrote an input dataset ("" for outside data).
func (d *Detail) producer(in DatasetInfo) string {
	for _, ds := range d.Datasets {
		if ds.Role == "output" && ds.Namespace == in.Namespace && ds.Name == in.Name {
			return ds.Node
		}
	}
	return ""
}

// columnsOf lists the columns node wrote in the run: the schema of its
// output datasets, else the columns its lineage facets name.
func columnsOf(d *Detail, g *columnGraph, node string) []NodeColumn {
	var out []NodeColumn
	seen := map[string]bool{}
	for _, ds := range d.Datasets {
		if ds.Role != "output" || ds.Node != node {
			continue
		}
		for _, f := range ds.Fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				out = append(out, NodeColumn{Name: f.Name, Type: f.Type, Dataset: DatasetName(ds.Namespace, ds.Name)})
				continue
			}
			// The same table in another dataset (a file next to the
			// in-memory result) may say what type the column has.
			for i := range out {
				if out[i].Name == f.Name && out[i].Type == "" {
					out[i].Type = f.Type
				}
			}
		}
	}
	for _, e := range g.edges {
		if e.To.Node == node && e.To.Field != "" && !seen[e.To.Field] {
			seen[e.To.Field] = true
			out = append(out, NodeColumn{Name: e.To.Field, Dataset: DatasetName(e.To.Namespace, e.To.Dataset)})
		}
	}
	return out
}

// appendSource adds e's source once per column (several files of one
// node carry the same lineage).
func appendSource(list []ColumnSource, e ColumnEdge) []ColumnSource {
	for i := range list {
		if list[i].Field.key() == e.From.key() {
			for _, t := range e.Transformations {
				if !slices.Contains(list[i].Transformations, t) {
					list[i].Transformations = append(list[i].Transformations, t)
				}
			}
			return list
		}
	}
	return append(list, ColumnSource{Field: e.From, Transformations: append([]lineage.Transformation{}, e.Transformations...)})
}

// wroteDataset reports whether the run recorded a dataset written by
// node: a node-level output, or a run output named after it.
func wroteDataset(r *Run, node string) bool {
	if n, ok := r.Node(node); ok && n.RowsOut != nil {
		return true
	}
	return slices.ContainsFunc(r.Outputs, func(o string) bool { return stem(o) == node })
}
