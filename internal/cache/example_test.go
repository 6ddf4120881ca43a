package cache_test

import (
	"context"
	"fmt"
	"maps"
	"os"

	"github.com/salesdag/salesdag/internal/app"
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
		opts, _ := app.CacheOptions() // the sales codecs and policies
		c := cache.New(store, opts)
		run, err := c.Prepare(context.Background(), d, plan, inputs)
		if err != nil {
			fmt.Println(err)
			return
		}
		// The loaded results are given to the plan with the inputs; the
		// cache's hook stores what runs.
		withGiven := maps.Clone(inputs)
		maps.Copy(withGiven, run.Given())
		res, err := d.Execute(context.Background(), run.Plan(), withGiven, dag.WithHooks(run.Hooks()))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("run %d: %s; %d results\n", i+1, run.Summary(), len(res))
	}
	// Output:
	// run 1: 2 disabled, 6 miss; 8 results
	// run 2: 6 hit, 2 skipped; 6 results
}
