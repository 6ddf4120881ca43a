package metrics

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/summary"
)

func sampleSummary(status string, code int) *summary.Summary {
	start := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	return &summary.Summary{
		Status: status, ExitCode: code, StartedAt: start, EndedAt: start.Add(1500 * time.Millisecond), DurationSeconds: 1.5,
		Nodes:   []summary.Node{{Name: "a", Status: summary.NodeSucceeded, DurationSeconds: 0.25}, {Name: "b", Status: summary.NodeFailed}},
		Inputs:  []summary.Input{{Rows: 10, RowsKept: 8, RowsRejected: 1, Bytes: 300}},
		Outputs: []summary.Output{{Node: "a", Format: "csv", Rows: 4, Bytes: 40}},
		Quality: &summary.Quality{DataLossPercent: 20, DuplicateRows: 2},
		Checks:  []summary.Check{{Severity: "fail", Success: true}, {Severity: "fail", Success: false}, {Severity: "warn", Success: false}},
		Cache:   &summary.Cache{Hits: 3, Misses: 1},
		Lineage: summary.Lineage{Sent: 5, Queued: 2, Failed: 1},
	}
}

func TestRegistryFollowsConventions(t *testing.T) {
	reg := Registry(sampleSummary(summary.StatusFailed, 1), Process{CPUSeconds: 0.5, PeakRSSBytes: 1 << 20, HaveResources: true}, time.Time{})
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
	cases := []struct {
		name, want string
	}{
		{"salesdag_run_success", "salesdag_run_success 0\n"},
		{"salesdag_run_exit_code", "salesdag_run_exit_code 1\n"},
		{"salesdag_data_loss_ratio", "salesdag_data_loss_ratio 0.2\n"},
		{"salesdag_input_rows_rejected_total", "salesdag_input_rows_rejected_total 1\n"},
		{"salesdag_cache_hits_total", "salesdag_cache_hits_total 3\n"},
		{"salesdag_checks_total", "salesdag_checks_total{result=\"failed\",severity=\"fail\"} 1\nsalesdag_checks_total{result=\"failed\",severity=\"warn\"} 1\nsalesdag_checks_total{result=\"passed\",severity=\"fail\"} 1\nsalesdag_checks_total{result=\"passed\",severity=\"warn\"} 0\n"},
		{"salesdag_lineage_events_total", "salesdag_lineage_events_total{result=\"failed\"} 1\nsalesdag_lineage_events_total{result=\"queued\"} 2\nsalesdag_lineage_events_total{result=\"sent\"} 5\n"},
		{"salesdag_node_duration_seconds", "salesdag_node_duration_seconds{node=\"a\"} 0.25\nsalesdag_node_duration_seconds{node=\"b\"} 0\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := reg.Gather()
			require.NoError(t, err)
			var text strings.Builder
			for _, mf := range got {
				if mf.GetName() != tc.name {
					continue
				}
				for _, m := range mf.GetMetric() {
					var labels []string
					for _, l := range m.GetLabel() {
						labels = append(labels, l.GetName()+"=\""+l.GetValue()+"\"")
					}
					v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
					name := tc.name
					if len(labels) > 0 {
						name += "{" + strings.Join(labels, ",") + "}"
					}
					text.WriteString(name + " " + strconv.FormatFloat(v, 'f', -1, 64) + "\n")
				}
			}
			require.Equal(t, tc.want, text.String())
		})
	}
	// No success yet: no last-success gauge rather than a zero time.
	n, err := testutil.GatherAndCount(reg, LastSuccessName)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestLastSuccessSurvivesAFailedRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "salesdag.prom")
	ok := sampleSummary(summary.StatusSucceeded, 0)
	require.NoError(t, WriteFile(path, Registry(ok, Process{}, time.Time{})))
	last := PreviousLastSuccess(path)
	require.True(t, last.Equal(ok.EndedAt), "%s != %s", last, ok.EndedAt)

	failed := sampleSummary(summary.StatusFailed, 1)
	failed.EndedAt = ok.EndedAt.Add(time.Hour)
	require.NoError(t, WriteFile(path, Registry(failed, Process{}, PreviousLastSuccess(path))))
	require.True(t, PreviousLastSuccess(path).Equal(ok.EndedAt))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
}
