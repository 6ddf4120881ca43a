package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// linExec runs `salesdag lineage ARGS` in-process.
func linExec(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "salesdag", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newLineageCmd())
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(append([]string{"lineage"}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// linHome points the history (and the outbox) at a fresh directory and
// isolates the lineage configuration from the machine's.
func linHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv(history.EnvHome, home)
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE_DISABLED", "OPENLINEAGE_API_KEY", "OPENLINEAGE_ENDPOINT", "OPENLINEAGE_NAMESPACE"} {
		t.Setenv(k, "")
	}
	old := histLocation
	histLocation = time.UTC
	t.Cleanup(func() { histLocation = old })
	return home
}

// linRealRun runs the real pipeline on the embedded sample (or input) with
// the history recorder teed next to a sink, as `salesdag run` will.
func linRealRun(t *testing.T, input string, outputs ...string) (string, error) {
	t.Helper()
	rec, err := history.OpenRecorder(history.DefaultPath(os.Getenv), history.RecorderOptions{})
	require.NoError(t, err)
	d, err := app.Build()
	require.NoError(t, err)
	p, err := app.Prepare(d, outputs)
	require.NoError(t, err)
	var ids []string
	var mu sync.Mutex
	sink := lineage.SinkFunc(func(ev *lineage.RunEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.Run.Facets.Parent == nil {
			ids = append(ids, ev.Run.RunID.String())
		}
		return nil
	})
	o := app.Options{Input: input, OutputDir: t.TempDir(), DAG: d, Plan: p}
	o.Checks, err = app.NewChecks(pipeline.CheckOptions{}, nil) // as `salesdag run` has them
	require.NoError(t, err)
	o.Lineage = app.Lineage{Sink: lineage.Tee(sink, rec), Namespace: "default"}
	_, runErr := app.Run(context.Background(), o)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, rec.Close(ctx))
	require.NotEmpty(t, ids)
	return ids[0], runErr
}

// linCraftedRun records a run of the sales pipeline whose output carries
// a columnLineage facet, as the column-lineage work emits it.
func linCraftedRun(t *testing.T, start time.Time) string {
	t.Helper()
	rec, err := history.OpenRecorder(history.DefaultPath(os.Getenv), history.RecorderOptions{})
	require.NoError(t, err)
	id := lineage.NewRunID()
	in := lineage.InputDataset{Dataset: lineage.Dataset{Namespace: lineage.FileNamespace, Name: "/data/sales.csv"}}
	root := lineage.RunRef{Namespace: "default", Name: lineage.DefaultJobName, RunID: id}
	emit := func(ev *lineage.RunEvent) { require.NoError(t, rec.Emit(ev)) }

	startEv := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: id}, lineage.Job{Namespace: "default", Name: lineage.DefaultJobName})
	startEv.EventTime, startEv.Inputs = start, []lineage.InputDataset{in}
	emit(startEv)
	for i, node := range []string{pipeline.NodeRaw, pipeline.NodeCleaned, pipeline.NodeDaily, pipeline.NodeEnriched, pipeline.NodeWeekly} {
		nid := lineage.NewRunID()
		for j, typ := range []lineage.EventType{lineage.EventStart, lineage.EventComplete} {
			ev := lineage.NewRunEvent(typ, lineage.Run{RunID: nid}, lineage.Job{Namespace: "default", Name: lineage.DefaultJobName + "." + node})
			ev.EventTime = start.Add(time.Duration(2*i+j+1) * time.Millisecond)
			ev.Run.Facets.Parent = lineage.NewParentRunFacet(root, nil)
			ev.Job.Facets.JobType = lineage.NewJobTypeJobFacet(lineage.JobTypeTask)
			if node == pipeline.NodeRaw && typ == lineage.EventComplete {
				ev.Inputs = []lineage.InputDataset{in}
			}
			emit(ev)
		}
	}
	out := lineage.OutputDataset{Dataset: lineage.Dataset{Namespace: lineage.FileNamespace, Name: "/out/weekly_aggregation.csv"}}
	cl := lineage.NewColumnLineageDatasetFacet()
	cl.Fields["weekly_total"] = lineage.ColumnLineageField{InputFields: []lineage.InputField{{
		Namespace: lineage.FileNamespace, Name: "/data/sales.csv", Field: "amount",
		Transformations: []lineage.Transformation{{Type: lineage.TransformDirect, Subtype: lineage.SubtypeAggregation, Description: "sum of the week's daily totals"}},
	}}}
	cl.Dataset = []lineage.InputField{{Namespace: lineage.FileNamespace, Name: "/data/sales.csv", Field: "date",
		Transformations: []lineage.Transformation{{Type: lineage.TransformIndirect, Subtype: lineage.SubtypeGroupBy}}}}
	out.Facets.ColumnLineage = cl
	out.OutputFacets.OutputStatistics = lineage.NewOutputStatisticsFacet(3, 120)
	end := lineage.NewRunEvent(lineage.EventComplete, lineage.Run{RunID: id}, lineage.Job{Namespace: "default", Name: lineage.DefaultJobName})
	end.EventTime, end.Inputs, end.Outputs = start.Add(20*time.Millisecond), []lineage.InputDataset{in}, []lineage.OutputDataset{out}
	emit(end)
	require.NoError(t, rec.Close(context.Background()))
	return id.String()
}

func TestLineageCommandsOnRealRuns(t *testing.T) {
	linHome(t)
	okID, err := linRealRun(t, "")
	require.NoError(t, err)
	trendID, err := linRealRun(t, "", pipeline.NodeTrend)
	require.NoError(t, err)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("date,product_id,amount,customer_id\n2024-01-01,P1,abc,C9\n"), 0o600))
	failID, err := linRealRun(t, bad)
	require.Error(t, err)

	cases := []struct {
		name    string
		args    []string
		want    []string // substrings of stdout
		notWant []string
		wantErr string
	}{
		{name: "runs", args: []string{"runs"}, want: []string{"RUN", "START", "STATUS", "DURATION", "INPUT", "OUTPUTS",
			failID[:8], "FAIL", "COMPLETE", "embedded/sample/sales_raw.csv", "6 files in", "trend_analysis.json"}},
		{name: "runs limit", args: []string{"runs", "--limit", "1"}, want: []string{"FAIL"}, notWant: []string{"COMPLETE"}},
		{name: "runs status", args: []string{"runs", "--status", "complete"}, want: []string{"COMPLETE"}, notWant: []string{"FAIL"}},
		{name: "runs bad status", args: []string{"runs", "--status", "nope"}, wantErr: `unknown --status "nope"`},
		{name: "runs bad limit", args: []string{"runs", "--limit", "-1"}, wantErr: "--limit must be >= 0"},
		{name: "show", args: []string{"show", okID}, want: []string{"status   COMPLETE", "NODE", pipeline.NodeRaw, pipeline.NodeTop,
			"daily_sales_summary.csv", "ROWS OUT", "DATASET", "failed (--checks lists them all)"}},
		{name: "show checks", args: []string{"show", okID, "--checks"}, want: []string{"CHECK", "NODE", "unique_date", "daily_sales_summary.csv", "ok"}},
		{name: "show prefix", args: []string{"show", strings.ReplaceAll(trendID, "-", "")[:14]}, want: []string{trendID, pipeline.NodeTrend}, notWant: []string{pipeline.NodeTop}},
		{name: "show failed", args: []string{"show", "latest"}, want: []string{"status   FAIL", "error", "bad.csv:2", pipeline.NodeRaw}},
		{name: "show unknown", args: []string{"show", "ffffffff"}, wantErr: "no such run matches"},
		{name: "show not an id", args: []string{"show", "zzz"}, wantErr: "is not a run id"},
		{name: "node", args: []string{"node", pipeline.NodeCleaned, "--run", okID}, want: []string{"node cleaned_sales_data", "upstream    source, options, raw_sales_data",
			"downstream  daily_sales_summary, data_quality_metrics, enriched_daily_summary", "affects", "weekly_aggregation.csv"}},
		{name: "node unknown", args: []string{"node", "cleaned_sales"}, wantErr: `unknown node "cleaned_sales"`},
		{name: "node columns", args: []string{"node", pipeline.NodeDaily}, want: []string{"COLUMN OUT", "total_amount", "sales_raw.csv.amount (AGGREGATION)", "rows depend on"}},
		{name: "column of the real run", args: []string{"column", "weekly_aggregation.weekly_total", "--run", okID}, want: []string{
			"weekly_aggregation.csv  (via raw_sales_data -> cleaned_sales_data -> daily_sales_summary -> enriched_daily_summary -> weekly_aggregation)",
			"amount -> weekly_total", "DIRECT/AGGREGATION", "date -> (rows)", "INDIRECT/GROUP_BY"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := linExec(t, tc.args...)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), "\n")
				return
			}
			require.NoError(t, err)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			for _, w := range tc.notWant {
				require.NotContains(t, out, w)
			}
		})
	}

	// --json everywhere, with the same facts.
	out, _, err := linExec(t, "runs", "--json")
	require.NoError(t, err)
	var runs []history.Run
	require.NoError(t, json.Unmarshal([]byte(out), &runs))
	require.Len(t, runs, 3)
	require.Equal(t, []string{failID, trendID, okID}, []string{runs[0].ID, runs[1].ID, runs[2].ID})
	require.Equal(t, history.StatusFail, runs[0].Status)
	require.Len(t, runs[2].Outputs, 6)

	out, _, err = linExec(t, "show", okID, "--json")
	require.NoError(t, err)
	var det history.Detail
	require.NoError(t, json.Unmarshal([]byte(out), &det))
	require.Len(t, det.Nodes, 8)
	raw, ok := det.Run.Node(pipeline.NodeRaw)
	require.True(t, ok)
	require.NotNil(t, raw.RowsIn)
	require.Positive(t, *raw.RowsIn)

	out, _, err = linExec(t, "node", pipeline.NodeWeekly, "--json")
	require.NoError(t, err)
	var nv history.NodeView
	require.NoError(t, json.Unmarshal([]byte(out), &nv))
	require.Equal(t, []string{pipeline.NodeEnriched}, nv.DependsOn)
	require.Equal(t, okID, nv.LastRun.ID)

	out, _, err = linExec(t, "show", okID, "--events")
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), det.Events)
}

// customer_id is personal data: its values appear in no recorded event
// and no query output, for a run of the real pipeline on the sample.
func TestHistoryHoldsNoCustomerIDs(t *testing.T) {
	linHome(t)
	id, err := linRealRun(t, "")
	require.NoError(t, err)

	src := pipeline.SampleSource()
	rc, err := src.Open()
	require.NoError(t, err)
	rows, err := csv.NewReader(rc).ReadAll()
	require.NoError(t, rc.Close())
	require.NoError(t, err)
	col := -1
	for i, h := range rows[0] {
		if h == "customer_id" {
			col = i
		}
	}
	require.GreaterOrEqual(t, col, 0)
	var values []string
	for _, r := range rows[1:] {
		if v := strings.TrimSpace(r[col]); v != "" {
			values = append(values, regexp.QuoteMeta(v))
		}
	}
	require.NotEmpty(t, values)
	anyValue := regexp.MustCompile(`(^|[^A-Za-z0-9_])(` + strings.Join(values, "|") + `)([^A-Za-z0-9_]|$)`)

	var all strings.Builder
	for _, args := range [][]string{
		{"show", id, "--events"}, {"show", id}, {"show", id, "--json"}, {"runs"}, {"runs", "--json"},
		{"node", pipeline.NodeRaw}, {"node", pipeline.NodeQuality, "--json"}, {"show", id, "--checks"},
		{"column", "customer_id", "--run", id}, {"column", "amount", "--json", "--run", id},
	} {
		out, _, err := linExec(t, args...)
		require.NoError(t, err, args)
		all.WriteString(out)
	}
	text := all.String()
	require.Contains(t, text, "customer_id", "the column is named, its values are not")
	require.Empty(t, anyValue.FindAllString(text, 5))
}

func TestLineageColumn(t *testing.T) {
	linHome(t)
	_, _, err := linExec(t, "column", "amount")
	require.ErrorIs(t, err, history.ErrNoHistory)

	_, err = linRealRun(t, "")
	require.NoError(t, err)
	id := linCraftedRun(t, time.Now().UTC().Add(time.Hour))

	out, _, err := linExec(t, "column", "amount", "--run", id[:13])
	require.NoError(t, err)
	require.Contains(t, out, "column amount in run "+id[:8])
	require.Contains(t, out, "/out/weekly_aggregation.csv  (via raw_sales_data -> cleaned_sales_data -> daily_sales_summary -> enriched_daily_summary -> weekly_aggregation)\n")
	require.Contains(t, out, "  amount -> weekly_total\n      DIRECT/AGGREGATION  sum of the week's daily totals\n")

	out, _, err = linExec(t, "column", "weekly_aggregation.weekly_total", "--json")
	require.NoError(t, err)
	var j history.ColumnJourney
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	require.Equal(t, id, j.Run.ID)
	require.Len(t, j.Steps, 2)
	require.Equal(t, "date", j.Steps[1].From.Field)
	require.Empty(t, j.Steps[1].To.Field, "the grouping applies to the whole dataset")

	_, _, err = linExec(t, "column", "price")
	require.ErrorIs(t, err, history.ErrNoSuchColumn)
	require.ErrorContains(t, err, "known columns: amount, date, weekly_total")
}

func TestLineageWithoutHistory(t *testing.T) {
	home := linHome(t)
	out, _, err := linExec(t, "runs")
	require.NoError(t, err)
	require.Equal(t, "no runs recorded yet in "+filepath.Join(home, history.FileName)+"\n", out)
	out, _, err = linExec(t, "runs", "--json")
	require.NoError(t, err)
	require.Equal(t, "[]\n", out)
	_, _, err = linExec(t, "show", "latest")
	require.ErrorIs(t, err, history.ErrNoHistory)

	// The DAG alone answers `node`.
	out, _, err = linExec(t, "node", pipeline.NodeEnriched)
	require.NoError(t, err)
	require.Contains(t, out, "feeds       weekly_aggregation, trend_analysis, top_performing_days")
	require.Contains(t, out, "no recorded run ran it")
	out, _, err = linExec(t, "node", pipeline.NodeEnriched, "--json")
	require.NoError(t, err)
	require.Contains(t, out, `"downstream": [`)

	out, _, err = linExec(t)
	require.NoError(t, err)
	require.Contains(t, out, "salesdag lineage runs")
}

func TestLineageFlush(t *testing.T) {
	var mu sync.Mutex
	var got []string
	status := http.StatusCreated
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if status < 300 {
			got = append(got, string(b))
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	writeOutbox := func(t *testing.T, dir string, n int) {
		t.Helper()
		require.NoError(t, os.MkdirAll(dir, 0o755))
		var b strings.Builder
		for i := 0; i < n; i++ {
			ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "default", Name: "sales_data_pipeline"})
			data, err := lineage.Marshal(ev)
			require.NoError(t, err)
			b.Write(data)
			b.WriteByte('\n')
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, lineage.NewRunID().String()+".jsonl"), []byte(b.String()), 0o600))
	}

	cases := []struct {
		name      string
		env       map[string]string
		status    int
		events    int
		args      []string
		wantSent  int
		wantLeft  int
		wantErr   string
		wantUsage bool
		wantOut   string
	}{
		{name: "sends and empties the outbox", env: map[string]string{"OPENLINEAGE_URL": srv.URL}, status: 201, events: 3, wantSent: 3,
			wantOut: "lineage flush: 3 sent, 0 remaining in 1 file(s)"},
		{name: "refused events stay", env: map[string]string{"OPENLINEAGE_URL": srv.URL}, status: 400, events: 2, wantLeft: 2,
			wantErr: "2 event(s) still in"},
		{name: "nothing to send", env: map[string]string{"OPENLINEAGE_URL": srv.URL}, status: 201, events: 0, wantOut: "nothing to send"},
		{name: "disabled lineage keeps the outbox", env: map[string]string{"OPENLINEAGE_DISABLED": "true"}, status: 201, events: 2, wantLeft: 2,
			wantErr: "lineage is disabled", wantUsage: true},
		{name: "explicit outbox and json", env: map[string]string{"OPENLINEAGE_URL": srv.URL}, status: 201, events: 1, args: []string{"--json"}, wantSent: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := linHome(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			mu.Lock()
			status, got = tc.status, nil
			mu.Unlock()
			dir := filepath.Join(home, "outbox")
			args := []string{"flush"}
			if tc.args != nil {
				dir = filepath.Join(t.TempDir(), "elsewhere")
				args = append(append(args, "--outbox", dir), tc.args...)
			}
			if tc.events > 0 {
				writeOutbox(t, dir, tc.events)
			}
			out, stderr, err := linExec(t, args...)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				var ue *app.UsageError
				require.Equal(t, tc.wantUsage, errors.As(err, &ue))
			} else {
				require.NoError(t, err)
			}
			if tc.wantOut != "" {
				require.Contains(t, stderr, tc.wantOut)
			}
			if tc.args != nil {
				var rep histFlushReport
				require.NoError(t, json.Unmarshal([]byte(out), &rep))
				require.Equal(t, tc.wantSent, rep.Sent)
				require.Equal(t, dir, rep.Outbox)
			}
			mu.Lock()
			require.Len(t, got, tc.wantSent)
			mu.Unlock()
			left, err := lineage.Pending(dir)
			require.NoError(t, err)
			require.Equal(t, tc.wantLeft, left)
		})
	}
}

// TestLineageFlushTimeout: a backend answering 429 with Retry-After: 3600
// does not keep `lineage flush` for an hour: it stops within --timeout
// (default 30 s; here at once, since the wait would pass it) and leaves
// the events in the outbox.
func TestLineageFlushTimeout(t *testing.T) {
	home := linHome(t)
	srv := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault {
		return lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "3600"}}
	})
	t.Setenv("OPENLINEAGE_URL", srv.URL)
	dir := filepath.Join(home, "outbox")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var b strings.Builder
	for range 2 {
		ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "default", Name: "sales_data_pipeline"})
		data, err := lineage.Marshal(ev)
		require.NoError(t, err)
		b.Write(data)
		b.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, lineage.NewRunID().String()+".jsonl"), []byte(b.String()), 0o600))

	for _, args := range [][]string{{"flush"}, {"flush", "--timeout", "5s"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			type outcome struct {
				stderr string
				err    error
			}
			done := make(chan outcome, 1)
			go func() {
				_, stderr, err := linExec(t, args...)
				done <- outcome{stderr, err}
			}()
			var o outcome
			select {
			case o = <-done:
			case <-time.After(25 * time.Second):
				t.Fatal("lineage flush waited for the server's Retry-After")
			}
			require.ErrorContains(t, o.err, "2 event(s) still in")
			require.Contains(t, o.stderr, "after the deadline")
			n, err := lineage.Pending(dir)
			require.NoError(t, err)
			require.Equal(t, 2, n)
		})
	}
	_, _, err := linExec(t, "flush", "--timeout", "0s")
	var ue *app.UsageError
	require.ErrorAs(t, err, &ue)
}
