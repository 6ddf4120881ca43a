package salesdag

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
)

// Node is a computation to add to the sales DAG: a typed Go function
// whose parameters are the results of the nodes it names, in order. Make
// one with Func0, Func1, Func2 or Func3 and pass it to New, which checks
// that every dependency exists and that its result fits the parameter.
//
// A parameter fed by one of the pipeline's tables (daily_sales_summary,
// enriched_daily_summary, ...) is a *Table; trend_analysis is a
// TrendAnalysis, data_quality_metrics a QualityMetrics and
// top_performing_days a []TopDay. A node that returns a *Table is written
// like the pipeline's tables; any other result is written as JSON.
type Node struct {
	name string
	doc  string
	tags []string
	deps []string
	in   []reflect.Type // parameter types, as the function declares them
	out  reflect.Type   // result type, as the function declares it
	call func(ctx context.Context, args []any) (any, error)
	reg  func(g *dag.Graph, s dag.Spec, deps []string, call func(context.Context, []any) (any, error))
}

// Name returns the node's name.
func (n Node) Name() string { return n.name }

// WithDoc returns the node with a one-line description, shown by
// `salesdag nodes` and in the node's lineage job.
func (n Node) WithDoc(doc string) Node { n.doc = doc; return n }

// WithTags returns the node with free-form labels (e.g. "monthly").
func (n Node) WithTags(tags ...string) Node { n.tags = slices.Clone(tags); return n }

// Func0 makes a node without dependencies.
func Func0[R any](name string, fn func(context.Context) (R, error)) Node {
	n := newNode[R](name, nil, nil, fn == nil)
	n.call = func(ctx context.Context, _ []any) (any, error) { return result(fn(ctx)) }
	return n
}

// Func1 makes a node computed from the result of the node called dep.
func Func1[A, R any](name, dep string, fn func(context.Context, A) (R, error)) Node {
	n := newNode[R](name, []string{dep}, []reflect.Type{reflect.TypeFor[A]()}, fn == nil)
	n.call = func(ctx context.Context, args []any) (any, error) {
		a, err := param[A](args, 0, dep)
		if err != nil {
			return nil, err
		}
		return result(fn(ctx, a))
	}
	return n
}

// Func2 makes a node computed from the results of the nodes a and b.
func Func2[A, B, R any](name, a, b string, fn func(context.Context, A, B) (R, error)) Node {
	n := newNode[R](name, []string{a, b}, []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}, fn == nil)
	n.call = func(ctx context.Context, args []any) (any, error) {
		va, err := param[A](args, 0, a)
		if err != nil {
			return nil, err
		}
		vb, err := param[B](args, 1, b)
		if err != nil {
			return nil, err
		}
		return result(fn(ctx, va, vb))
	}
	return n
}

// Func3 makes a node computed from the results of the nodes a, b and c.
func Func3[A, B, C, R any](name, a, b, c string, fn func(context.Context, A, B, C) (R, error)) Node {
	in := []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()}
	n := newNode[R](name, []string{a, b, c}, in, fn == nil)
	n.call = func(ctx context.Context, args []any) (any, error) {
		va, err := param[A](args, 0, a)
		if err != nil {
			return nil, err
		}
		vb, err := param[B](args, 1, b)
		if err != nil {
			return nil, err
		}
		vc, err := param[C](args, 2, c)
		if err != nil {
			return nil, err
		}
		return result(fn(ctx, va, vb, vc))
	}
	return n
}

func newNode[R any](name string, deps []string, in []reflect.Type, nilFunc bool) Node {
	n := Node{name: name, deps: deps, in: in, out: reflect.TypeFor[R]()}
	if reflect.TypeFor[R]() == tableType {
		n.reg = register[*frame.Frame] // tables travel as the frames the writers know
	} else {
		n.reg = register[R]
	}
	if nilFunc {
		n.reg = func(g *dag.Graph, s dag.Spec, deps []string, _ func(context.Context, []any) (any, error)) {
			register[R](g, s, deps, nil) // the engine reports the nil function
		}
	}
	return n
}

// param converts the engine's value of dependency i to the parameter's
// type. New has checked that it fits, so an error here is a bug.
func param[T any](args []any, i int, dep string) (T, error) {
	return as[T](args[i], fmt.Sprintf("dependency %q", dep))
}

// result turns what a user's function returned into the engine's value.
func result[R any](r R, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if t, ok := any(r).(*Table); ok {
		if t == nil {
			return nil, fmt.Errorf("returned a nil *salesdag.Table; return an empty table or an error")
		}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("returned an invalid table: %w", err)
		}
		return t.internal(), nil
	}
	return r, nil
}

// register adds a node whose engine result type is O and whose
// parameters take any value (New checks them against the function's
// declared types, in the terms users know).
func register[O any](g *dag.Graph, s dag.Spec, deps []string, call func(context.Context, []any) (any, error)) {
	out := func(v any, err error) (O, error) {
		o, _ := v.(O)
		return o, err
	}
	switch len(deps) {
	case 0:
		var fn func(context.Context) (O, error)
		if call != nil {
			fn = func(ctx context.Context) (O, error) { return out(call(ctx, nil)) }
		}
		dag.Add0(g, s, fn)
	case 1:
		var fn func(context.Context, any) (O, error)
		if call != nil {
			fn = func(ctx context.Context, a any) (O, error) { return out(call(ctx, []any{a})) }
		}
		dag.Add1(g, s, deps[0], fn)
	case 2:
		var fn func(context.Context, any, any) (O, error)
		if call != nil {
			fn = func(ctx context.Context, a, b any) (O, error) { return out(call(ctx, []any{a, b})) }
		}
		dag.Add2(g, s, deps[0], deps[1], fn)
	case 3:
		var fn func(context.Context, any, any, any) (O, error)
		if call != nil {
			fn = func(ctx context.Context, a, b, c any) (O, error) { return out(call(ctx, []any{a, b, c})) }
		}
		dag.Add3(g, s, deps[0], deps[1], deps[2], fn)
	}
}
