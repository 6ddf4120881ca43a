package columns

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Checks of the declarations against the real graph and results, and the
// lookups they use. The declarations live beside the node functions in
// internal/pipeline, whose tests run these checks on every node.

// Columns returns the declared output columns of a node or the columns of
// a source, in order.
func (c *Catalog) Columns(name string) ([]string, bool) {
	if i, ok := c.srcIndex[name]; ok {
		return slices.Clone(c.sources[i].Columns), true
	}
	n, ok := c.Node(name)
	if !ok {
		return nil, false
	}
	out := make([]string, len(n.Fields))
	for i, f := range n.Fields {
		out[i] = f.Name
	}
	return out, true
}

// CheckDeps checks the declarations against the real graph: every
// declared node must exist there, and every node it reads must be one of
// its dependencies. deps returns a node's dependencies and whether the
// node exists.
func (c *Catalog) CheckDeps(deps func(node string) ([]string, bool)) error {
	var errs []error
	for _, n := range c.nodes {
		d, ok := deps(n.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("columns: node %q is declared but not in the graph", n.Name))
			continue
		}
		for _, r := range c.Reads(n.Name) {
			if !slices.Contains(d, r) {
				errs = append(errs, fmt.Errorf("columns: node %q reads %q, which is not one of its dependencies %v", n.Name, r, d))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckColumns compares a node's declared columns with the columns its
// result really has: every real column must be declared (complete) and
// every declared column must be real (no stale declarations).
func (c *Catalog) CheckColumns(node string, actual []string) error {
	declared, ok := c.Columns(node)
	if !ok {
		return fmt.Errorf("columns: node %q has no declaration", node)
	}
	var missing, stale []string
	for _, a := range actual {
		if !slices.Contains(declared, a) {
			missing = append(missing, a)
		}
	}
	for _, d := range declared {
		if !slices.Contains(actual, d) {
			stale = append(stale, d)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("columns: node %q: columns %s are not declared", node, strings.Join(missing, ", ")))
	}
	if len(stale) > 0 {
		errs = append(errs, fmt.Errorf("columns: node %q: declared columns %s are not in its result", node, strings.Join(stale, ", ")))
	}
	return errors.Join(errs...)
}

// Dep returns the dependency of the field on one source column.
func (f ResolvedField) Dep(source, column string) (Dep, bool) {
	for _, d := range f.Deps {
		if d.Source == source && d.Column == column {
			return d, true
		}
	}
	return Dep{}, false
}

// ResolveColumn returns the lineage of one column of a node.
func (c *Catalog) ResolveColumn(node, column string) (ResolvedField, bool) {
	r, ok := c.resolved[node]
	if !ok {
		return ResolvedField{}, false
	}
	f, ok := r.Field(column)
	if !ok {
		return ResolvedField{}, false
	}
	return cloneField(f), true
}
