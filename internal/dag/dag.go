package dag

import (
	"errors"
	"fmt"
	"maps"
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
	// Nodes are the outputs and the ancestors they need (inputs
	// included), in topological order: all ancestors, unless some nodes
	// are given (see Given).
	Nodes []*Node

	dag     *DAG
	entries []*entry        // same as Nodes
	has     map[string]bool // names of Nodes
	given   map[string]bool // names passed to Given, in Nodes or not
}

// Has reports whether the plan contains the node called name.
func (p *Plan) Has(name string) bool { return p.has[name] }

// IsGiven reports whether the node called name is given: its value is
// known before the run (see Given).
func (p *Plan) IsGiven(name string) bool { return p.given[name] }

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
	p.fill(want)
	return p, nil
}

// Given returns a plan for the same outputs in which the named nodes are
// given: their values are known before the run (say, loaded from a
// cache). Execute takes a given node's value from its inputs map, as for
// an Input node, and does not run its function; nodes that only given
// nodes need are left out of the plan, and so are inputs that only they
// read. A given node's node hooks still fire, without Around (see Hooks).
// The names must be nodes of p that are not inputs; nodes given in p stay
// given.
func (p *Plan) Given(names ...string) (*Plan, error) {
	q := &Plan{Outputs: p.Outputs, dag: p.dag, has: map[string]bool{}, given: maps.Clone(p.given)}
	if q.given == nil {
		q.given = map[string]bool{}
	}
	var errs []error
	for _, name := range names {
		e, err := p.dag.lookup(name, "node")
		switch {
		case err != nil:
			errs = append(errs, err)
		case e.IsInput:
			errs = append(errs, fmt.Errorf("given node %q is an input: pass its value to Execute", name))
		case !p.has[name]:
			errs = append(errs, fmt.Errorf("given node %q is not in the plan for %s", name, strings.Join(p.Outputs, ", ")))
		default:
			q.given[name] = true
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	want := make([]*entry, len(p.Outputs))
	for i, name := range p.Outputs {
		want[i] = p.dag.byName[name]
	}
	q.fill(want)
	return q, nil
}

// fill adds the outputs and the ancestors they need: the walk does not go
// past a given node.
func (p *Plan) fill(outputs []*entry) {
	in := map[*entry]bool{}
	var walk func(e *entry)
	walk = func(e *entry) {
		if in[e] {
			return
		}
		in[e] = true
		if p.given[e.Name] {
			return
		}
		for _, dep := range e.deps {
			walk(dep)
		}
	}
	for _, e := range outputs {
		walk(e)
	}
	for _, e := range p.dag.order {
		if in[e] {
			p.entries = append(p.entries, e)
			p.Nodes = append(p.Nodes, &e.Node)
			p.has[e.Name] = true
		}
	}
}

// Upstream returns every ancestor of name, in topological order.
func (d *DAG) Upstream(name string) ([]string, error) {
	return d.reach(name, func(e *entry) []*entry { return e.deps })
}

// Downstream returns every descendant of name, in topological order.
func (d *DAG) Downstream(name string) ([]string, error) {
	return d.reach(name, func(e *entry) []*entry { return e.children })
}

// reach returns the nodes reachable from name along next, in topological
// order.
func (d *DAG) reach(name string, next func(*entry) []*entry) ([]string, error) {
	e, err := d.lookup(name, "node")
	if err != nil {
		return nil, err
	}
	seen := map[*entry]bool{}
	var walk func(e *entry)
	walk = func(e *entry) {
		for _, n := range next(e) {
			if !seen[n] {
				seen[n] = true
				walk(n)
			}
		}
	}
	walk(e)
	out := []string{}
	for _, e := range d.order {
		if seen[e] {
			out = append(out, e.Name)
		}
	}
	return out, nil
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
	switch {
	case len(sugg) == 1:
		return fmt.Sprintf(" (did you mean %q?)", sugg[0])
	case len(sugg) > 1:
		q := make([]string, len(sugg))
		for i, s := range sugg {
			q[i] = fmt.Sprintf("%q", s)
		}
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
		if d <= max(1, len([]rune(name))/3) || min(len(low), len(lk)) >= 3 && (strings.Contains(lk, low) || strings.Contains(low, lk)) {
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
