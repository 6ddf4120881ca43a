package cache_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// salesEnv runs the real sales graph on a generated file through a cache.
type salesEnv struct {
	t     testing.TB
	d     *dag.DAG
	dir   string
	input string
}

func newSalesEnv(t testing.TB, rows int) *salesEnv {
	t.Helper()
	g := dag.New()
	pipeline.Register(g)
	d, err := g.Build()
	require.NoError(t, err)
	input := filepath.Join(t.TempDir(), "sales.csv")
	f, err := os.Create(input)
	require.NoError(t, err)
	require.NoError(t, pipeline.Generate(f, rows, 42))
	require.NoError(t, f.Close())
	return &salesEnv{t: t, d: d, dir: filepath.Join(t.TempDir(), "cache"), input: input}
}

type salesRun struct {
	res      dag.Results
	run      *cache.Run
	computed []string // nodes whose function really ran
	err      error
}

func (e *salesEnv) run(popts pipeline.Options, inner ...dag.Hooks) salesRun {
	e.t.Helper()
	store, err := cache.Open(e.dir, cache.NoSync())
	require.NoError(e.t, err)
	opts, err := app.CacheOptions()
	require.NoError(e.t, err)
	c := cache.New(store, opts)
	src, err := pipeline.FileSource(e.input)
	require.NoError(e.t, err)
	inputs := map[string]any{pipeline.InputSource: src, pipeline.InputOptions: popts}
	p, err := e.d.Plan(pipeline.DefaultOutputs...)
	require.NoError(e.t, err)
	r, err := c.Prepare(context.Background(), e.d, p, inputs)
	require.NoError(e.t, err)
	var mu sync.Mutex
	var computed []string
	// The innermost Around runs only when the node's function runs.
	spy := dag.Hooks{Around: func(ctx context.Context, n *dag.Node, _ []any, next dag.Compute) (any, error) {
		mu.Lock()
		computed = append(computed, n.Name)
		mu.Unlock()
		return next(ctx)
	}}
	res, err := r.Execute(context.Background(), e.d, inputs, append(inner, spy)...)
	sort.Strings(computed)
	return salesRun{res: res, run: r, computed: computed, err: err}
}

// encoded encodes a result with the sales codec of its type.
func encoded(t testing.TB, res dag.Results, node string) []byte {
	t.Helper()
	opts, err := app.CacheOptions()
	require.NoError(t, err)
	v := res[node]
	for _, c := range opts.Codecs {
		if c.Type == reflect.TypeOf(v) {
			b, err := c.Encode(v)
			require.NoError(t, err, node)
			return b
		}
	}
	t.Fatalf("no codec for %s", node)
	return nil
}

func TestSalesPipelineThroughTheCache(t *testing.T) {
	e := newSalesEnv(t, 30_000)
	first := e.run(pipeline.Options{})
	require.NoError(t, first.err)
	all := []string{pipeline.NodeCleaned, pipeline.NodeDaily, pipeline.NodeQuality, pipeline.NodeEnriched,
		pipeline.NodeRaw, pipeline.NodeTop, pipeline.NodeTrend, pipeline.NodeWeekly}
	require.Equal(t, all, first.computed)
	st, _ := first.run.State(pipeline.NodeRaw)
	require.Equal(t, cache.StatusDisabled, st.Status, "row-level tables are not cached by default")
	for _, n := range pipeline.DefaultOutputs {
		st, _ := first.run.State(n)
		require.Equal(t, cache.StatusMiss, st.Status, n)
		require.True(t, st.Stored, n)
	}

	tests := []struct {
		name     string
		opts     pipeline.Options
		computed []string
	}{
		{"unchanged: nothing runs", pipeline.Options{}, nil},
		{"other worker count: still nothing", pipeline.Options{Workers: 1}, nil},
		{"other bad-row policy: everything", pipeline.Options{OnBadRows: pipeline.SkipBadRows}, all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.opts)
			require.NoError(t, r.err)
			require.Equal(t, tc.computed, r.computed)
			for _, n := range pipeline.DefaultOutputs {
				require.Contains(t, r.res, n)
				if len(tc.computed) == 0 {
					require.Equal(t, encoded(t, first.res, n), encoded(t, r.res, n), "%s served from the cache equals the computed one", n)
				}
			}
			if len(tc.computed) == 0 {
				require.Equal(t, []string{pipeline.NodeRaw, pipeline.NodeCleaned}, r.run.Skipped())
				require.NotContains(t, r.res, pipeline.NodeRaw)
			}
		})
	}
}

func TestSalesPipelineResumesAfterFailure(t *testing.T) {
	e := newSalesEnv(t, 20_000)
	failTrend := dag.Hooks{Around: func(ctx context.Context, n *dag.Node, _ []any, next dag.Compute) (any, error) {
		if n.Name == pipeline.NodeTrend {
			return nil, errors.New("injected failure")
		}
		return next(ctx)
	}}
	failed := e.run(pipeline.Options{}, failTrend)
	var ne *dag.NodeError
	require.ErrorAs(t, failed.err, &ne)
	require.Equal(t, pipeline.NodeTrend, ne.Node)

	again := e.run(pipeline.Options{})
	require.NoError(t, again.err)
	require.Contains(t, again.computed, pipeline.NodeTrend)
	// Everything stored before the failure is reused. Which nodes finished
	// depends on scheduling (the failure cancels running nodes), so the
	// test reads that from the failed run.
	stored := map[string]bool{}
	for _, st := range failed.run.States() {
		if st.Stored {
			stored[st.Node] = true
			require.NotContains(t, again.computed, st.Node)
		}
	}
	require.True(t, stored[pipeline.NodeEnriched], "trend's input finished before trend ran")
	if stored[pipeline.NodeQuality] && stored[pipeline.NodeDaily] {
		// Every consumer of the row-level tables hits: the file is not
		// even parsed again.
		require.NotContains(t, again.computed, pipeline.NodeRaw)
		require.NotContains(t, again.computed, pipeline.NodeCleaned)
	}
	for _, n := range pipeline.DefaultOutputs {
		require.Contains(t, again.res, n)
	}
	fresh := newSalesEnv(t, 20_000).run(pipeline.Options{})
	require.NoError(t, fresh.err)
	require.Equal(t, encoded(t, fresh.res, pipeline.NodeTrend), encoded(t, again.res, pipeline.NodeTrend))
}

func TestSalesPipelineInputChange(t *testing.T) {
	e := newSalesEnv(t, 5_000)
	require.NoError(t, e.run(pipeline.Options{}).err)
	st, err := os.Stat(e.input)
	require.NoError(t, err)
	b, err := os.ReadFile(e.input)
	require.NoError(t, err)
	// Same size, one digit of one amount changed, mtime restored.
	idx := 0
	for j := len(b) - 40; j < len(b); j++ {
		if b[j] == '.' {
			idx = j + 1
			break
		}
	}
	require.NotZero(t, idx)
	if b[idx] == '9' {
		b[idx] = '8'
	} else {
		b[idx]++
	}
	require.NoError(t, os.WriteFile(e.input, b, 0o644))
	require.NoError(t, os.Chtimes(e.input, st.ModTime(), st.ModTime()))
	r := e.run(pipeline.Options{})
	require.NoError(t, r.err)
	require.Contains(t, r.computed, pipeline.NodeRaw, "the changed file is read again")
}
