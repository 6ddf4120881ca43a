package salesdag

import (
	"context"
	"fmt"
	"reflect"
	"slices"
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
	// engineOut is the type of the engine's values: *frame.Frame for a
	// *Table (tables travel as the frames the writers know), else out.
	engineOut reflect.Type
	call      func(ctx context.Context, args []any) (any, error) // nil for a nil function
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
	return newNode[R](name, nil, nil, fn == nil, func(ctx context.Context, _ []any) (any, error) {
		return result(fn(ctx))
	})
}

// Func1 makes a node computed from the result of the node called dep.
func Func1[A, R any](name, dep string, fn func(context.Context, A) (R, error)) Node {
	in := []reflect.Type{reflect.TypeFor[A]()}
	return newNode[R](name, []string{dep}, in, fn == nil, func(ctx context.Context, args []any) (any, error) {
		return result(fn(ctx, arg[A](args, 0)))
	})
}

// Func2 makes a node computed from the results of the nodes a and b.
func Func2[A, B, R any](name, a, b string, fn func(context.Context, A, B) (R, error)) Node {
	in := []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}
	return newNode[R](name, []string{a, b}, in, fn == nil, func(ctx context.Context, args []any) (any, error) {
		return result(fn(ctx, arg[A](args, 0), arg[B](args, 1)))
	})
}

// Func3 makes a node computed from the results of the nodes a, b and c.
func Func3[A, B, C, R any](name, a, b, c string, fn func(context.Context, A, B, C) (R, error)) Node {
	in := []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()}
	return newNode[R](name, []string{a, b, c}, in, fn == nil, func(ctx context.Context, args []any) (any, error) {
		return result(fn(ctx, arg[A](args, 0), arg[B](args, 1), arg[C](args, 2)))
	})
}

// newNode makes a node whose function call takes the dependencies' values
// as users see them, each converted to its parameter's type (New has
// checked that they fit, so a conversion error here is a bug).
func newNode[R any](name string, deps []string, in []reflect.Type, nilFunc bool, call func(context.Context, []any) (any, error)) Node {
	n := Node{name: name, deps: deps, in: in, out: reflect.TypeFor[R](), engineOut: reflect.TypeFor[R]()}
	if n.out == tableType {
		n.engineOut = frameType
	}
	if nilFunc {
		return n // the engine reports the nil function
	}
	n.call = func(ctx context.Context, args []any) (any, error) {
		params := make([]any, len(args))
		for i, v := range args {
			var err error
			if params[i], err = convert(v, in[i], fmt.Sprintf("dependency %q", deps[i])); err != nil {
				return nil, err
			}
		}
		return call(ctx, params)
	}
	return n
}

// arg is parameter i, converted by newNode (nil for a nil of a nillable
// type, which gives the zero value).
func arg[T any](args []any, i int) T {
	v, _ := args[i].(T)
	return v
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
