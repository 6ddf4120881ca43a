package cache

import (
	"context"
	"maps"
	"time"

	"github.com/salesdag/salesdag/internal/dag"
)

// Test support: store options and a reset that only tests need.

// NoSync skips fsync when writing entries. An entry torn by a crash is
// still detected (checksum) and treated as a miss, so this trades only
// durability, never correctness.
func NoSync() StoreOption { return func(s *Store) { s.sync = false } }

// WithClock sets the clock used for entry times and the racy-file rule.
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// forgetBuildVersion makes the next BuildVersion start again.
func forgetBuildVersion() {
	buildKey.Lock()
	buildKey.key = ""
	buildKey.Unlock()
}

// Loaded, Computed and Skipped name the prepared plan's nodes by what the
// run does with them (served from the cache, run, not needed), in plan
// order.
func (r *Run) Loaded() []string {
	return r.names(func(n string) bool { return r.plan.Has(n) && r.plan.IsGiven(n) })
}

func (r *Run) Computed() []string {
	return r.names(func(n string) bool { return r.plan.Has(n) && !r.plan.IsGiven(n) })
}

func (r *Run) Skipped() []string { return r.names(func(n string) bool { return !r.plan.Has(n) }) }

func (r *Run) names(keep func(string) bool) []string {
	var out []string
	for _, nr := range r.order {
		if !nr.node.IsInput && keep(nr.node.Name) {
			out = append(out, nr.node.Name)
		}
	}
	return out
}

// Execute runs the prepared plan as app.Run does: the loaded results are
// given, and the cache's hook comes before inner.
func (r *Run) Execute(ctx context.Context, d *dag.DAG, inputs map[string]any, inner ...dag.Hooks) (dag.Results, error) {
	in := maps.Clone(inputs)
	maps.Copy(in, r.Given())
	return d.Execute(ctx, r.Plan(), in, dag.WithHooks(append([]dag.Hooks{r.Hooks()}, inner...)...))
}

// Dir returns the cache directory.
func (s *Store) Dir() string { return s.dir }
