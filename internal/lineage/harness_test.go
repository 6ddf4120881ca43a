package lineage_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// The test pipeline has the shape of salesdag's: one node reads the
// input, the rest fan out from it.
//
//	source -> raw -> clean -> daily -> weekly
//	              \-> quality (raw, clean)   \-> trend

type pipelineOpts struct {
	failAt  string            // node that returns an error
	blockAt string            // node that waits for its context to end
	started chan string       // told the name of every node that starts
	during  func(node string) // called inside every node
}

func buildPipeline(t *testing.T, o pipelineOpts) *dag.DAG {
	t.Helper()
	g := dag.New()
	dag.Input[string](g, "source", "the input path")
	body := func(ctx context.Context, name string) error {
		if o.started != nil {
			o.started <- name
		}
		if o.during != nil {
			o.during(name)
		}
		switch name {
		case o.failAt:
			return fmt.Errorf("%s: line 12: unparsable amount %q", name, "1,2")
		case o.blockAt:
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	dag.Add1(g, dag.Spec{Name: "raw", Doc: "Read the input file."}, "source", func(ctx context.Context, src string) (int, error) {
		return len(src), body(ctx, "raw")
	})
	dag.Add1(g, dag.Spec{Name: "clean", Doc: "Drop bad rows."}, "raw", func(ctx context.Context, n int) (int, error) {
		return n, body(ctx, "clean")
	})
	dag.Add1(g, dag.Spec{Name: "daily"}, "clean", func(ctx context.Context, n int) (int, error) {
		return n, body(ctx, "daily")
	})
	dag.Add2(g, dag.Spec{Name: "quality"}, "raw", "clean", func(ctx context.Context, a, b int) (int, error) {
		return a - b, body(ctx, "quality")
	})
	dag.Add1(g, dag.Spec{Name: "weekly"}, "daily", func(ctx context.Context, n int) (int, error) {
		return n, body(ctx, "weekly")
	})
	dag.Add1(g, dag.Spec{Name: "trend"}, "daily", func(ctx context.Context, n int) (int, error) {
		return n, body(ctx, "trend")
	})
	d, err := g.Build()
	require.NoError(t, err)
	return d
}

type runResult struct {
	runErr  error
	tracker *lineage.Tracker
	emitted [][]byte // every event, in emission order
	elapsed time.Duration
}

// runPipeline runs the test pipeline with a tracker emitting to sink (and
// to a recorder), then finishes the root run as the app does: after the
// outputs are written.
func runPipeline(t *testing.T, ctx context.Context, sink lineage.Sink, o pipelineOpts, parent *lineage.ParentContext) runResult {
	t.Helper()
	rec := &lineagetest.Recorder{Next: sink}
	in, err := lineage.InputFileDataset(lineage.InputFile{Path: "testdata/sales.csv", Schema: []frame.Field{{Name: "amount", Type: "float64"}}})
	require.NoError(t, err)
	tr, err := lineage.NewTracker(lineage.TrackerConfig{
		Sink:        rec,
		Namespace:   "test-ns",
		Parent:      parent,
		Version:     "0.0.0-test",
		Inputs:      []lineage.InputDataset{in},
		Description: "Sales pipeline",
		OnNodeEvent: func(ne lineage.NodeEvent) {
			// The raw node's completion carries the measured input.
			if ne.Node.Name == "raw" && ne.Result != nil && ne.Result.Err == nil {
				m, err := lineage.InputFileDataset(lineage.InputFile{Path: "testdata/sales.csv", Schema: []frame.Field{{Name: "amount", Type: "float64"}},
					Measured: true, Rows: 3, Bytes: 64, Columns: map[string]lineage.ColumnMetrics{"amount": {NullCount: lineage.Int(0), Sum: lineage.Num(6)}}})
				if err == nil {
					ne.Event.Inputs = append(ne.Event.Inputs, m)
				}
			}
		},
	})
	require.NoError(t, err)
	d := buildPipeline(t, o)
	plan, err := d.Plan("weekly", "trend", "quality")
	require.NoError(t, err)
	start := time.Now()
	_, runErr := d.Execute(ctx, plan, map[string]any{"source": "sales.csv"}, dag.Workers(4), dag.WithHooks(tr.Hooks()))
	var outputs []lineage.OutputDataset
	if runErr == nil {
		for _, n := range []string{"weekly", "trend", "quality"} {
			out, err := lineage.OutputFileDataset(lineage.OutputFile{Path: "/out/" + n + ".csv", Schema: []frame.Field{{Name: "v", Type: "int64"}}, Rows: 1, Bytes: 4})
			require.NoError(t, err)
			outputs = append(outputs, out)
		}
	}
	require.NoError(t, tr.Finish(ctx, lineage.OutcomeOf(runErr), runErr, nil, outputs))
	return runResult{runErr: runErr, tracker: tr, emitted: rec.Events(), elapsed: time.Since(start)}
}

type evInfo struct {
	Type     string
	RunID    string
	Job      string
	ParentID string
	ParentJb string
	RootID   string
	RootJob  string
	ErrMsg   string
	JobType  string
	Inputs   int
	Outputs  int
	raw      map[string]any
}

func decodeEvent(t *testing.T, b []byte) evInfo {
	t.Helper()
	var ev struct {
		EventType string `json:"eventType"`
		Run       struct {
			RunID  string `json:"runId"`
			Facets struct {
				Parent *struct {
					Run  struct{ RunID string } `json:"run"`
					Job  struct{ Namespace, Name string }
					Root *struct {
						Run struct{ RunID string } `json:"run"`
						Job struct{ Namespace, Name string }
					}
				} `json:"parent"`
				ErrorMessage *struct{ Message string } `json:"errorMessage"`
			} `json:"facets"`
		} `json:"run"`
		Job struct {
			Name   string `json:"name"`
			Facets struct {
				JobType *struct{ JobType string } `json:"jobType"`
			} `json:"facets"`
		} `json:"job"`
		Inputs  []any `json:"inputs"`
		Outputs []any `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal(b, &ev))
	info := evInfo{Type: ev.EventType, RunID: ev.Run.RunID, Job: ev.Job.Name, Inputs: len(ev.Inputs), Outputs: len(ev.Outputs)}
	if p := ev.Run.Facets.Parent; p != nil {
		info.ParentID, info.ParentJb = p.Run.RunID, p.Job.Name
		if p.Root != nil {
			info.RootID, info.RootJob = p.Root.Run.RunID, p.Root.Job.Name
		}
	}
	if e := ev.Run.Facets.ErrorMessage; e != nil {
		info.ErrMsg = e.Message
	}
	if jt := ev.Job.Facets.JobType; jt != nil {
		info.JobType = jt.JobType
	}
	require.NoError(t, json.Unmarshal(b, &info.raw))
	return info
}

// checkSequence asserts the shape of one run's events: root START first,
// root terminal (want) last, each node run a START then one terminal event
// in between, every event valid. It returns the node runs' terminal types.
func checkSequence(t *testing.T, events [][]byte, want lineage.EventType, parent *lineage.ParentContext) map[string]string {
	t.Helper()
	v, err := lineagetest.New()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(events), 2)
	for i, b := range events {
		require.NoError(t, v.ValidateEvent(b), "event %d", i)
	}
	first, last := decodeEvent(t, events[0]), decodeEvent(t, events[len(events)-1])
	require.Equal(t, "START", first.Type)
	require.Equal(t, "sales_data_pipeline", first.Job)
	require.Equal(t, "DAG", first.JobType)
	require.Equal(t, string(want), last.Type)
	require.Equal(t, first.RunID, last.RunID)
	rootID := first.RunID
	wantRootID, wantRootJob := rootID, "sales_data_pipeline"
	if parent != nil {
		require.Equal(t, parent.Parent.RunID.String(), first.ParentID)
		require.Equal(t, parent.Parent.RunID.String(), last.ParentID)
		r := parent.Parent
		if parent.Root != nil {
			r = *parent.Root
		}
		wantRootID, wantRootJob = r.RunID.String(), r.Name
		require.Equal(t, wantRootID, first.RootID)
	} else {
		require.Empty(t, first.ParentID, "a run without orchestrator has no parent")
	}
	if want == lineage.EventFail {
		require.NotEmpty(t, last.ErrMsg)
	}
	type nodeRun struct{ job, start, end string }
	runs := map[string]*nodeRun{}
	for _, b := range events[1 : len(events)-1] {
		e := decodeEvent(t, b)
		require.NotEqual(t, rootID, e.RunID, "the root has exactly one START and one terminal event")
		require.True(t, strings.HasPrefix(e.Job, "sales_data_pipeline."), e.Job)
		require.Equal(t, "TASK", e.JobType)
		require.Equal(t, rootID, e.ParentID)
		require.Equal(t, "sales_data_pipeline", e.ParentJb)
		require.Equal(t, wantRootID, e.RootID)
		require.Equal(t, wantRootJob, e.RootJob)
		r := runs[e.RunID]
		if r == nil {
			require.Equal(t, "START", e.Type, "a node run starts with START")
			r = &nodeRun{job: e.Job, start: e.Type}
			runs[e.RunID] = r
			continue
		}
		require.Empty(t, r.end, "one terminal event per node run")
		require.Equal(t, r.job, e.Job)
		require.Contains(t, []string{"COMPLETE", "FAIL", "ABORT"}, e.Type)
		if e.Type == "FAIL" {
			require.NotEmpty(t, e.ErrMsg)
		}
		r.end = e.Type
	}
	out := map[string]string{}
	for _, r := range runs {
		require.NotEmpty(t, r.end, "node run %s never ended", r.job)
		node := strings.TrimPrefix(r.job, "sales_data_pipeline.")
		_, dup := out[node]
		require.False(t, dup, "node %s ran twice", node)
		out[node] = r.end
	}
	return out
}

func readOutbox(t *testing.T, path string) [][]byte {
	t.Helper()
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func asStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
