package dag

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DAG is a validated, immutable graph. It is safe for concurrent use.
type DAG struct {
	byName map[string]*entry
	order  []*entry // topological, ties by registration order
}

// Nodes returns every node in topological order, ties broken by
// registration order.
func (d *DAG) Nodes() []*Node {
	nodes := make([]*Node, len(d.order))
	for i, e := range d.order {
		nodes[i] = &e.Node
	}
	return nodes
}

// Node returns the node called name.
func (d *DAG) Node(name string) (*Node, bool) {
	e, ok := d.byName[name]
	if !ok {
		return nil, false
	}
	return &e.Node, true
}

// Dependents returns the names of the nodes that take name as a direct
// dependency, in topological order; nil for an unknown name.
func (d *DAG) Dependents(name string) []string {
	e, ok := d.byName[name]
	if !ok {
		return nil
	}
	return names(e.children)
}

// UnknownNodeError is returned for a name the DAG does not have.
type UnknownNodeError struct {
	Name        string
	Role        string   // "output" or "node": what the caller was naming
	Suggestions []string // closest known names, best first
	known       []string
}

func (e *UnknownNodeError) Error() string {
	return fmt.Sprintf("unknown %s %q%s", e.Role, e.Name, hintFrom(e.Suggestions, e.known))
}

func (d *DAG) lookup(name, role string) (*entry, error) {
	if e, ok := d.byName[name]; ok {
		return e, nil
	}
	var known []string
	for _, e := range d.order {
		// Inputs are given to a run, never computed: not outputs.
		if role != "output" || !e.IsInput {
			known = append(known, e.Name)
		}
	}
	return nil, &UnknownNodeError{Name: name, Role: role, Suggestions: suggest(name, known), known: known}
}

// Plan is the set of nodes that produce the requested outputs.
type Plan struct {
	Outputs []string // requested, deduplicated, in request order
	Nodes   []*Node  // the outputs and all their ancestors (inputs included), topological order

	dag     *DAG
	entries []*entry // same as Nodes
	has     map[string]bool
}

// Has reports whether the plan contains the node called name.
func (p *Plan) Has(name string) bool { return p.has[name] }

// Plan returns the nodes needed to compute outputs: the outputs and their
// ancestors, nothing else. Unknown names are reported together, each with
// the closest known names.
func (d *DAG) Plan(outputs ...string) (*Plan, error) {
	if len(outputs) == 0 {
		return nil, errors.New("plan: no outputs requested; name at least one node")
	}
	p := &Plan{dag: d, has: map[string]bool{}}
	var errs []error
	var want []*entry
	requested := map[string]bool{}
	for _, name := range outputs {
		if requested[name] {
			continue
		}
		requested[name] = true
		e, err := d.lookup(name, "output")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Outputs = append(p.Outputs, name)
		want = append(want, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	in := d.ancestors(want, true)
	for _, e := range d.order {
		if in[e] {
			p.entries = append(p.entries, e)
			p.Nodes = append(p.Nodes, &e.Node)
			p.has[e.Name] = true
		}
	}
	return p, nil
}

// ancestors marks everything the given entries depend on, transitively,
// and the entries themselves when self is true.
func (d *DAG) ancestors(from []*entry, self bool) map[*entry]bool {
	seen := map[*entry]bool{}
	var walk func(e *entry)
	walk = func(e *entry) {
		for _, dep := range e.deps {
			if !seen[dep] {
				seen[dep] = true
				walk(dep)
			}
		}
	}
	for _, e := range from {
		if self {
			seen[e] = true
		}
		walk(e)
	}
	return seen
}

// Upstream returns every ancestor of name, in topological order.
func (d *DAG) Upstream(name string) ([]string, error) {
	e, err := d.lookup(name, "node")
	if err != nil {
		return nil, err
	}
	return d.inOrder(d.ancestors([]*entry{e}, false)), nil
}

// Downstream returns every descendant of name, in topological order.
func (d *DAG) Downstream(name string) ([]string, error) {
	e, err := d.lookup(name, "node")
	if err != nil {
		return nil, err
	}
	seen := map[*entry]bool{}
	var walk func(e *entry)
	walk = func(e *entry) {
		for _, c := range e.children {
			if !seen[c] {
				seen[c] = true
				walk(c)
			}
		}
	}
	walk(e)
	return d.inOrder(seen), nil
}

func (d *DAG) inOrder(set map[*entry]bool) []string {
	out := []string{}
	for _, e := range d.order {
		if set[e] {
			out = append(out, e.Name)
		}
	}
	return out
}

// Path returns a shortest chain of nodes along which data flows from
// from to to, both included. When several are equally short, the one
// through earlier nodes in topological order wins.
func (d *DAG) Path(from, to string) ([]string, error) {
	src, err := d.lookup(from, "node")
	if err != nil {
		return nil, err
	}
	dst, err := d.lookup(to, "node")
	if err != nil {
		return nil, err
	}
	if p := shortestPath(src, dst); p != nil {
		return p, nil
	}
	if shortestPath(dst, src) != nil {
		return nil, fmt.Errorf("no path from %q to %q: %q is downstream of %q; swap the two names", from, to, from, to)
	}
	return nil, fmt.Errorf("no path from %q to %q: neither depends on the other", from, to)
}

// shortestPath is a breadth-first search along dependents.
func shortestPath(src, dst *entry) []string {
	prev := map[*entry]*entry{src: nil}
	queue := []*entry{src}
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		if e == dst {
			var path []string
			for ; e != nil; e = prev[e] {
				path = append(path, e.Name)
			}
			slices.Reverse(path)
			return path
		}
		for _, c := range e.children {
			if _, ok := prev[c]; !ok {
				prev[c] = e
				queue = append(queue, c)
			}
		}
	}
	return nil
}

func names(es []*entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

// hint is the " (did you mean ...?)" tail of an unknown-name message.
func hint(name string, known []string) string {
	return hintFrom(suggest(name, known), known)
}

func hintFrom(sugg, known []string) string {
	quote := func(ss []string) []string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = fmt.Sprintf("%q", s)
		}
		return q
	}
	switch {
	case len(sugg) == 1:
		return fmt.Sprintf(" (did you mean %q?)", sugg[0])
	case len(sugg) > 1:
		q := quote(sugg)
		return fmt.Sprintf(" (did you mean %s or %s?)", strings.Join(q[:len(q)-1], ", "), q[len(q)-1])
	case len(known) == 0:
		return ""
	case len(known) > 12:
		return " (known: " + strings.Join(known[:12], ", ") + ", ...)"
	default:
		return " (known: " + strings.Join(known, ", ") + ")"
	}
}

// Suggest returns up to three of known close to name, best first: a
// small edit distance for typos, or one containing the other.
func Suggest(name string, known []string) []string { return suggest(name, known) }

// suggest returns up to three known names close to name: a small edit
// distance for typos, or one containing the other for partial names.
func suggest(name string, known []string) []string {
	type cand struct {
		name string
		dist int
	}
	if name == "" {
		return nil
	}
	low := strings.ToLower(name)
	var cands []cand
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(low, lk)
		near := d <= max(1, len([]rune(name))/3)
		if !near && min(len(low), len(lk)) >= 3 && (strings.Contains(lk, low) || strings.Contains(low, lk)) {
			near = true
		}
		if near {
			cands = append(cands, cand{k, d})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return a.dist - b.dist })
	var out []string
	for _, c := range cands[:min(3, len(cands))] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of adjacent letters each cost one,
// because a swap ("cuont") is as common a typo as a wrong letter.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1) // row i-2
	prev := make([]int, len(rb)+1)  // row i-1
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
