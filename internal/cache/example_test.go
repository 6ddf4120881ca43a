package cache_test

import (
	"context"
	"fmt"
	"os"

	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Example runs the sales pipeline twice on the embedded sample through a
// cache: the second run loads the six results and runs nothing.
func Example() {
	dir, err := os.MkdirTemp("", "salesdag-cache-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	g := dag.New()
	pipeline.Register(g)
	d, _ := g.Build()
	plan, _ := d.Plan(pipeline.DefaultOutputs...)
	inputs := map[string]any{pipeline.InputSource: pipeline.SampleSource(), pipeline.InputOptions: pipeline.Options{}}

	for i := 0; i < 2; i++ {
		store, err := cache.Open(dir)
		if err != nil {
			fmt.Println(err)
			return
		}
		c := cache.New(store, cache.Options{Policy: pipeline.CachePolicies()})
		run, err := c.Prepare(context.Background(), d, plan, inputs)
		if err != nil {
			fmt.Println(err)
			return
		}
		res, err := d.Execute(context.Background(), plan, inputs, dag.WithHooks(run.Hooks()...))
		if err != nil {
			fmt.Println(err)
			return
		}
		res = run.Results(res)
		fmt.Printf("run %d: %s; %d results\n", i+1, run.Summary(), len(res))
	}
	// Output:
	// run 1: 2 disabled, 6 miss; 8 results
	// run 2: 6 hit, 2 skipped; 6 results
}
