package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

const fixtureDir = "../../testdata/fixtures/sample"

// recorder is a lineage sink that keeps every event as JSON.
type recorder struct{ lineagetest.Recorder }

type evSummary struct {
	Type string
	Job  string
}

func (r *recorder) summary(t *testing.T) []evSummary {
	t.Helper()
	var out []evSummary
	for _, b := range r.Events() {
		var ev struct {
			EventType string                `json:"eventType"`
			Job       struct{ Name string } `json:"job"`
		}
		require.NoError(t, json.Unmarshal(b, &ev))
		out = append(out, evSummary{ev.EventType, ev.Job.Name})
	}
	return out
}

func (r *recorder) validate(t *testing.T) {
	t.Helper()
	require.NotEmpty(t, r.Events())
	for _, b := range r.Events() {
		lineagetest.Validate(t, b)
	}
}

func runSample(t *testing.T, ctx context.Context, input string, outputs []string, o Options) (*RunResult, *recorder, error) {
	t.Helper()
	d, err := Build()
	require.NoError(t, err)
	p, err := Prepare(d, outputs)
	require.NoError(t, err)
	if o.OutputDir == "" {
		o.OutputDir = t.TempDir()
	}
	o.Input = input
	rec := &recorder{}
	res, err := execute(ctx, d, p, o, Lineage{Sink: rec, Namespace: "test", Version: "test"})
	return res, rec, err
}

// execute is Run on a given graph and plan, with lo's events.
func execute(ctx context.Context, d *dag.DAG, p *dag.Plan, o Options, lo Lineage) (*RunResult, error) {
	o.DAG, o.Plan, o.Lineage = d, p, lo
	return Run(ctx, o)
}

// isoDates rewrites the reference's "2024-01-15 00:00:00" JSON dates to
// our ISO form (a documented reference quirk).
var refDate = regexp.MustCompile(`"(\d{4}-\d{2}-\d{2}) 00:00:00"`)

func TestGoldenSample(t *testing.T) {
	for _, workers := range []int{1, 4} {
		dir := t.TempDir()
		res, rec, err := runSample(t, context.Background(), "", nil, Options{OutputDir: dir, Workers: workers})
		require.NoError(t, err)
		require.Len(t, res.Written, 6)
		require.EqualValues(t, 45, res.RowsRead)
		require.EqualValues(t, 43, res.RowsKept)
		rec.validate(t)

		expected, err := filepath.Glob(filepath.Join(fixtureDir, "expected", "*"))
		require.NoError(t, err)
		require.Len(t, expected, 6)
		for _, exp := range expected {
			want, err := os.ReadFile(exp)
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(dir, filepath.Base(exp)))
			require.NoError(t, err, "missing output %s", filepath.Base(exp))
			if strings.HasSuffix(exp, ".csv") {
				require.Equal(t, string(want), string(got), "%s must match byte for byte", filepath.Base(exp))
				continue
			}
			require.JSONEq(t, refDate.ReplaceAllString(string(want), `"$1"`), string(got), filepath.Base(exp))
		}
	}
}

func TestGoldenSampleFromFileEqualsEmbedded(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	_, _, err := runSample(t, context.Background(), "", nil, Options{OutputDir: a})
	require.NoError(t, err)
	_, _, err = runSample(t, context.Background(), filepath.Join(fixtureDir, "sales_raw.csv"), nil, Options{OutputDir: b})
	require.NoError(t, err)
	for _, name := range []string{"daily_sales_summary.csv", "trend_analysis.json", "data_quality_metrics.json"} {
		x, err := os.ReadFile(filepath.Join(a, name))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, name))
		require.NoError(t, err)
		require.Equal(t, x, y, name)
	}
}

func TestOnlyAncestorsRun(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	hook := dag.Hooks{BeforeNode: func(_ context.Context, n *dag.Node) {
		mu.Lock()
		ran = append(ran, n.Name)
		mu.Unlock()
	}}
	dir := t.TempDir()
	res, rec, err := runSample(t, context.Background(), "", []string{pipeline.NodeTrend}, Options{OutputDir: dir, Hooks: []dag.Hooks{hook}})
	require.NoError(t, err)
	sort.Strings(ran)
	require.Equal(t, []string{pipeline.NodeCleaned, pipeline.NodeDaily, pipeline.NodeEnriched, pipeline.NodeRaw, pipeline.NodeTrend}, ran)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "trend_analysis.json", entries[0].Name())
	require.Len(t, res.Written, 1)
	// One root run and five node runs, each START + COMPLETE.
	require.Len(t, rec.Events(), 12)
	rec.validate(t)
}

func TestLineageSequenceOnSuccess(t *testing.T) {
	_, rec, err := runSample(t, context.Background(), "", nil, Options{})
	require.NoError(t, err)
	rec.validate(t)
	s := rec.summary(t)
	require.Equal(t, evSummary{"START", "sales_data_pipeline"}, s[0])
	require.Equal(t, evSummary{"COMPLETE", "sales_data_pipeline"}, s[len(s)-1])
	nodes := map[string][]string{}
	for _, e := range s[1 : len(s)-1] {
		nodes[e.Job] = append(nodes[e.Job], e.Type)
	}
	require.Len(t, nodes, 8)
	for job, types := range nodes {
		require.Equal(t, []string{"START", "COMPLETE"}, types, job)
		require.True(t, strings.HasPrefix(job, "sales_data_pipeline."))
	}
	// The root COMPLETE carries the measured input and every output.
	var last lineage.RunEvent
	require.NoError(t, json.Unmarshal(rec.Events()[len(rec.Events())-1], &last))
	require.Len(t, last.Inputs, 1)
	require.Len(t, last.Outputs, 6)
	require.NotNil(t, last.Inputs[0].InputFacets.InputStatistics)
	require.NotNil(t, last.Inputs[0].InputFacets.DataQualityMetrics)
	for _, o := range last.Outputs {
		require.Equal(t, "file", o.Namespace)
		require.True(t, filepath.IsAbs(o.Name))
		require.NotNil(t, o.OutputFacets.OutputStatistics)
		require.NotNil(t, o.Facets.Schema)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestBadInputFailsWithFailEvent(t *testing.T) {
	cases := []struct {
		name    string
		input   func(t *testing.T) string
		wantErr string
		started bool // node runs happened
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.csv") }, "does not exist", false},
		{"empty file", func(t *testing.T) string { return writeFile(t, "empty.csv", "") }, "empty", false},
		{"missing column", func(t *testing.T) string {
			return writeFile(t, "cols.csv", "date,product_id,customer_id\n2024-01-01,P1,C1\n")
		}, "amount", true},
		{"bad row", func(t *testing.T) string {
			return writeFile(t, "bad.csv", "date,product_id,amount,customer_id\n2024-01-01,P1,10,C1\n2024-01-02,P1,abc,C2\n")
		}, "bad.csv:3", true},
		{"header only", func(t *testing.T) string {
			return writeFile(t, "header.csv", "date,product_id,amount,customer_id\n")
		}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			res, rec, err := runSample(t, context.Background(), tc.input(t), nil, Options{OutputDir: out})
			require.Error(t, err)
			require.NotContains(t, err.Error(), "\n")
			if tc.wantErr != "" {
				require.Contains(t, err.Error(), tc.wantErr)
			}
			require.Empty(t, res.Written)
			entries, _ := os.ReadDir(out)
			require.Empty(t, entries, "no outputs may be written")
			rec.validate(t)
			s := rec.summary(t)
			require.Equal(t, evSummary{"START", "sales_data_pipeline"}, s[0])
			require.Equal(t, evSummary{"FAIL", "sales_data_pipeline"}, s[len(s)-1])
			require.Equal(t, tc.started, len(s) > 2)
			var last lineage.RunEvent
			require.NoError(t, json.Unmarshal(rec.Events()[len(rec.Events())-1], &last))
			require.Len(t, last.Inputs, 1, "the FAIL event names the input")
			require.Equal(t, "file", last.Inputs[0].Namespace)
			require.NotNil(t, last.Run.Facets.ErrorMessage)
			require.Equal(t, "go", last.Run.Facets.ErrorMessage.ProgrammingLanguage)
		})
	}
}

func TestCancelledRunAbortsAndWritesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	hook := dag.Hooks{AfterNode: func(_ context.Context, n *dag.Node, _ dag.NodeResult) {
		if n.Name == pipeline.NodeDaily {
			cancel()
		}
	}}
	out := filepath.Join(t.TempDir(), "out")
	_, rec, err := runSample(t, ctx, "", nil, Options{OutputDir: out, Workers: 1, Hooks: []dag.Hooks{hook}})
	require.Error(t, err)
	require.True(t, IsInterrupted(err))
	entries, _ := os.ReadDir(out)
	require.Empty(t, entries)
	rec.validate(t)
	s := rec.summary(t)
	require.Equal(t, evSummary{"ABORT", "sales_data_pipeline"}, s[len(s)-1])
}

func TestSkipBadRowsWritesRejected(t *testing.T) {
	in := writeFile(t, "dirty.csv", "date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n2024-13-01,P1,3,C2\n2024-01-02,P2,7,C3\n")
	dir := t.TempDir()
	res, _, err := runSample(t, context.Background(), in, nil, Options{OutputDir: dir, OnBadRows: pipeline.SkipBadRows})
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Rejected)
	rej, err := os.ReadFile(filepath.Join(dir, "rejected_rows.csv"))
	require.NoError(t, err)
	require.Contains(t, string(rej), "2024-13-01")
	require.True(t, strings.HasPrefix(string(rej), "line,reason,raw\n3,"), string(rej))
	q, err := os.ReadFile(filepath.Join(dir, "data_quality_metrics.json"))
	require.NoError(t, err)
	require.Contains(t, string(q), `"rejected_record_count": 1`)
}

func TestParquetFormat(t *testing.T) {
	dir := t.TempDir()
	formats, err := ParseFormats([]string{"csv", "json", "parquet", "csv"})
	require.NoError(t, err)
	require.Len(t, formats, 3)
	res, _, err := runSample(t, context.Background(), "", nil, Options{OutputDir: dir, Formats: formats})
	require.NoError(t, err)
	var names []string
	for _, w := range res.Written {
		names = append(names, filepath.Base(w.Path))
	}
	for _, want := range []string{"daily_sales_summary.parquet", "weekly_aggregation.parquet", "enriched_daily_summary.parquet", "daily_sales_summary.csv", "trend_analysis.json"} {
		require.True(t, slices.Contains(names, want), "missing %s in %v", want, names)
	}
	_, err = ParseFormats([]string{"xml"})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	def, err := ParseFormats(nil)
	require.NoError(t, err)
	require.Equal(t, output.DefaultFormats, def)
}

func TestPrepareUnknownOutput(t *testing.T) {
	d, err := Build()
	require.NoError(t, err)
	_, err = Prepare(d, []string{"trend_analyss"})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), "trend_analysis")
	_, err = Prepare(d, []string{"source"})
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), "is an input")
}

func TestRowLevelOutputsRedactCustomerIDs(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runSample(t, context.Background(), "", []string{pipeline.NodeRaw, pipeline.NodeCleaned}, Options{OutputDir: dir})
	require.NoError(t, err)
	for _, name := range []string{"raw_sales_data.csv", "cleaned_sales_data.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Contains(t, string(b), "2024-01-01,P001,1200.5,<redacted>\n", name)
		require.NotRegexp(t, `C0\d\d`, string(b), name)
	}
	// A table without personal columns is passed through untouched.
	v := &frame.Frame{Columns: []frame.Column{{Name: "x", Kind: frame.KindString, Strings: []string{"a"}}}}
	require.Same(t, v, redactPersonal(v))
	require.Equal(t, "plain", redactPersonal("plain"))
}
