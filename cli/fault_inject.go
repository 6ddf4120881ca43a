//go:build salesdag_faults

package cli

import (
	"context"
	"strings"

	"github.com/salesdag/salesdag/internal/dag"
)

// SALESDAG_FAULT values:
//
//	node:NAME   the computation of node NAME panics (index out of range)
//	aftergraph  an AfterGraph hook panics
//	cli         the run command panics before the run starts
func init() {
	faultHooks = func(getenv func(string) string) []dag.Hooks {
		fault := getenv("SALESDAG_FAULT")
		switch {
		case strings.HasPrefix(fault, "node:"):
			name := strings.TrimPrefix(fault, "node:")
			return []dag.Hooks{{Around: func(ctx context.Context, n *dag.Node, _ []any, next dag.Compute) (any, error) {
				if n.Name == name {
					var s []int
					_ = s[len(n.Name)-100] // index out of range, a real runtime panic
				}
				return next(ctx)
			}}}
		case fault == "aftergraph":
			return []dag.Hooks{{AfterGraph: func(context.Context, *dag.Plan, error) { panic("injected fault in AfterGraph") }}}
		case fault == "cli":
			panic("injected fault in the run command")
		}
		return nil
	}
}
