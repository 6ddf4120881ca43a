package lineage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

func httpEmitter(t *testing.T, url string, opts lineage.EmitterOptions) *lineage.Emitter {
	t.Helper()
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: url, APIKey: secretKey, Timeout: opts.Grace})
	require.NoError(t, err)
	opts.Transport = tr
	if opts.OutboxDir == "" {
		opts.OutboxDir = t.TempDir()
	}
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = 5 * time.Millisecond
		opts.MaxBackoff = 50 * time.Millisecond
	}
	return lineage.NewEmitter(opts)
}

func TestTrackerSequences(t *testing.T) {
	orch := &lineage.ParentContext{
		Parent: lineage.RunRef{Namespace: "airflow", Name: "sales.run_salesdag", RunID: uuid.MustParse(pid)},
		Root:   &lineage.RunRef{Namespace: "airflow", Name: "sales", RunID: uuid.MustParse(rid)},
	}
	orchNoRoot := &lineage.ParentContext{Parent: orch.Parent}
	cases := []struct {
		name      string
		opts      pipelineOpts
		parent    *lineage.ParentContext
		cancel    bool // cancel the run once the blocking node started
		want      lineage.EventType
		wantNodes map[string]string
	}{
		{name: "success", want: lineage.EventComplete,
			wantNodes: map[string]string{"raw": "COMPLETE", "clean": "COMPLETE", "daily": "COMPLETE", "quality": "COMPLETE", "weekly": "COMPLETE", "trend": "COMPLETE"}},
		{name: "success under an orchestrator", parent: orch, want: lineage.EventComplete,
			wantNodes: map[string]string{"raw": "COMPLETE", "clean": "COMPLETE", "daily": "COMPLETE", "quality": "COMPLETE", "weekly": "COMPLETE", "trend": "COMPLETE"}},
		{name: "success under an orchestrator without root", parent: orchNoRoot, want: lineage.EventComplete,
			wantNodes: map[string]string{"raw": "COMPLETE", "clean": "COMPLETE", "daily": "COMPLETE", "quality": "COMPLETE", "weekly": "COMPLETE", "trend": "COMPLETE"}},
		{name: "node failure", opts: pipelineOpts{failAt: "clean"}, want: lineage.EventFail,
			wantNodes: map[string]string{"raw": "COMPLETE", "clean": "FAIL"}},
		{name: "failure under an orchestrator", opts: pipelineOpts{failAt: "daily"}, parent: orch, want: lineage.EventFail,
			wantNodes: map[string]string{"raw": "COMPLETE", "clean": "COMPLETE", "daily": "FAIL", "quality": "COMPLETE"}},
		{name: "abort", opts: pipelineOpts{blockAt: "clean"}, cancel: true, want: lineage.EventAbort,
			wantNodes: map[string]string{"raw": "COMPLETE", "clean": "ABORT"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := lineagetest.NewServer(t, nil)
			em := httpEmitter(t, srv.URL, lineage.EmitterOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := tc.opts
			if tc.cancel {
				o.started = make(chan string, 16)
				go func() {
					for n := range o.started {
						if n == o.blockAt {
							cancel() // as SIGINT does
						}
					}
				}()
			}
			res := runPipeline(t, ctx, em, o, tc.parent)
			if o.started != nil {
				close(o.started)
			}
			rep := em.Close(context.Background())
			require.True(t, rep.OK(), rep.Warning())
			require.Empty(t, rep.Warning())
			require.Equal(t, len(res.emitted), rep.Emitted)

			switch tc.want {
			case lineage.EventComplete:
				require.NoError(t, res.runErr)
			case lineage.EventFail:
				var ne *dag.NodeError
				require.ErrorAs(t, res.runErr, &ne)
			case lineage.EventAbort:
				require.ErrorIs(t, res.runErr, context.Canceled)
			}
			require.Empty(t, srv.Invalid())
			delivered := srv.Events()
			require.Equal(t, asStrings(res.emitted), asStrings(delivered), "delivered in emission order")
			nodes := checkSequence(t, delivered, tc.want, tc.parent)
			require.Equal(t, tc.wantNodes, nodes)
			require.NoError(t, res.tracker.Err())

			last := decodeEvent(t, delivered[len(delivered)-1])
			require.Equal(t, 1, last.Inputs)
			if tc.want == lineage.EventComplete {
				require.Equal(t, 3, last.Outputs)
			} else {
				require.Equal(t, 0, last.Outputs)
			}
			if tc.want == lineage.EventFail {
				require.Contains(t, last.ErrMsg, "unparsable amount")
			}
			// The raw node's COMPLETE carries the measured input.
			for _, b := range delivered {
				e := decodeEvent(t, b)
				if e.Job == "sales_data_pipeline.raw" && e.Type == "COMPLETE" {
					require.Equal(t, 1, e.Inputs)
				}
			}
			_, ok := res.tracker.NodeRunID("raw")
			require.True(t, ok)
			_, ok = res.tracker.NodeRunID("nope")
			require.False(t, ok)
		})
	}
}

func TestTrackerFinishWithoutGraph(t *testing.T) {
	// A run that fails before its graph starts (missing input) still gets
	// START and FAIL.
	rec := &lineagetest.Recorder{}
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tr, err := lineage.NewTracker(lineage.TrackerConfig{Sink: rec, Now: func() time.Time { return fixed }})
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), tr.RunID().Version())
	require.Equal(t, "default", tr.Root().Namespace)
	require.NoError(t, tr.Finish(context.Background(), lineage.Failed, nil, nil, nil))
	require.ErrorContains(t, tr.Finish(context.Background(), lineage.Completed, nil, nil, nil), "already finished")
	evs := rec.Events()
	require.Len(t, evs, 2)
	checkSequence(t, evs, lineage.EventFail, nil)
	e := decodeEvent(t, evs[1])
	require.Equal(t, "the run failed", e.ErrMsg)
	require.Equal(t, "2025-01-02T03:04:05Z", e.raw["eventTime"])
}

func TestTrackerClosesOpenNodeRuns(t *testing.T) {
	// Driving the hooks directly: a node that started but never reported
	// back is aborted by Finish; an AfterNode without BeforeNode still
	// gives its run a START. The hooks are hammered from many goroutines.
	rec := &lineagetest.Recorder{}
	tr, err := lineage.NewTracker(lineage.TrackerConfig{Sink: rec, JobName: "sales_data_pipeline"})
	require.NoError(t, err)
	h := tr.Hooks()
	ctx := context.Background()
	require.NoError(t, h.BeforeGraph(ctx, nil))
	require.NoError(t, h.BeforeGraph(ctx, nil), "START only once")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := &dag.Node{Name: "n" + string(rune('a'+i%26)) + string(rune('a'+i/26))}
			h.BeforeNode(ctx, n)
			h.AfterNode(ctx, n, dag.NodeResult{Start: time.Now()})
		}()
	}
	wg.Wait()
	h.BeforeNode(ctx, &dag.Node{Name: "hanging"})
	h.AfterNode(ctx, &dag.Node{Name: "orphan"}, dag.NodeResult{Err: errors.New("boom")})
	require.NoError(t, tr.Finish(ctx, lineage.Aborted, errors.New("interrupted by SIGTERM"), nil, nil))
	evs := rec.Events()
	nodes := checkSequence(t, evs, lineage.EventAbort, nil)
	require.Len(t, nodes, 52)
	require.Equal(t, "ABORT", nodes["hanging"])
	require.Equal(t, "FAIL", nodes["orphan"])
	last := decodeEvent(t, evs[len(evs)-1])
	require.Equal(t, "interrupted by SIGTERM", last.ErrMsg)
}

func TestTrackerKeepsEmitErrorsAndSurvivesPanickyEnricher(t *testing.T) {
	_, err := lineage.NewTracker(lineage.TrackerConfig{})
	require.Error(t, err)

	em := lineage.NewEmitter(lineage.EmitterOptions{})
	em.Close(context.Background())
	tr, err := lineage.NewTracker(lineage.TrackerConfig{
		Sink:        em,
		OnNodeEvent: func(lineage.NodeEvent) { panic("enricher bug") },
	})
	require.NoError(t, err)
	h := tr.Hooks()
	require.NoError(t, h.BeforeGraph(context.Background(), nil), "lineage never fails the graph")
	h.BeforeNode(context.Background(), &dag.Node{Name: "a"})
	err = tr.Finish(context.Background(), lineage.Completed, nil, nil, nil)
	require.ErrorIs(t, err, lineage.ErrClosed)
	require.ErrorIs(t, tr.Err(), lineage.ErrClosed)

	rec := &lineagetest.Recorder{}
	tr, err = lineage.NewTracker(lineage.TrackerConfig{Sink: rec, OnNodeEvent: func(lineage.NodeEvent) { panic("enricher bug") }})
	require.NoError(t, err)
	tr.Hooks().BeforeNode(context.Background(), &dag.Node{Name: "a"})
	require.ErrorContains(t, tr.Err(), "panicked")
	require.Len(t, rec.Events(), 1, "the event still goes out")
}

func TestOutcomes(t *testing.T) {
	require.Equal(t, lineage.Completed, lineage.OutcomeOf(nil))
	require.Equal(t, lineage.Aborted, lineage.OutcomeOf(&dag.NodeError{Node: "x", Err: context.Canceled}))
	require.Equal(t, lineage.Failed, lineage.OutcomeOf(errors.New("x")))
	require.Equal(t, "COMPLETE", lineage.Completed.String())
	require.Equal(t, "FAIL", lineage.Failed.String())
	require.Equal(t, "ABORT", lineage.Aborted.String())
}

func TestTee(t *testing.T) {
	a, b := &lineagetest.Recorder{}, &lineagetest.Recorder{}
	bad := lineage.SinkFunc(func(*lineage.RunEvent) error { return errors.New("full") })
	s := lineage.Tee(a, nil, bad, b)
	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "n", Name: "j"})
	require.ErrorContains(t, s.Emit(ev), "full")
	require.Len(t, a.Events(), 1)
	require.Len(t, b.Events(), 1)
}

// TestTeeSinkPanic: a sink that panics (the history) once kept the event
// from the sinks after it; every sink gets it, then the panic goes on to
// the caller, as a *dag.PanicError.
func TestTeeSinkPanic(t *testing.T) {
	a, b := &lineagetest.Recorder{}, &lineagetest.Recorder{}
	boom := lineage.SinkFunc(func(*lineage.RunEvent) error { panic("history broke") })
	s := lineage.Tee(a, boom, b)
	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "n", Name: "j"})
	var got any
	func() {
		defer func() { got = recover() }()
		_ = s.Emit(ev)
	}()
	pe, ok := got.(*dag.PanicError)
	require.True(t, ok, "got %T", got)
	require.Equal(t, "history broke", pe.Value)
	require.Len(t, a.Events(), 1)
	require.Len(t, b.Events(), 1, "the sink after the one that panicked has the event")
}

func TestTrackerSetInputs(t *testing.T) {
	rec := &lineagetest.Recorder{}
	tr, err := lineage.NewTracker(lineage.TrackerConfig{Sink: rec})
	require.NoError(t, err)
	in, err := lineage.InputFileDataset(lineage.InputFile{Path: "/data/a.csv"})
	require.NoError(t, err)
	measured, err := lineage.InputFileDataset(lineage.InputFile{Path: "/data/a.csv", Measured: true, Rows: 1, Bytes: 2})
	require.NoError(t, err)
	tr.SetInputs(in)
	tr.Start(context.Background())
	tr.SetInputs(measured)
	require.NoError(t, tr.Finish(context.Background(), lineage.Completed, nil, nil, nil))
	evs := rec.Events()
	checkSequence(t, evs, lineage.EventComplete, nil)
	require.NotContains(t, string(evs[0]), "inputStatistics", "START has the input as known then")
	require.Contains(t, string(evs[1]), "inputStatistics", "the terminal event has the measured input")
}
