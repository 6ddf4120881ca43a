package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/lineage"
)

// The views in testdata/historyview/*.json are what internal/history's
// queries return for its fixture (its TestViews keeps the originals);
// rendered here, they must give the golden texts next to them.
func TestHistoryText(t *testing.T) {
	opts := textOptions{Loc: time.UTC, Cwd: "/work"}
	allChecks := opts
	allChecks.AllChecks = true
	cases := []struct {
		golden, view string
		o            textOptions
		render       func(*bytes.Buffer, []byte, textOptions) error
	}{
		{"runs.txt", "runs.json", opts, renderAs(writeRuns)},
		{"runs_none.txt", "runs_none.json", opts, renderAs(writeRuns)},
		{"show_complete.txt", "show_complete.json", opts, renderAs(writeDetail)},
		{"show_complete_all_checks.txt", "show_complete.json", allChecks, renderAs(writeDetail)},
		{"show_failed.txt", "show_failed.json", opts, renderAs(writeDetail)},
		{"show_running.txt", "show_running.json", opts, renderAs(writeDetail)},
		{"column_amount.txt", "column_amount.json", opts, renderAs(writeColumn)},
		{"column_weekly_total_root.txt", "column_weekly_total_root.json", opts, renderAs(writeColumn)},
		{"column_weekly_total_nodes.txt", "column_weekly_total_nodes.json", opts, renderAs(writeColumn)},
		{"node_daily.txt", "node_daily.json", opts, renderAs(writeNode)},
		{"node_daily_nodes.txt", "node_daily_nodes.json", opts, renderAs(writeNode)},
		{"node_weekly_root.txt", "node_weekly_root.json", opts, renderAs(writeNode)},
		{"node_source.txt", "node_source.json", opts, renderAs(writeNode)},
		{"node_daily_no_dag.txt", "node_daily_no_dag.json", opts, renderAs(writeNode)},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			view, err := os.ReadFile(filepath.Join("testdata", "historyview", tc.view))
			require.NoError(t, err)
			var b bytes.Buffer
			require.NoError(t, tc.render(&b, view, tc.o))
			want, err := os.ReadFile(filepath.Join("testdata", "historyview", tc.golden))
			require.NoError(t, err)
			require.Equal(t, string(want), b.String())
		})
	}
}

// renderAs decodes a view into the type write takes and writes it.
func renderAs[T any](write func(w io.Writer, v T, o textOptions) error) func(*bytes.Buffer, []byte, textOptions) error {
	return func(b *bytes.Buffer, data []byte, o textOptions) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		return write(b, v, o)
	}
}

func TestHistoryTextNodeNeverRan(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeNode(&b, &history.NodeView{Node: "weekly", DependsOn: []string{"daily"}}, textOptions{Loc: time.UTC}))
	require.True(t, strings.Contains(b.String(), "no recorded run ran it"), b.String())
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0: "-", 500: "500ns", 1500: "1.50µs", 12345 * time.Microsecond: "12.3ms", 123456 * time.Microsecond: "123ms",
		1234 * time.Millisecond: "1.23s", 75 * time.Second: "1m15s",
	}
	for d, want := range cases {
		require.Equal(t, want, formatDuration(d), d.String())
	}
	for n, want := range map[int64]string{10: "10 B", 2048: "2.0 KiB", 3 << 20: "3.0 MiB", 5 << 30: "5.0 GiB"} {
		require.Equal(t, want, bytesText(&n))
	}
	require.Equal(t, "-", bytesText(nil))
	require.Equal(t, "abc ...", oneLine("abc\ndef", 50))
	require.Equal(t, "abcd...", oneLine("abcdefghij", 7))
	require.Equal(t, "a.csv, b.csv", textOptions{}.outputs([]string{"/x/a.csv", "/y/b.csv"}))
	require.Equal(t, "-", transformationText(nil))
	require.Equal(t, "DIRECT/AGGREGATION: count distinct (masked)",
		transformationText([]lineage.Transformation{{Type: "DIRECT", Subtype: "AGGREGATION", Description: "count distinct", Masking: true}}))
}

func TestSplitHops(t *testing.T) {
	nodes := map[string]bool{"raw_sales_data": true, "daily_sales_summary": true, "cleaned_sales_data": true}
	cases := []struct {
		desc string
		want []string
	}{
		{"", nil},
		{"sum per day", []string{"sum per day"}},
		{"raw_sales_data: parsed -> daily_sales_summary: sum of amount per date", []string{"raw_sales_data: parsed", "daily_sales_summary: sum of amount per date"}},
		{"raw_sales_data: set aside (a; b); cleaned_sales_data: amount > 0", []string{"raw_sales_data: set aside (a; b)", "cleaned_sales_data: amount > 0"}},
		{"a -> b: not a node; still one", []string{"a -> b: not a node; still one"}},
		{"raw_sales_data; cleaned_sales_data: dropped", []string{"raw_sales_data", "cleaned_sales_data: dropped"}},
		{"raw_sales_data; cleaned_sales_data", []string{"raw_sales_data", "cleaned_sales_data"}},
		{"x; raw_sales_datum: y", []string{"x; raw_sales_datum: y"}},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, splitHops(tc.desc, nodes), tc.desc)
	}
}
