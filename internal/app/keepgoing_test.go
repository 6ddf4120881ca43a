package app

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// failNode makes node fail with err, as a bug in it would.
func failNode(node string, err error) dag.Hooks {
	return dag.Hooks{Around: func(ctx context.Context, n *dag.Node, _ []any, next dag.Compute) (any, error) {
		if n.Name == node {
			return nil, err
		}
		return next(ctx)
	}}
}

func TestKeepGoing(t *testing.T) {
	errBoom := errors.New("boom")
	loss := 1.0
	cases := []struct {
		name      string
		keepGoing bool
		hooks     []dag.Hooks
		checks    pipeline.CheckOptions
		written   []string
		skipped   map[string]string
		failed    string // the node whose run is FAIL
		checksErr bool   // exit 3 rather than 1
	}{
		{name: "node error", keepGoing: true, hooks: []dag.Hooks{failNode("enriched_daily_summary", errBoom)},
			written: []string{"daily_sales_summary.csv", "data_quality_metrics.json"},
			skipped: map[string]string{"weekly_aggregation": "upstream enriched_daily_summary failed",
				"trend_analysis": "upstream enriched_daily_summary failed", "top_performing_days": "upstream enriched_daily_summary failed"},
			failed: "enriched_daily_summary"},
		{name: "failed check", keepGoing: true, checks: pipeline.CheckOptions{MaxDataLoss: &loss},
			written: []string{"daily_sales_summary.csv", "enriched_daily_summary.csv", "weekly_aggregation.csv", "trend_analysis.json", "top_performing_days.json"},
			failed:  "data_quality_metrics", checksErr: true},
		{name: "fail fast without the flag", hooks: []dag.Hooks{failNode("enriched_daily_summary", errBoom)}},
		{name: "failed check without the flag", checks: pipeline.CheckOptions{MaxDataLoss: &loss}, checksErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chk, err := NewChecks(tc.checks, nil)
			require.NoError(t, err)
			dir := t.TempDir()
			res, rec, err := runSample(t, context.Background(), "", nil,
				Options{OutputDir: dir, KeepGoing: tc.keepGoing, Hooks: tc.hooks, Checks: chk, Workers: 2})
			require.Error(t, err)
			var fe *checks.FailedError
			require.Equal(t, tc.checksErr, errors.As(err, &fe), "%v", err)
			if !tc.checksErr {
				require.ErrorIs(t, err, errBoom)
			}
			rec.validate(t)

			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			var names []string
			for _, f := range files {
				names = append(names, filepath.Base(f))
			}
			sort.Strings(names)
			want := append([]string(nil), tc.written...)
			sort.Strings(want)
			require.Equal(t, want, names)
			if !tc.keepGoing {
				return
			}
			if tc.skipped == nil {
				require.Empty(t, res.Skipped)
			} else {
				require.Equal(t, tc.skipped, res.Skipped)
			}

			// Node runs: FAIL for the failed node, ABORT with the reason for
			// the skipped ones, COMPLETE for the rest; the root run fails
			// with the written outputs.
			ends := map[string]string{}
			var rootOutputs int
			for _, b := range rec.Events() {
				var ev struct {
					EventType string
					Job       struct{ Name string }
					Run       struct {
						Facets struct {
							ErrorMessage *struct{ Message string } `json:"errorMessage"`
						}
					}
					Outputs []json.RawMessage
				}
				require.NoError(t, json.Unmarshal(b, &ev))
				if ev.Job.Name == "sales_data_pipeline" {
					if ev.EventType == "FAIL" {
						rootOutputs = len(ev.Outputs)
					}
					continue
				}
				if ev.EventType == "START" {
					continue
				}
				node := ev.Job.Name[len("sales_data_pipeline."):]
				ends[node] = ev.EventType
				if ev.EventType == "ABORT" {
					require.Equal(t, "skipped: "+tc.skipped[node], ev.Run.Facets.ErrorMessage.Message)
				}
			}
			require.Equal(t, "FAIL", ends[tc.failed])
			for node := range tc.skipped {
				require.Equal(t, "ABORT", ends[node], node)
			}
			require.Len(t, ends, 8)
			require.Equal(t, len(tc.written), rootOutputs)
		})
	}
}

func TestKeepGoingErrorDoesNotLookLikeChecks(t *testing.T) {
	err := error(&KeepGoingError{Partial: &dag.PartialError{Failed: []*dag.NodeError{{Node: "a", Err: errors.New("boom")}}},
		Checks: []checks.Result{{Node: "b", Name: "c", Importance: checks.Fail}}})
	var fe *checks.FailedError
	require.False(t, errors.As(err, &fe), "a node that failed for another reason means exit 1")
	require.Contains(t, err.Error(), "node a: boom")
	require.Contains(t, err.Error(), "1 data-quality check failed")
}
