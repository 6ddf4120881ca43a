// Package salesdag runs the sales-analytics pipeline of the salesdag
// command as a library, in the manner of a Hamilton driver: New builds
// the standard sales DAG plus the nodes you add (typed Go functions whose
// parameters are the results of the nodes they name), Run computes the
// outputs you ask for, and only the nodes those need, and Get reads each
// result as a typed Go value.
//
// A run is the same as `salesdag run`: the same checks, the same
// per-node cache, the same writers (CSV, JSON, Parquet) and the same
// OpenLineage events, in which an added node is a child run with its own
// job like the pipeline's nodes.
//
// Tables (*Table) convert to and from gota DataFrames with the gotaframe
// package; the cli package builds the salesdag command line around a
// Driver, so that a binary with extra nodes has the same commands.
package salesdag

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/salesdag/salesdag/internal/bridge"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

func init() {
	bridge.DAG = func(d any) *dag.DAG { return d.(*Driver).dag }
}

// DefaultOutputs returns the names of the six results `salesdag run`
// writes when no output is named.
func DefaultOutputs() []string { return slices.Clone(pipeline.DefaultOutputs) }

// Driver is a validated sales DAG with any added nodes. It is safe for
// concurrent use; each Run is independent.
type Driver struct {
	dag   *dag.DAG
	added map[string]Node
}

// New builds the standard sales DAG plus nodes. It reports every mistake
// at once (joined): an unknown dependency (with the closest names), a
// parameter whose type does not fit its dependency's result, a name used
// twice, a cycle, a nil function.
func New(nodes ...Node) (*Driver, error) {
	g := dag.New()
	pipeline.Register(g)
	std, err := g.Build()
	if err != nil {
		return nil, fmt.Errorf("salesdag: the standard DAG: %w", err)
	}
	added := map[string]Node{}
	for _, n := range nodes {
		if _, dup := added[n.name]; !dup {
			added[n.name] = n
		}
	}
	var errs []error
	for _, n := range nodes {
		for i, dep := range n.deps {
			got, ok, isInput := depType(std, added, dep)
			switch {
			case !ok:
				// Unknown: the engine reports it, with suggestions.
			case isInput:
				errs = append(errs, fmt.Errorf("node %q depends on %q, an input of the pipeline; depend on %s for the parsed rows",
					n.name, dep, pipeline.NodeRaw))
			case !got.AssignableTo(n.in[i]):
				errs = append(errs, fmt.Errorf("node %q parameter %d wants %s but dependency %q returns %s",
					n.name, i+1, n.in[i], dep, got))
			}
		}
		// New has checked the parameters in the terms users know: the
		// engine's may take any value.
		anyIn := make([]reflect.Type, len(n.deps))
		for i := range anyIn {
			anyIn[i] = reflect.TypeFor[any]()
		}
		dag.AddFunc(g, dag.Spec{Name: n.name, Doc: n.doc, Tags: n.tags}, n.deps, anyIn, n.engineOut, n.call)
	}
	d, err := g.Build()
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Driver{dag: d, added: added}, nil
}

// depType returns the type of the named node's result as users see it.
func depType(std *dag.DAG, added map[string]Node, name string) (t reflect.Type, ok, isInput bool) {
	if n, found := added[name]; found {
		return n.out, true, false
	}
	n, found := std.Node(name)
	if !found {
		return nil, false, false
	}
	if n.IsInput {
		return nil, true, true
	}
	t, _ = publicType(n.Out)
	return t, true, false
}

// NodeInfo describes one node of a Driver.
type NodeInfo struct {
	Name  string   // unique in the DAG; what RunOptions.Outputs and Get take
	Doc   string   // one line
	Type  string   // the result's Go type as users see it, e.g. "*salesdag.Table"
	Deps  []string // the nodes it takes, in parameter order
	Tags  []string // free-form labels ("step1", ...)
	Input bool     // an input of the pipeline (the CSV and the reader's options), not computed
	Added bool     // added with New, not one of the pipeline's nodes
}

// Nodes lists every node in dependency order: the pipeline's inputs and
// nodes and the added ones.
func (d *Driver) Nodes() []NodeInfo {
	var out []NodeInfo
	for _, n := range d.dag.Nodes() {
		info := NodeInfo{Name: n.Name, Doc: n.Doc, Deps: slices.Clone(n.Deps), Tags: slices.Clone(n.Tags), Input: n.IsInput}
		if a, ok := d.added[n.Name]; ok {
			info.Added, info.Type = true, a.out.String()
		} else if t, ok := publicType(n.Out); ok {
			info.Type = t.String()
		} else {
			info.Type = n.Out.String()
		}
		out = append(out, info)
	}
	return out
}
