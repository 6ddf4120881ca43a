package dag

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

type execConfig struct {
	workers   int
	hooks     []Hooks
	keepGoing bool
}

// Option configures one Execute call.
type Option func(*execConfig)

// Workers bounds how many node functions run at once. n < 1 means the
// default, runtime.GOMAXPROCS(0).
func Workers(n int) Option { return func(c *execConfig) { c.workers = n } }

// WithHooks adds hooks, called in the order given (Around: first is
// outermost). It may be passed several times.
func WithHooks(h ...Hooks) Option { return func(c *execConfig) { c.hooks = append(c.hooks, h...) } }

// KeepGoing makes a failing node stop only the nodes that depend on it
// (as make -k): every other node still runs. The dependants are skipped,
// each reported to the SkipNode hooks, and Execute returns a
// *PartialError once nothing else can run.
func KeepGoing() Option { return func(c *execConfig) { c.keepGoing = true } }

// PartialError is the error of a KeepGoing run in which nodes failed.
// It does not unwrap: callers read Failed and Skipped.
type PartialError struct {
	Failed  []*NodeError // in the order they failed
	Skipped []Skip       // in topological order
}

// Skip is a node a KeepGoing run did not run because a node it depends
// on (directly or not) failed.
type Skip struct {
	Node     string
	Upstream string // the failed node
}

// Reason says why the node was skipped.
func (s Skip) Reason() string { return "upstream " + s.Upstream + " failed" }

func (e *PartialError) Error() string {
	var b strings.Builder
	for i, f := range e.Failed {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&b, " (%d dependent node(s) skipped)", len(e.Skipped))
	}
	return b.String()
}

// Results maps node names to their values: computed or given.
type Results map[string]any

// NodeError is the error of a run stopped by a failing node.
type NodeError struct {
	Node string
	Err  error
}

func (e *NodeError) Error() string { return "node " + e.Node + ": " + e.Err.Error() }
func (e *NodeError) Unwrap() error { return e.Err }

// PanicError is what a node that panicked fails with. The stack stays out
// of the message, which users see; lineage and debug logs can read it here.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// InputError is a missing, unknown or wrongly typed input value.
type InputError struct {
	Name string
	Want reflect.Type // nil when Name is not an input of the DAG
	Got  reflect.Type // nil when the value is missing or nil
	msg  string
}

func (e *InputError) Error() string { return e.msg }

// Execute computes the nodes of p in dependency order, running independent
// nodes concurrently on at most Workers goroutines, and returns the value
// of every computed and given node. inputs holds a value for each Input
// node and each given node of the plan; all are checked before anything
// runs.
//
// The first node to fail stops the run: no further node starts, running
// ones see their context cancelled, and the error is a *NodeError. When
// ctx is cancelled the error wraps ctx.Err(). Execute always waits for
// running node functions to return. On error, the returned Results hold
// what was computed before the stop.
func (d *DAG) Execute(ctx context.Context, p *Plan, inputs map[string]any, opts ...Option) (Results, error) {
	cfg := execConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.workers < 1 {
		cfg.workers = runtime.GOMAXPROCS(0)
	}
	if p == nil || p.dag != d {
		return nil, errors.New("execute: the plan was not made by this DAG; use the DAG's Plan method")
	}
	vals := make([]any, len(d.order)) // by topological index
	if err := d.bindInputs(p, inputs, vals); err != nil {
		return nil, err
	}

	res := Results{}
	var err error
	for _, h := range cfg.hooks {
		if h.BeforeGraph != nil {
			if err = beforeGraph(ctx, h, p); err != nil {
				err = fmt.Errorf("before-graph hook: %w", err)
				break
			}
		}
	}
	if err == nil {
		err = d.run(ctx, p, vals, res, &cfg)
	}
	// Every AfterGraph hook runs with the error of the run; one that
	// panics fails a run that had not failed yet.
	var hookErr error
	for _, h := range cfg.hooks {
		if h.AfterGraph != nil {
			if perr := afterGraph(ctx, h, p, err); perr != nil && hookErr == nil {
				hookErr = fmt.Errorf("after-graph hook: %w", perr)
			}
		}
	}
	return res, cmp.Or(err, hookErr)
}

// beforeGraph calls h.BeforeGraph; a panic is its error.
func beforeGraph(ctx context.Context, h Hooks, p *Plan) (err error) {
	var v any
	defer recoverTo(&v, &err)
	return h.BeforeGraph(ctx, p)
}

// afterGraph calls h.AfterGraph and returns a panic as an error.
func afterGraph(ctx context.Context, h Hooks, p *Plan, runErr error) (err error) {
	var v any
	defer recoverTo(&v, &err)
	h.AfterGraph(ctx, p, runErr)
	return nil
}

func (d *DAG) bindInputs(p *Plan, inputs map[string]any, vals []any) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		if e, ok := d.byName[name]; (!ok || !e.IsInput) && !p.given[name] {
			var inputNames []string
			for _, e := range d.order {
				if e.IsInput {
					inputNames = append(inputNames, e.Name)
				}
			}
			errs = append(errs, &InputError{Name: name,
				msg: fmt.Sprintf("input %q is not an input of this graph%s", name, hint(name, inputNames))})
		}
	}
	for _, e := range p.entries {
		what := "input"
		switch {
		case p.given[e.Name]:
			what = "given node"
		case !e.IsInput:
			continue
		}
		v, ok := inputs[e.Name]
		switch {
		case !ok:
			errs = append(errs, &InputError{Name: e.Name, Want: e.Out,
				msg: fmt.Sprintf("%s %q is missing: want a value of type %s", what, e.Name, e.Out)})
		case v == nil && !nillable(e.Out):
			errs = append(errs, &InputError{Name: e.Name, Want: e.Out,
				msg: fmt.Sprintf("%s %q is nil: want a value of type %s", what, e.Name, e.Out)})
		case v != nil && !reflect.TypeOf(v).AssignableTo(e.Out):
			errs = append(errs, &InputError{Name: e.Name, Want: e.Out, Got: reflect.TypeOf(v),
				msg: fmt.Sprintf("%s %q has type %T: want a value of type %s", what, e.Name, v, e.Out)})
		default:
			vals[e.topo] = v
		}
	}
	return errors.Join(errs...)
}

func nillable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return true
	}
	return false
}

// run is the scheduler. Only this goroutine touches the bookkeeping; node
// goroutines report back on done, so no locks are needed.
func (d *DAG) run(parent context.Context, p *Plan, vals []any, res Results, cfg *execConfig) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	type result struct {
		e   *entry
		v   any
		err error
	}
	done := make(chan result, len(p.entries)) // never blocks a finishing node
	pending := make([]int, len(d.order))
	var ready intHeap // topological indexes, so the lowest-ordered ready node starts first
	total := 0
	for _, e := range p.entries {
		if e.IsInput {
			continue
		}
		total++
		for _, dep := range e.deps {
			if !dep.IsInput && !p.given[e.Name] { // a given node waits for nothing
				pending[e.topo]++
			}
		}
		if pending[e.topo] == 0 {
			ready = append(ready, e.topo)
		}
	}
	heap.Init(&ready)

	running, finished := 0, 0
	var failed error
	var partial *PartialError
	skipped := map[string]bool{}
	for {
		for failed == nil && ctx.Err() == nil && running < cfg.workers && ready.Len() > 0 {
			e := d.order[heap.Pop(&ready).(int)]
			given := p.given[e.Name]
			args := []any{vals[e.topo]} // a given node's known value
			if !given {
				args = make([]any, len(e.args))
				for i, a := range e.args {
					args[i] = vals[a.topo]
				}
			}
			running++
			go func() {
				v, err := runNode(ctx, e, args, cfg.hooks, given)
				done <- result{e, v, err}
			}()
		}
		if running == 0 {
			break
		}
		r := <-done
		running--
		if r.err != nil && cfg.keepGoing && ctx.Err() == nil {
			if partial == nil {
				partial = &PartialError{}
			}
			partial.Failed = append(partial.Failed, &NodeError{Node: r.e.Name, Err: r.err})
			for _, s := range d.dependants(p, r.e, skipped) {
				skip := Skip{Node: s.Name, Upstream: r.e.Name}
				partial.Skipped = append(partial.Skipped, skip)
				for _, h := range cfg.hooks {
					if h.SkipNode != nil {
						h.SkipNode(ctx, &s.Node, skip.Reason())
					}
				}
			}
			continue
		}
		if r.err != nil {
			if failed == nil {
				failed = &NodeError{Node: r.e.Name, Err: r.err}
				cancel()
			}
			continue
		}
		finished++
		vals[r.e.topo] = r.v
		res[r.e.Name] = r.v
		for _, c := range r.e.children {
			if p.has[c.Name] {
				if pending[c.topo]--; pending[c.topo] == 0 {
					heap.Push(&ready, c.topo)
				}
			}
		}
	}
	if failed != nil {
		return failed
	}
	if partial != nil {
		finished += len(partial.Failed) + len(partial.Skipped)
	}
	if finished < total {
		err := parent.Err()
		if cause := context.Cause(parent); cause != nil && cause != err {
			return fmt.Errorf("run stopped after %d of %d nodes: %w: %w", finished, total, err, cause)
		}
		return fmt.Errorf("run stopped after %d of %d nodes: %w", finished, total, err)
	}
	if partial != nil {
		slices.SortFunc(partial.Skipped, func(a, b Skip) int { return d.byName[a.Node].topo - d.byName[b.Node].topo })
		return partial
	}
	return nil
}

// dependants returns the nodes of p that depend on e, directly or not,
// and are not in seen yet; it adds them to seen.
func (d *DAG) dependants(p *Plan, e *entry, seen map[string]bool) []*entry {
	var out []*entry
	queue := []*entry{e}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range cur.children {
			if p.has[c.Name] && !seen[c.Name] {
				seen[c.Name] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// runNode calls the hooks and the node's function; for a given node,
// whose known value is args[0], it calls the node hooks only. It turns any
// panic, in the function or in a hook, into a *PanicError so that one bad
// node fails the run instead of killing the process.
func runNode(ctx context.Context, e *entry, args []any, hooks []Hooks, given bool) (v any, err error) {
	defer recoverTo(&v, &err)
	for _, h := range hooks {
		if h.BeforeNode != nil {
			h.BeforeNode(ctx, &e.Node)
		}
	}
	var r NodeResult
	if given {
		r = NodeResult{Value: args[0], Start: time.Now(), Given: true}
	} else {
		next := Compute(func(ctx context.Context) (any, error) { return e.call(ctx, args) })
		for i := len(hooks) - 1; i >= 0; i-- {
			if around := hooks[i].Around; around != nil {
				inner := next
				next = func(ctx context.Context) (any, error) { return around(ctx, &e.Node, args, inner) }
			}
		}
		start := time.Now()
		v, err := protect(ctx, next)
		r = NodeResult{Value: v, Err: err, Start: start, Duration: time.Since(start)}
	}
	for _, h := range hooks {
		if h.AfterNode != nil {
			h.AfterNode(ctx, &e.Node, r)
		}
	}
	return r.Value, r.Err
}

// protect runs c, so that AfterNode hooks see a panic as an error.
func protect(ctx context.Context, c Compute) (v any, err error) {
	defer recoverTo(&v, &err)
	return c(ctx)
}

func recoverTo(v *any, err *error) {
	if r := recover(); r != nil {
		pe, ok := r.(*PanicError) // raised again from another goroutine: keep its stack
		if !ok {
			pe = &PanicError{Value: r, Stack: debug.Stack()}
		}
		*v, *err = nil, pe
	}
}
