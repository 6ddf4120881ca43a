package dag

import (
	"context"
	"fmt"
	"testing"
)

// benchGraph builds n trivial nodes fed by one input: side by side (wide)
// or each depending on the previous one (deep).
func benchGraph(b *testing.B, n int, deep bool) (*DAG, *Plan) {
	g := New()
	Input[int](g, "in", "")
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("n%d", i)
		dep := "in"
		if deep && i > 0 {
			dep = names[i-1]
		}
		Add1(g, Spec{Name: names[i]}, dep, inc)
	}
	d := mustBuild(b, g)
	outputs := names
	if deep {
		outputs = names[n-1:]
	}
	p, err := d.Plan(outputs...)
	if err != nil {
		b.Fatal(err)
	}
	return d, p
}

// BenchmarkExecute measures the engine's overhead per node: the node
// functions do nothing, so ns/node is scheduling, hooks and bookkeeping.
func BenchmarkExecute(b *testing.B) {
	const n = 1000
	noop := Hooks{
		BeforeNode: func(context.Context, *Node) {},
		AfterNode:  func(context.Context, *Node, NodeResult) {},
		Around: func(ctx context.Context, _ *Node, _ []any, next Compute) (any, error) {
			return next(ctx)
		},
	}
	for _, shape := range []string{"wide", "deep"} {
		for _, workers := range []int{1, 0} {
			for _, hooked := range []bool{false, true} {
				name := fmt.Sprintf("%s/n=%d/workers=%d/hooks=%v", shape, n, workers, hooked)
				b.Run(name, func(b *testing.B) {
					d, p := benchGraph(b, n, shape == "deep")
					opts := []Option{Workers(workers)}
					if hooked {
						opts = append(opts, WithHooks(noop))
					}
					inputs := map[string]any{"in": 0}
					b.ReportAllocs()
					for b.Loop() {
						if _, err := d.Execute(context.Background(), p, inputs, opts...); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
				})
			}
		}
	}
}

func BenchmarkBuildAndPlan(b *testing.B) {
	for _, deep := range []bool{false, true} {
		b.Run(fmt.Sprintf("deep=%v", deep), func(b *testing.B) {
			for b.Loop() {
				benchGraph(b, 1000, deep)
			}
		})
	}
}
