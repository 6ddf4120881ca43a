package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// lastEvent decodes the last event the recorder got.
func lastEvent(t *testing.T, rec *recorder) lineage.RunEvent {
	t.Helper()
	var ev lineage.RunEvent
	require.NoError(t, json.Unmarshal(rec.Events()[len(rec.Events())-1], &ev))
	return ev
}

// TestPanicAnywhereFailsTheRun injects a panic in each layer a run goes
// through (a node, every kind of hook, the lineage sink that the history
// is): each fails the run with a *dag.PanicError, a FAIL root event with
// the message, and writes nothing.
func TestPanicAnywhereFailsTheRun(t *testing.T) {
	atNode := func(name string) func(n *dag.Node) bool { return func(n *dag.Node) bool { return n.Name == name } }
	cases := []struct {
		name  string
		hooks dag.Hooks
		sink  func(ev *lineage.RunEvent) // called for every event; may panic
		want  string
	}{
		{name: "node function", hooks: dag.Hooks{Around: func(_ context.Context, n *dag.Node, _ []any, next dag.Compute) (any, error) {
			if atNode(pipeline.NodeDaily)(n) {
				var m map[string]int
				//lint:ignore SA5000 a real runtime panic inside the node's computation is the point
				m["x"]++
			}
			return next(context.Background())
		}}, want: "node daily_sales_summary: panic: assignment to entry in nil map"},
		{name: "BeforeNode hook", hooks: dag.Hooks{BeforeNode: func(_ context.Context, n *dag.Node) {
			if atNode(pipeline.NodeCleaned)(n) {
				panic("before node")
			}
		}}, want: "node cleaned_sales_data: panic: before node"},
		{name: "AfterNode hook", hooks: dag.Hooks{AfterNode: func(_ context.Context, n *dag.Node, _ dag.NodeResult) {
			if atNode(pipeline.NodeRaw)(n) {
				panic("after node")
			}
		}}, want: "node raw_sales_data: panic: after node"},
		{name: "BeforeGraph hook", hooks: dag.Hooks{BeforeGraph: func(context.Context, *dag.Plan) error { panic("before graph") }},
			want: "before-graph hook: panic: before graph"},
		{name: "AfterGraph hook", hooks: dag.Hooks{AfterGraph: func(context.Context, *dag.Plan, error) { panic("after graph") }},
			want: "after-graph hook: panic: after graph"},
		{name: "history sink", sink: func(ev *lineage.RunEvent) {
			if ev.EventType == lineage.EventComplete && strings.HasSuffix(ev.Job.Name, pipeline.NodeWeekly) {
				panic("history broke")
			}
		}, want: "recording lineage: panic: history broke"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Build()
			require.NoError(t, err)
			p, err := Prepare(d, nil)
			require.NoError(t, err)
			out := filepath.Join(t.TempDir(), "out")
			rec := &recorder{}
			var sink lineage.Sink = rec
			if tc.sink != nil {
				// The recorder first, as the CLI tees the emitter before the history.
				sink = lineage.Tee(rec, lineage.SinkFunc(func(ev *lineage.RunEvent) error { tc.sink(ev); return nil }))
			}
			var logs bytes.Buffer
			o := Options{OutputDir: out, Hooks: []dag.Hooks{tc.hooks}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
			res, err := execute(context.Background(), d, p, o, Lineage{Sink: sink, Namespace: "test", Version: "test"})
			require.Error(t, err)
			require.True(t, IsBug(err), "a panic is reported as a bug: %v", err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "goroutine", "no stack in the message")
			require.NotEmpty(t, PanicStack(err), "the stack is kept for the debug log")
			require.False(t, IsInterrupted(err))
			require.Empty(t, res.Written)
			entries, _ := os.ReadDir(out)
			require.Empty(t, entries, "no outputs may be written")
			ev := lastEvent(t, rec)
			require.Equal(t, lineage.EventFail, ev.EventType)
			require.Equal(t, "sales_data_pipeline", ev.Job.Name)
			require.NotNil(t, ev.Run.Facets.ErrorMessage)
			require.Contains(t, ev.Run.Facets.ErrorMessage.Message, tc.want)
			rec.validate(t)
		})
	}
}

// TestSidePanicsKeepTheRun: the input's statistics, the output facets and
// the progress display are side computations. When they fail (an error or a panic: a bug),
// the run completes with the same outputs, a warning asks to report the
// bug, and the input is described unmeasured rather than as 0 rows.
func TestSidePanicsKeepTheRun(t *testing.T) {
	clean, _, err := runSample(t, context.Background(), "", nil, Options{})
	require.NoError(t, err)

	cases := []struct {
		name     string
		profile  func(*pipeline.RawSales) (pipeline.InputProfile, error)
		facets   func(w any)
		progress func(done, total, rows int64)
	}{
		{name: "profile error", profile: func(*pipeline.RawSales) (pipeline.InputProfile, error) {
			return pipeline.InputProfile{}, &dag.PanicError{Value: "profile broke", Stack: []byte("stack of the profile")}
		}},
		{name: "profile panic", profile: func(*pipeline.RawSales) (pipeline.InputProfile, error) { panic("profile broke") }},
		{name: "output facets panic", facets: func(any) { panic("facets broke") }},
		{name: "progress panic", progress: func(int64, int64, int64) { panic("progress broke") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.profile != nil {
				inputProfile = tc.profile
				t.Cleanup(func() { inputProfile = (*pipeline.RawSales).Profile })
			}
			d, err := Build()
			require.NoError(t, err)
			p, err := Prepare(d, nil)
			require.NoError(t, err)
			rec := &recorder{}
			var logs bytes.Buffer
			o := Options{OutputDir: t.TempDir(), Progress: tc.progress, Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			lo := Lineage{Sink: rec, Namespace: "test", Version: "test"}
			if tc.facets != nil {
				lo.OutputFacets = func(w output.Written, _ *lineage.OutputDataset) { tc.facets(w) }
			}
			res, err := execute(context.Background(), d, p, o, lo)
			require.NoError(t, err)
			require.Len(t, res.Written, len(clean.Written))
			for i, w := range res.Written {
				want, err := os.ReadFile(clean.Written[i].Path)
				require.NoError(t, err)
				got, err := os.ReadFile(w.Path)
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "%s: same results", filepath.Base(w.Path))
			}
			ev := lastEvent(t, rec)
			require.Equal(t, lineage.EventComplete, ev.EventType)
			require.Contains(t, logs.String(), "level=WARN")
			require.Contains(t, logs.String(), "please report it")
			require.Contains(t, logs.String(), "level=DEBUG msg=\"stack trace\"")
			if tc.profile != nil {
				for _, b := range rec.Events() {
					require.NotContains(t, string(b), `"rowCount":0`, "an unmeasured input is not 0 rows")
				}
			}
			rec.validate(t)
		})
	}
}

// TestProfileRoundingEdgeRun is the crash of issue 9 at the app level:
// 100,000 amounts of 5.00 and one of 1.1 (1.1*100 is not exact). The run
// once panicked (several workers) or reported the input as 0 rows (one).
func TestProfileRoundingEdgeRun(t *testing.T) {
	var b strings.Builder
	b.WriteString("date,product_id,amount,customer_id\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "2024-01-%02d,P%d,5.00,C%d\n", i%28+1, i%50, i%1000)
	}
	b.WriteString("2024-02-01,P1,1.1,C1\n")
	in := writeFile(t, "edge.csv", b.String())
	for _, workers := range []int{1, 2} {
		var logs bytes.Buffer
		_, rec, err := runSample(t, context.Background(), in, nil, Options{Workers: workers, Log: slog.New(slog.NewTextHandler(&logs, nil))})
		require.NoError(t, err)
		require.NotContains(t, logs.String(), "panic")
		ev := lastEvent(t, rec)
		require.Equal(t, lineage.EventComplete, ev.EventType)
		raw, err := json.Marshal(ev.Inputs)
		require.NoError(t, err)
		require.Contains(t, string(raw), `"rowCount":100001`, "workers %d", workers)
	}
}

// TestInputChangedFailsTheRun: a file truncated during the run fails it
// with "input changed while it was being read", a FAIL event and no
// outputs. The progress callback (after each chunk) truncates the file;
// the reader's stat before and after sees it whatever was read by then.
func TestInputChangedFailsTheRun(t *testing.T) {
	var b strings.Builder
	b.WriteString("date,product_id,amount,customer_id\n")
	for i := range 200_000 {
		fmt.Fprintf(&b, "2024-01-%02d,P%d,%d.50,C%d\n", i%28+1, i%50, i%90+1, i%1000)
	}
	in := writeFile(t, "growing.csv", b.String())
	truncated := false
	out := filepath.Join(t.TempDir(), "out")
	_, rec, err := runSample(t, context.Background(), in, nil, Options{OutputDir: out, Progress: func(done, _, _ int64) {
		if !truncated {
			truncated = true
			require.NoError(t, os.Truncate(in, 4096))
		}
	}})
	require.True(t, truncated)
	require.ErrorIs(t, err, pipeline.ErrInputChanged)
	require.ErrorContains(t, err, "input changed while it was being read: "+in)
	require.False(t, IsBug(err))
	entries, _ := os.ReadDir(out)
	require.Empty(t, entries, "nothing written")
	ev := lastEvent(t, rec)
	require.Equal(t, lineage.EventFail, ev.EventType)
	require.Contains(t, ev.Run.Facets.ErrorMessage.Message, "input changed while it was being read")
	require.False(t, errors.Is(err, context.Canceled))
}

// TestSinkPanicAtTheFinalEvent: when the history panics on the root run's
// last event, the outputs are already in place and the other sinks have
// the event; the run still fails (exit 1 in the CLI), as a bug, so that
// a run the history could not record never passes silently.
func TestSinkPanicAtTheFinalEvent(t *testing.T) {
	d, err := Build()
	require.NoError(t, err)
	p, err := Prepare(d, nil)
	require.NoError(t, err)
	rec := &recorder{}
	sink := lineage.Tee(rec, lineage.SinkFunc(func(ev *lineage.RunEvent) error {
		if ev.EventType == lineage.EventComplete && ev.Job.Name == "sales_data_pipeline" {
			panic("history broke")
		}
		return nil
	}))
	res, err := execute(context.Background(), d, p, Options{OutputDir: t.TempDir()}, Lineage{Sink: sink, Namespace: "test", Version: "test"})
	require.True(t, IsBug(err), "%v", err)
	require.ErrorContains(t, err, "recording lineage: panic: history broke")
	require.NotEmpty(t, res.Written)
	require.Equal(t, lineage.EventComplete, lastEvent(t, rec).EventType)
}
