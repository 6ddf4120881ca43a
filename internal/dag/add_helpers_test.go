package dag

import (
	"context"
	"reflect"
)

// Add0 and Add3 are the zero- and three-dependency forms of Add1 and Add2;
// only the tests register such nodes with static types (the library's
// nodes go through AddFunc).

// Add0 registers a node without dependencies.
func Add0[R any](g *Graph, s Spec, fn func(context.Context) (R, error)) {
	var call func(context.Context, []any) (any, error)
	if fn != nil {
		call = func(ctx context.Context, _ []any) (any, error) { return fn(ctx) }
	}
	g.register(s, nil, nil, reflect.TypeFor[R](), call, fn, false)
}

// Add3 registers a node computed from dependencies a, b and c.
func Add3[A, B, C, R any](g *Graph, s Spec, a, b, c string, fn func(context.Context, A, B, C) (R, error)) {
	var call func(context.Context, []any) (any, error)
	if fn != nil {
		call = func(ctx context.Context, args []any) (any, error) {
			return fn(ctx, arg[A](args, 0), arg[B](args, 1), arg[C](args, 2))
		}
	}
	in := []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()}
	g.register(s, []string{a, b, c}, in, reflect.TypeFor[R](), call, fn, false)
}
