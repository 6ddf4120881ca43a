package history

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
)

var (
	runComplete = uuid.MustParse("0199a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b")
	runFailed   = uuid.MustParse("0199a1b2-7777-7000-8000-000000000001")
	runNodeCL   = uuid.MustParse("0199a1b3-0000-7000-8000-000000000002")
	runRunning  = uuid.MustParse("0199a1b4-0000-7000-8000-000000000003")
)

// fixture records four runs of the toy pipeline, a minute apart: one
// complete with root-level column lineage and checks, one failed, one
// complete whose node events carry their own column lineage, and one
// still running.
func fixture(t *testing.T) (*Store, string) {
	t.Helper()
	path := storePath(t)
	rec := newRecorder(t, path)
	_, err := trackedRun(t, rec, runOpts{runID: runComplete, checks: true, start: baseTime,
		rec: rec, info: map[string]string{"output_dir": "/work/out"}})
	require.NoError(t, err)
	_, err = trackedRun(t, rec, runOpts{runID: runFailed, failAt: "daily", start: baseTime.Add(time.Minute)})
	require.Error(t, err)
	_, err = trackedRun(t, rec, runOpts{runID: runNodeCL, nodeLineage: true, start: baseTime.Add(2 * time.Minute)})
	require.NoError(t, err)
	_, err = trackedRun(t, rec, runOpts{runID: runRunning, skipFinish: true, start: baseTime.Add(3 * time.Minute)})
	require.NoError(t, err)
	closeRecorder(t, rec)
	s := openStore(t, path)
	s.alive = func(int) bool { return true }
	return s, path
}

var (
	nodeRunID = regexp.MustCompile(`"run_id": "[0-9a-f-]{36}"`)
	pidField  = regexp.MustCompile(`"pid": [0-9]+`)
)

// TestViews keeps what the queries behind "salesdag lineage" return for
// the fixture as JSON; the cli package renders copies of these files
// (historyview_test.go) and compares the text with its golden files.
func TestViews(t *testing.T) {
	s, _ := fixture(t)
	d := toyDAG(t, runOpts{})
	cases := []struct {
		name string
		view func() (any, error)
	}{
		{"runs.json", func() (any, error) {
			return s.List(ListQuery{})
		}},
		{"runs_none.json", func() (any, error) {
			return s.List(ListQuery{Statuses: []Status{StatusIncomplete}})
		}},
		{"show_complete.json", func() (any, error) {
			return s.Detail(runComplete)
		}},
		{"show_failed.json", func() (any, error) {
			return s.Detail(runFailed)
		}},
		{"show_running.json", func() (any, error) {
			return s.Detail(runRunning)
		}},
		{"column_amount.json", func() (any, error) {
			return s.Column("amount", ColumnQuery{DAG: d})
		}},
		{"column_weekly_total_root.json", func() (any, error) {
			return s.Column("weekly.weekly_total", ColumnQuery{DAG: d, Run: "0199a1b2-3c4d"})
		}},
		{"column_weekly_total_nodes.json", func() (any, error) {
			return s.Column("weekly_total", ColumnQuery{DAG: d})
		}},
		{"node_daily.json", func() (any, error) {
			return s.Node("daily", NodeQuery{DAG: d})
		}},
		{"node_daily_nodes.json", func() (any, error) {
			return s.Node("daily", NodeQuery{DAG: d, Run: "0199a1b3"})
		}},
		{"node_weekly_root.json", func() (any, error) {
			return s.Node("weekly", NodeQuery{DAG: d, Run: runComplete.String()})
		}},
		{"node_source.json", func() (any, error) {
			return s.Node("source", NodeQuery{DAG: d})
		}},
		{"node_daily_no_dag.json", func() (any, error) {
			return s.Node("daily", NodeQuery{})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.view()
			require.NoError(t, err)
			b, err := json.MarshalIndent(v, "", "  ")
			require.NoError(t, err)
			// Node run ids are random and the pid is this process's.
			b = nodeRunID.ReplaceAll(b, []byte(`"run_id": "00000000-0000-0000-0000-000000000000"`))
			b = pidField.ReplaceAll(b, []byte(`"pid": 1`))
			golden(t, filepath.Join("views", tc.name), append(b, '\n'))
		})
	}
}

func TestDetail(t *testing.T) {
	s, _ := fixture(t)
	d, err := s.Detail(runComplete)
	require.NoError(t, err)
	require.Equal(t, StatusComplete, d.Status)
	require.Equal(t, map[string]string{"output_dir": "/work/out"}, d.Info)

	rows := map[string]*int64{}
	for _, n := range d.Nodes {
		rows[n.Name] = n.RowsOut
	}
	require.Equal(t, int64(31), *rows["daily"], "from the file written for the node")
	require.Equal(t, int64(5), *rows["weekly"])
	require.Nil(t, rows["clean"], "nothing written, nothing known")
	raw, _ := d.Run.Node("raw")
	require.Equal(t, int64(1000), *raw.RowsIn)

	// Each check once, whether it came in the node's salesdag_checks facet,
	// on the written file, or on the input.
	require.Len(t, d.Checks, 4)
	total, failed := d.NodeChecks("daily")
	require.Equal(t, 3, total)
	require.Equal(t, 1, failed)
	require.Equal(t, "total_sales_positive", d.Checks[2].Name)
	require.False(t, d.Checks[2].Success)
	require.Equal(t, outDir+"/daily.csv", d.Checks[2].Dataset)
	require.Equal(t, "warn", d.Checks[2].Severity)
	require.Equal(t, Check{Dataset: inputPath, Node: "quality", Name: "data_loss_rate", Assertion: "max_loss", Success: true,
		Severity: "error", Expected: "<= 5%", Actual: "1.0%"}, d.Checks[3])

	var in *DatasetInfo
	for i := range d.Datasets {
		if d.Datasets[i].Name == inputPath {
			in = &d.Datasets[i]
		}
	}
	require.NotNil(t, in)
	require.Equal(t, "input", in.Role)
	require.Equal(t, "raw", in.Node)
	require.Equal(t, int64(1000), *in.Rows)
	require.Equal(t, int64(40960), *in.Bytes)
	require.Len(t, in.Fields, 4)

	f, err := s.Detail(runFailed)
	require.NoError(t, err)
	require.Equal(t, StatusFail, f.Status)
	require.Contains(t, f.Error, "unparsable amount")
	dn, ok := f.Run.Node("daily")
	require.True(t, ok)
	require.Equal(t, StatusFail, dn.Status)
	require.Contains(t, dn.Error, "unparsable amount")

	// JSON has stable keys for scripts.
	b, err := json.Marshal(d)
	require.NoError(t, err)
	for _, k := range []string{`"id":`, `"status":"COMPLETE"`, `"nodes":`, `"datasets":`, `"checks":`, `"duration_ms":`, `"rows_out":31`} {
		require.Contains(t, string(b), k)
	}
}

func TestColumn(t *testing.T) {
	s, _ := fixture(t)
	d := toyDAG(t, runOpts{})
	cases := []struct {
		name      string
		column    string
		q         ColumnQuery
		wantRun   uuid.UUID
		wantSteps []string // "from -> to"
		wantErr   string
	}{
		{name: "input column, node-level lineage", column: "amount", q: ColumnQuery{DAG: d}, wantRun: runNodeCL, wantSteps: []string{
			"sales.csv.amount -> toy_pipeline.clean.amount",
			"sales.csv.amount -> daily.csv.total_sales",
			"sales.csv.amount -> daily.csv.*",
			"sales.csv.amount -> weekly.csv.weekly_total",
			"sales.csv.amount -> weekly.csv.*",
			"toy_pipeline.clean.amount -> toy_pipeline.daily.total_sales",
			"toy_pipeline.daily.total_sales -> toy_pipeline.weekly.weekly_total",
		}},
		{name: "output column of a root-level run", column: "weekly_total", q: ColumnQuery{Run: runComplete.String()}, wantRun: runComplete, wantSteps: []string{
			"sales.csv.amount -> weekly.csv.weekly_total",
			"sales.csv.amount -> weekly.csv.*",
			"sales.csv.date -> weekly.csv.*",
		}},
		{name: "qualified by file", column: "daily.csv.date", q: ColumnQuery{Run: "0199a1b2-3c"}, wantRun: runComplete, wantSteps: []string{
			"sales.csv.date -> daily.csv.date",
			"sales.csv.amount -> daily.csv.*",
			"sales.csv.date -> daily.csv.*",
		}},
		{name: "qualified by node", column: "quality.unique_customers", q: ColumnQuery{}, wantRun: runNodeCL, wantSteps: []string{
			"sales.csv.customer_id -> quality.json.unique_customers",
		}},
		{name: "unknown column", column: "price", q: ColumnQuery{}, wantErr: `history: no column "price" in the column lineage of run 0199a1b3; known columns: amount, customer_id, date`},
		{name: "run without lineage", column: "amount", q: ColumnQuery{Run: runFailed.String()}, wantErr: "known columns: " /* failed run: no outputs */},
		{name: "unknown run", column: "amount", q: ColumnQuery{Run: "ffff"}, wantErr: "no such run"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, err := s.Column(tc.column, tc.q)
			if tc.wantErr != "" {
				if tc.name == "run without lineage" {
					require.ErrorContains(t, err, "columnLineage facets are empty")
					return
				}
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantRun.String(), j.Run.ID)
			var got []string
			for _, st := range j.Steps {
				got = append(got, st.From.String()+" -> "+st.To.String())
			}
			require.Equal(t, tc.wantSteps, got)
		})
	}

	// The DAG fills in the nodes between the ends of a resolved step.
	j, err := s.Column("weekly_total", ColumnQuery{DAG: d, Run: runComplete.String()})
	require.NoError(t, err)
	require.Equal(t, []string{"raw", "clean", "daily", "weekly"}, j.Steps[0].Path)
	require.Equal(t, []lineage.Transformation{{Type: "DIRECT", Subtype: "AGGREGATION", Description: "sum per week"}}, j.Steps[0].Transformations)
	j, err = s.Column("weekly_total", ColumnQuery{Run: runComplete.String()})
	require.NoError(t, err)
	require.Equal(t, []string{"raw", "weekly"}, j.Steps[0].Path, "without the DAG only the ends are known")
}

func TestColumnWithoutAnyLineage(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	closeRecorder(t, rec)
	s := openStore(t, path)
	_, err := s.Column("amount", ColumnQuery{})
	require.ErrorIs(t, err, ErrNoColumnLineage)
	_, err = s.Node("clean", NodeQuery{})
	require.NoError(t, err)
	_, err = s.Node("nope", NodeQuery{})
	require.ErrorIs(t, err, ErrNotFound)
}

func TestNode(t *testing.T) {
	s, _ := fixture(t)
	d := toyDAG(t, runOpts{})
	cases := []struct {
		name         string
		node         string
		q            NodeQuery
		wantRun      uuid.UUID
		wantUp       []string
		wantDown     []string
		wantAffected []string
		wantOut      []string
		wantIn       []string // node:column
		wantErr      string
	}{
		{name: "daily in the latest run that wrote its dataset", node: "daily", q: NodeQuery{DAG: d}, wantRun: runNodeCL,
			wantUp: []string{"source", "raw", "clean"}, wantDown: []string{"weekly"},
			wantAffected: []string{outDir + "/daily.csv", outDir + "/weekly.csv"},
			wantOut:      []string{"date", "total_sales"}, wantIn: []string{"clean:amount", "clean:date"}},
		{name: "daily in the still running run", node: "daily", q: NodeQuery{DAG: d, Run: "latest"}, wantRun: runRunning,
			wantUp: []string{"source", "raw", "clean"}, wantDown: []string{"weekly"}, wantAffected: []string{}},
		{name: "weekly of a complete run", node: "weekly", q: NodeQuery{DAG: d, Run: runNodeCL.String()}, wantRun: runNodeCL,
			wantUp: []string{"source", "raw", "clean", "daily"}, wantDown: []string{},
			wantAffected: []string{outDir + "/weekly.csv"},
			wantOut:      []string{"week_start", "weekly_total"},
			wantIn:       []string{"daily:date", "daily:total_sales"}},
		{name: "clean affects everything below it", node: "clean", q: NodeQuery{DAG: d, Run: runComplete.String()}, wantRun: runComplete,
			wantUp: []string{"source", "raw"}, wantDown: []string{"daily", "quality", "weekly"},
			wantAffected: []string{outDir + "/daily.csv", outDir + "/quality.json", outDir + "/weekly.csv"}},
		{name: "raw reads the input file", node: "raw", q: NodeQuery{DAG: d, Run: runComplete.String()}, wantRun: runComplete,
			wantUp: []string{"source"}, wantDown: []string{"clean", "daily", "quality", "weekly"},
			wantAffected: []string{outDir + "/daily.csv", outDir + "/quality.json", outDir + "/weekly.csv"},
			wantIn:       []string{":date", ":product_id", ":amount", ":customer_id"}},
		{name: "unknown node suggests", node: "dialy", q: NodeQuery{DAG: d}, wantErr: `unknown node "dialy"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := s.Node(tc.node, tc.q)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "daily")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantRun.String(), v.LastRun.ID)
			require.Equal(t, tc.wantUp, v.Upstream)
			require.Equal(t, tc.wantDown, v.Downstream)
			if tc.wantAffected != nil {
				require.ElementsMatch(t, tc.wantAffected, v.Affected)
			}
			var out, in []string
			for _, c := range v.ColumnsOut {
				out = append(out, c.Name)
			}
			for _, c := range v.ColumnsIn {
				in = append(in, c.Node+":"+c.Name)
			}
			if tc.wantOut != nil {
				require.ElementsMatch(t, tc.wantOut, out)
			}
			if tc.wantIn != nil {
				require.ElementsMatch(t, tc.wantIn, in)
			}
		})
	}

	// A node that no recorded run ran is still described from the DAG.
	path := storePath(t)
	rec := newRecorder(t, path)
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	closeRecorder(t, rec)
	s2 := openStore(t, path)
	v, err := s2.Node("weekly", NodeQuery{DAG: d})
	require.NoError(t, err)
	require.Nil(t, v.LastRun, "no recorded run ran it")
	require.Equal(t, []string{"daily"}, v.DependsOn)
}

// A store that stops taking writes (here: replaced by a directory, which
// moving aside would not fix) costs the events, not the run: they are
// dropped after a few attempts and Close says how many.
func TestBrokenStoreDropsEvents(t *testing.T) {
	path := storePath(t)
	rec, err := OpenRecorder(path, RecorderOptions{LockTimeout: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o755))
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.ErrorContains(t, rec.Sync(ctx), "not recorded")
	runAt(t, rec, idN(2), baseTime, StatusComplete) // dropped at once
	err = rec.Close(ctx)
	require.ErrorContains(t, err, "8 event(s) not recorded")
	require.ErrorContains(t, err, filepath.Base(path))
}

func TestNodeChecksFacet(t *testing.T) {
	ev := lineage.NewRunEvent(lineage.EventComplete, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Name: "j.daily"})
	require.Nil(t, nodeChecks(ev, "daily"), "no facet")
	ev.Run.Facets.SetCustom(ChecksFacetKey, checksFacet("", []lineage.Assertion{{Assertion: "unique", Column: "date", Success: true}}))
	got := nodeChecks(ev, "daily")
	require.Equal(t, []Check{{Node: "daily", Name: "unique", Assertion: "unique", Column: "date", Success: true, Severity: "fail"}}, got,
		"a live (not decoded) facet; node and name filled in")
	require.Nil(t, nodeChecks(ev, ""), "root runs have no node checks")
	ev.Run.Facets.SetCustom(ChecksFacetKey, json.RawMessage(`{"checks": "not a list"}`))
	require.Nil(t, nodeChecks(ev, "daily"))
	ev.Run.Facets.SetCustom(ChecksFacetKey, func() {})
	require.Nil(t, nodeChecks(ev, "daily"))
}

// A panic in the background writer (here: the caller's Logf, reached when
// a batch fails) must not end the process: the events are reported as not
// recorded, and later ones are dropped at once.
func TestWriterPanicDropsEvents(t *testing.T) {
	path := storePath(t)
	rec, err := OpenRecorder(path, RecorderOptions{
		LockTimeout: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Logf: func(string, ...any) { panic("logger exploded") },
	})
	require.NoError(t, err)
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o755))
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = rec.Sync(ctx)
	require.ErrorContains(t, err, "not recorded")
	require.ErrorContains(t, err, "panicked")
	require.ErrorContains(t, err, "logger exploded")
	runAt(t, rec, idN(2), baseTime, StatusComplete) // dropped at once
	err = rec.Close(ctx)
	require.ErrorContains(t, err, "8 event(s) not recorded")
}
