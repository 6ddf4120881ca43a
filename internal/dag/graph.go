package dag

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
)

// Graph collects node registrations. It is not safe for concurrent use.
// Registration never fails on the spot: problems are recorded and Build
// reports all of them at once, so one run shows every mistake.
type Graph struct {
	entries []*entry
	byName  map[string]bool
	calls   int // registration calls, for naming nodes without a name
	errs    []error
}

// entry is a registered node plus what the engine needs to run it.
type entry struct {
	Node
	idx  int // registration order
	topo int // position in DAG.order
	call func(ctx context.Context, args []any) (any, error)

	args     []*entry // one per parameter, in Deps order
	deps     []*entry // distinct dependencies, in Deps order
	children []*entry // distinct direct dependents, in topological order
}

// New returns an empty graph.
func New() *Graph { return &Graph{byName: map[string]bool{}} }

// Input declares an external value of type T that Execute takes from its
// inputs map under name.
func Input[T any](g *Graph, name, doc string) {
	g.register(Spec{Name: name, Doc: doc}, nil, nil, reflect.TypeFor[T](), nil, nil, true)
}

// Add1 registers a node computed from dependency a.
func Add1[A, R any](g *Graph, s Spec, a string, fn func(context.Context, A) (R, error)) {
	var call func(context.Context, []any) (any, error)
	if fn != nil {
		call = func(ctx context.Context, args []any) (any, error) {
			return fn(ctx, arg[A](args, 0))
		}
	}
	in := []reflect.Type{reflect.TypeFor[A]()}
	g.register(s, []string{a}, in, reflect.TypeFor[R](), call, fn, false)
}

// Add2 registers a node computed from dependencies a and b.
func Add2[A, B, R any](g *Graph, s Spec, a, b string, fn func(context.Context, A, B) (R, error)) {
	var call func(context.Context, []any) (any, error)
	if fn != nil {
		call = func(ctx context.Context, args []any) (any, error) {
			return fn(ctx, arg[A](args, 0), arg[B](args, 1))
		}
	}
	in := []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}
	g.register(s, []string{a, b}, in, reflect.TypeFor[R](), call, fn, false)
}

// AddFunc registers a node whose types are known only at run time: call
// gets the values of deps in order, in are the parameter types they must
// fit and out the type of the result call returns. A nil call is reported
// by Build, like a nil function.
func AddFunc(g *Graph, s Spec, deps []string, in []reflect.Type, out reflect.Type, call func(context.Context, []any) (any, error)) {
	g.register(s, deps, in, out, call, call, false)
}

// arg converts a dependency value back to the parameter type. Build has
// checked assignability, so the only value that fails the assertion is a
// nil interface, for which the zero value is the right answer.
func arg[T any](args []any, i int) T {
	v, _ := args[i].(T)
	return v
}

func (g *Graph) register(s Spec, deps []string, in []reflect.Type, out reflect.Type, call func(context.Context, []any) (any, error), fn any, isInput bool) {
	g.calls++
	if s.Name == "" {
		g.errs = append(g.errs, &ValidationError{Kind: KindEmptyName,
			msg: fmt.Sprintf("registration #%d (doc %q) has an empty node name; give every node a unique name", g.calls, s.Doc)})
		return
	}
	if call == nil && !isInput {
		g.errs = append(g.errs, &ValidationError{Kind: KindNilFunc, Node: s.Name,
			msg: fmt.Sprintf("node %q has a nil function", s.Name)})
		return
	}
	if g.byName[s.Name] {
		g.errs = append(g.errs, &ValidationError{Kind: KindDuplicate, Node: s.Name,
			msg: fmt.Sprintf("node %q is registered twice; node names must be unique", s.Name)})
		return
	}
	if g.byName == nil { // a zero Graph works too
		g.byName = map[string]bool{}
	}
	g.byName[s.Name] = true
	g.entries = append(g.entries, &entry{
		Node: Node{
			Name:    s.Name,
			Doc:     s.Doc,
			Tags:    slices.Clone(s.Tags),
			Deps:    deps,
			In:      in,
			Out:     out,
			IsInput: isInput,
			Func:    funcName(fn),
		},
		idx:  len(g.entries),
		call: call,
	})
}

// ErrorKind says which rule a ValidationError breaks.
type ErrorKind string

const (
	KindEmptyName    ErrorKind = "empty name"
	KindNilFunc      ErrorKind = "nil function"
	KindDuplicate    ErrorKind = "duplicate name"
	KindUnknownDep   ErrorKind = "unknown dependency"
	KindTypeMismatch ErrorKind = "type mismatch"
	KindCycle        ErrorKind = "cycle"
)

// ValidationError is one problem Build found. Build joins them with
// errors.Join; use errors.As or a type switch over the joined list.
type ValidationError struct {
	Kind  ErrorKind
	Node  string   // the node at fault ("" for an empty name)
	Dep   string   // the dependency involved, for unknown dependency and type mismatch
	Cycle []string // for cycles: the path, first name repeated at the end
	msg   string
}

func (e *ValidationError) Error() string { return e.msg }

// Build validates the graph and freezes it into a DAG. It reports every
// registration and validation error, joined.
func (g *Graph) Build() (*DAG, error) {
	errs := slices.Clone(g.errs)
	byName := make(map[string]*entry, len(g.entries))
	names := make([]string, 0, len(g.entries))
	// Copy the entries so a later registration on g cannot change the DAG.
	entries := make([]*entry, len(g.entries))
	for i, src := range g.entries {
		e := &entry{Node: src.Node, idx: src.idx, call: src.call}
		entries[i] = e
		byName[e.Name] = e
		names = append(names, e.Name)
	}

	for _, e := range entries {
		for i, dep := range e.Deps {
			d, ok := byName[dep]
			if !ok {
				errs = append(errs, &ValidationError{Kind: KindUnknownDep, Node: e.Name, Dep: dep,
					msg: fmt.Sprintf("node %q depends on unknown node %q%s", e.Name, dep, hint(dep, names))})
				continue
			}
			if !d.Out.AssignableTo(e.In[i]) {
				errs = append(errs, &ValidationError{Kind: KindTypeMismatch, Node: e.Name, Dep: dep,
					msg: fmt.Sprintf("node %q parameter %d wants %s but dependency %q returns %s",
						e.Name, i+1, e.In[i], dep, d.Out)})
			}
			e.args = append(e.args, d)
			if !slices.Contains(e.deps, d) {
				e.deps = append(e.deps, d)
			}
		}
	}
	errs = append(errs, findCycles(entries)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	d := &DAG{byName: byName, order: topoSort(entries)}
	for i, e := range d.order {
		e.topo = i
	}
	// Children in topological order, because order is walked in that order.
	for _, e := range d.order {
		for _, dep := range e.deps {
			dep.children = append(dep.children, e)
		}
	}
	return d, nil
}

// findCycles runs a depth-first search along dependencies in registration
// order and reports one cycle per back edge. A cycle is printed in data-flow
// direction (producer -> consumer) starting at its earliest-registered
// node, so the message does not depend on where the search entered it.
func findCycles(entries []*entry) []error {
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]int8, len(entries))
	var stack []*entry
	var errs []error
	var visit func(e *entry)
	visit = func(e *entry) {
		state[e.idx] = onStack
		stack = append(stack, e)
		for _, d := range e.deps {
			switch state[d.idx] {
			case unseen:
				visit(d)
			case onStack:
				i := slices.Index(stack, d)
				cyc := slices.Clone(stack[i:]) // each depends on the next; e depends on d
				slices.Reverse(cyc)            // now each feeds the next
				start := 0
				for j, c := range cyc {
					if c.idx < cyc[start].idx {
						start = j
					}
				}
				path := make([]string, 0, len(cyc)+1)
				for j := range cyc {
					path = append(path, cyc[(start+j)%len(cyc)].Name)
				}
				path = append(path, path[0])
				errs = append(errs, &ValidationError{Kind: KindCycle, Node: path[0], Cycle: path,
					msg: "cycle: " + strings.Join(path, " -> ")})
			}
		}
		stack = stack[:len(stack)-1]
		state[e.idx] = done
	}
	for _, e := range entries {
		if state[e.idx] == unseen {
			visit(e)
		}
	}
	return errs
}

// topoSort is Kahn's algorithm choosing, among ready nodes, the one
// registered first, so the order is stable and reads like the source.
func topoSort(entries []*entry) []*entry {
	pending := make([]int, len(entries))
	dependents := make([][]*entry, len(entries))
	var ready intHeap // registration indexes
	for _, e := range entries {
		pending[e.idx] = len(e.deps)
		for _, d := range e.deps {
			dependents[d.idx] = append(dependents[d.idx], e)
		}
		if len(e.deps) == 0 {
			ready = append(ready, e.idx)
		}
	}
	heap.Init(&ready)
	order := make([]*entry, 0, len(entries))
	for ready.Len() > 0 {
		e := entries[heap.Pop(&ready).(int)]
		order = append(order, e)
		for _, c := range dependents[e.idx] {
			if pending[c.idx]--; pending[c.idx] == 0 {
				heap.Push(&ready, c.idx)
			}
		}
	}
	return order
}

// intHeap is a min-heap of ints (container/heap.Interface).
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// funcName returns the fully qualified name of a node's function, so that
// hooks such as a cache can tie a node to its source code.
func funcName(fn any) string {
	v := reflect.ValueOf(fn)
	if fn == nil || v.Kind() != reflect.Func || v.IsNil() {
		return ""
	}
	if f := runtime.FuncForPC(v.Pointer()); f != nil {
		return f.Name()
	}
	return ""
}
