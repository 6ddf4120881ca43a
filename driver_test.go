package salesdag_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag"
)

type pair struct{ A, B int }

func rows(ctx context.Context, t *salesdag.Table) (int, error) { return t.Rows(), nil }

func TestNewChecksTheGraph(t *testing.T) {
	ok := salesdag.Func1("rows", "daily_sales_summary", rows)
	tests := []struct {
		name  string
		nodes []salesdag.Node
		want  []string // every line of the joined error
	}{
		{"type mismatch", []salesdag.Node{salesdag.Func1("n", "data_quality_metrics", rows)},
			[]string{`node "n" parameter 1 wants *salesdag.Table but dependency "data_quality_metrics" returns salesdag.QualityMetrics`}},
		{"unknown dependency", []salesdag.Node{salesdag.Func1("n", "weekly_agregation", rows)},
			[]string{`node "n" depends on unknown node "weekly_agregation" (did you mean "weekly_aggregation"?)`}},
		{"an input", []salesdag.Node{salesdag.Func1("n", "source", rows)},
			[]string{`node "n" depends on "source", an input of the pipeline; depend on raw_sales_data for the parsed rows`}},
		{"a pipeline name", []salesdag.Node{salesdag.Func1("trend_analysis", "daily_sales_summary", rows)},
			[]string{`node "trend_analysis" is registered twice; node names must be unique`}},
		{"nil function", []salesdag.Node{salesdag.Func1[*salesdag.Table, int]("n", "daily_sales_summary", nil)},
			[]string{`node "n" has a nil function`}},
		{"between added nodes", []salesdag.Node{ok, salesdag.Func1("n", "rows", func(ctx context.Context, s string) (int, error) { return 0, nil })},
			[]string{`node "n" parameter 1 wants string but dependency "rows" returns int`}},
		{"cycle", []salesdag.Node{
			salesdag.Func1("a", "b", func(ctx context.Context, v int) (int, error) { return v, nil }),
			salesdag.Func1("b", "a", func(ctx context.Context, v int) (int, error) { return v, nil }),
		}, []string{`cycle: a -> b -> a`}},
		{"all at once", []salesdag.Node{salesdag.Func1("n", "data_quality_metrics", rows), salesdag.Func1("m", "nope", rows)},
			[]string{
				`node "n" parameter 1 wants *salesdag.Table but dependency "data_quality_metrics" returns salesdag.QualityMetrics`,
				`node "m" depends on unknown node "nope" (known: source, options, raw_sales_data, cleaned_sales_data, daily_sales_summary, data_quality_metrics, enriched_daily_summary, weekly_aggregation, trend_analysis, top_performing_days, n, m)`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := salesdag.New(tc.nodes...)
			require.Nil(t, d)
			require.Error(t, err)
			var lines []string
			sc := bufio.NewScanner(bytes.NewBufferString(err.Error()))
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			require.Equal(t, tc.want, lines)
		})
	}
}

func TestNodes(t *testing.T) {
	d, err := salesdag.New(salesdag.Func1("rows", "daily_sales_summary", rows).WithDoc("days").WithTags("mine"))
	require.NoError(t, err)
	byName := map[string]salesdag.NodeInfo{}
	for _, n := range d.Nodes() {
		byName[n.Name] = n
	}
	require.Len(t, byName, 11)
	require.Equal(t, salesdag.NodeInfo{Name: "rows", Doc: "days", Type: "int", Deps: []string{"daily_sales_summary"}, Tags: []string{"mine"}, Added: true}, byName["rows"])
	require.Equal(t, "*salesdag.Table", byName["enriched_daily_summary"].Type)
	require.Equal(t, "[]salesdag.TopDay", byName["top_performing_days"].Type)
	require.True(t, byName["source"].Input)
	require.Equal(t, []string{"daily_sales_summary", "enriched_daily_summary", "weekly_aggregation", "trend_analysis", "top_performing_days", "data_quality_metrics"}, salesdag.DefaultOutputs())
}

// TestAddedNodesRun: nodes of every arity, passing their own types, a
// table written like the pipeline's, and only what the outputs need.
func TestAddedNodesRun(t *testing.T) {
	var ranTop atomic.Int32
	nodes := []salesdag.Node{
		salesdag.Func0("ten", func(ctx context.Context) (int, error) { return 10, nil }),
		salesdag.Func2("pair", "ten", "daily_sales_summary", func(ctx context.Context, n int, t *salesdag.Table) (pair, error) {
			return pair{n, t.Rows()}, nil
		}),
		salesdag.Func3("big_days", "pair", "enriched_daily_summary", "trend_analysis",
			func(ctx context.Context, p pair, e *salesdag.Table, tr salesdag.TrendAnalysis) (*salesdag.Table, error) {
				date, _ := e.Column("date")
				total, _ := e.Column("total_amount")
				out := salesdag.Column{Name: "date", Kind: salesdag.KindDate}
				amt := salesdag.Column{Name: "total_amount", Kind: salesdag.KindFloat}
				flag := salesdag.Column{Name: "is_max", Kind: salesdag.KindBool}
				for i := range e.Rows() {
					if total.Floats[i] > tr.MaxSalesAmount*0.95 {
						out.Dates = append(out.Dates, date.Dates[i])
						amt.Floats = append(amt.Floats, total.Floats[i])
						flag.Bools = append(flag.Bools, date.Dates[i] == tr.MaxSalesDate)
					}
				}
				n := salesdag.Column{Name: "n", Kind: salesdag.KindInt, Ints: make([]int64, len(out.Dates)), Valid: make([]bool, len(out.Dates))}
				n.Ints[0], n.Valid[0] = int64(p.A+p.B), true
				return &salesdag.Table{Columns: []salesdag.Column{out, amt, flag, n}}, nil
			}),
		salesdag.Func1("top_count", "top_performing_days", func(ctx context.Context, top []salesdag.TopDay) (int, error) {
			ranTop.Add(1)
			return len(top), nil
		}),
	}
	d, err := salesdag.New(nodes...)
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := d.Run(context.Background(), salesdag.RunOptions{Outputs: []string{"big_days", "pair"}, OutputDir: dir, Formats: []string{"csv", "json"}})
	require.NoError(t, err)
	require.Zero(t, ranTop.Load(), "top_count is not needed and must not run")

	p, err := salesdag.Get[pair](res, "pair")
	require.NoError(t, err)
	require.Equal(t, pair{10, 15}, p)
	big, err := salesdag.Get[*salesdag.Table](res, "big_days")
	require.NoError(t, err)
	require.Equal(t, 2, big.Rows())

	csv, err := os.ReadFile(filepath.Join(dir, "big_days.csv"))
	require.NoError(t, err)
	require.Equal(t, "date,total_amount,is_max,n\n2024-01-06,8301.5,False,25\n2024-01-15,8600.75,True,\n", string(csv))
	pairJSON, err := os.ReadFile(filepath.Join(dir, "pair.json"))
	require.NoError(t, err)
	require.JSONEq(t, `{"A":10,"B":15}`, string(pairJSON))
	var names []string
	for _, f := range res.Files {
		names = append(names, filepath.Base(f.Path))
	}
	require.Equal(t, []string{"big_days.csv", "big_days.json", "pair.json"}, names)

	_, err = salesdag.Get[int](res, "top_count")
	require.EqualError(t, err, `salesdag: no result for "top_count"; the run computed [big_days pair] (name it in RunOptions.Outputs)`)
	_, err = salesdag.Get[int](res, "pair")
	require.EqualError(t, err, `salesdag: result "pair" is salesdag_test.pair, not int`)
}

func TestNodeErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		node salesdag.Node
		want string
	}{
		{"an error", salesdag.Func1("bad", "daily_sales_summary", func(ctx context.Context, t *salesdag.Table) (int, error) { return 0, boom }),
			"node bad: boom"},
		{"a panic", salesdag.Func1("bad", "daily_sales_summary", func(ctx context.Context, t *salesdag.Table) (int, error) { panic("oops") }),
			"node bad: panic: oops"},
		{"a nil table", salesdag.Func1("bad", "daily_sales_summary", func(ctx context.Context, t *salesdag.Table) (*salesdag.Table, error) { return nil, nil }),
			"node bad: returned a nil *salesdag.Table; return an empty table or an error"},
		{"an uneven table", salesdag.Func1("bad", "daily_sales_summary", func(ctx context.Context, t *salesdag.Table) (*salesdag.Table, error) {
			return &salesdag.Table{Columns: []salesdag.Column{{Name: "a", Kind: salesdag.KindInt, Ints: []int64{1}}, {Name: "b", Kind: salesdag.KindBool}}}, nil
		}), `node bad: returned an invalid table: salesdag: table: frame: column "b" has 0 rows, want 1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := salesdag.New(tc.node)
			require.NoError(t, err)
			dir := filepath.Join(t.TempDir(), "out")
			_, err = d.Run(context.Background(), salesdag.RunOptions{Outputs: []string{"bad", "trend_analysis"}, OutputDir: dir})
			require.EqualError(t, err, tc.want)
			require.NoDirExists(t, dir, "a failed run writes nothing")
		})
	}
}

// TestPublicValues: the typed values equal what the writers write, field
// for field, and the public structs keep up with the pipeline's.
func TestPublicValues(t *testing.T) {
	d, err := salesdag.New()
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := d.Run(context.Background(), salesdag.RunOptions{Input: "gotaframe/testdata/messy.csv", SkipBadRows: true, OutputDir: dir})
	require.NoError(t, err)
	check := func(name string, v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		written, err := os.ReadFile(filepath.Join(dir, name+".json"))
		require.NoError(t, err)
		require.JSONEq(t, string(written), string(b), name)
	}
	trend, err := salesdag.Get[salesdag.TrendAnalysis](res, "trend_analysis")
	require.NoError(t, err)
	check("trend_analysis", trend)
	q, err := salesdag.Get[salesdag.QualityMetrics](res, "data_quality_metrics")
	require.NoError(t, err)
	require.NotNil(t, q.RejectedRecordCount)
	check("data_quality_metrics", q)
	top, err := salesdag.Get[[]salesdag.TopDay](res, "top_performing_days")
	require.NoError(t, err)
	check("top_performing_days", top)
	// A field added to the pipeline's structs must be added here too.
	require.Equal(t, 9, reflect.TypeFor[salesdag.TrendAnalysis]().NumField())
	require.Equal(t, 6, reflect.TypeFor[salesdag.QualityMetrics]().NumField())
	require.Equal(t, 5, reflect.TypeFor[salesdag.TopDay]().NumField())
}

func TestLineageOfAddedNode(t *testing.T) {
	d, err := salesdag.New(salesdag.Func1("rows", "daily_sales_summary", rows))
	require.NoError(t, err)
	var buf bytes.Buffer
	res, err := d.Run(context.Background(), salesdag.RunOptions{Outputs: []string{"rows"}, Lineage: &buf, Namespace: "team"})
	require.NoError(t, err)
	type event struct {
		EventType string `json:"eventType"`
		Run       struct {
			RunID  string `json:"runId"`
			Facets struct {
				Parent *struct {
					Run struct {
						RunID string `json:"runId"`
					} `json:"run"`
				} `json:"parent"`
			} `json:"facets"`
		} `json:"run"`
		Job struct{ Namespace, Name string } `json:"job"`
	}
	var jobs []string
	var childRun string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var ev event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		require.Equal(t, "team", ev.Job.Namespace)
		jobs = append(jobs, ev.EventType+" "+ev.Job.Name)
		if ev.Job.Name == "sales_data_pipeline.rows" {
			require.NotNil(t, ev.Run.Facets.Parent)
			require.Equal(t, res.RunID, ev.Run.Facets.Parent.Run.RunID)
			require.NotEqual(t, res.RunID, ev.Run.RunID)
			if childRun != "" {
				require.Equal(t, childRun, ev.Run.RunID, "START and COMPLETE of one child run")
			}
			childRun = ev.Run.RunID
		}
	}
	require.Contains(t, jobs, "START sales_data_pipeline.rows")
	require.Contains(t, jobs, "COMPLETE sales_data_pipeline.rows")
	require.Equal(t, "COMPLETE sales_data_pipeline", jobs[len(jobs)-1])
	require.NotContains(t, jobs, "START sales_data_pipeline.weekly_aggregation", "lazy: only what rows needs")
}

func TestCacheServesAddedTable(t *testing.T) {
	var calls atomic.Int32
	d, err := salesdag.New(salesdag.Func1("copy", "daily_sales_summary", func(ctx context.Context, t *salesdag.Table) (*salesdag.Table, error) {
		calls.Add(1)
		return t, nil
	}))
	require.NoError(t, err)
	opts := salesdag.RunOptions{Outputs: []string{"copy"}, CacheDir: t.TempDir()}
	first, err := d.Run(context.Background(), opts)
	require.NoError(t, err)
	second, err := d.Run(context.Background(), opts)
	require.NoError(t, err)
	require.Equal(t, int32(1), calls.Load(), "the second run loads the table from the cache")
	a, err := salesdag.Get[*salesdag.Table](first, "copy")
	require.NoError(t, err)
	b, err := salesdag.Get[*salesdag.Table](second, "copy")
	require.NoError(t, err)
	require.Equal(t, a, b)
}

func TestFailedCheck(t *testing.T) {
	d, err := salesdag.New()
	require.NoError(t, err)
	zero := 0.0
	_, err = d.Run(context.Background(), salesdag.RunOptions{Input: "gotaframe/testdata/messy.csv", SkipBadRows: true, MaxDataLoss: &zero})
	require.ErrorIs(t, err, salesdag.ErrCheckFailed)
	require.ErrorContains(t, err, "data_loss_rate")

	res, err := d.Run(context.Background(), salesdag.RunOptions{Input: "gotaframe/testdata/messy.csv", SkipBadRows: true})
	require.NoError(t, err)
	var failed []salesdag.Check
	for _, c := range res.Checks {
		if !c.Passed {
			failed = append(failed, c)
		}
	}
	require.Greater(t, len(res.Checks), 10)
	require.Equal(t, []salesdag.Check{{Node: "data_quality_metrics", Name: "no_duplicate_rows", Blocking: false,
		Text: "data_quality_metrics: no_duplicate_rows (duplicate_count) expected <= 0, got 3 [warn]"}}, failed)
}

func TestCancelled(t *testing.T) {
	d, err := salesdag.New()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Run(ctx, salesdag.RunOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

// A node of the user's that reads a row-level table gets the rows of the
// run's one read of the input: the input is not read again (here it is
// gone by the time that node runs).
func TestAddedNodeReadsRowsOfTheOneRead(t *testing.T) {
	b, err := os.ReadFile("internal/pipeline/sample/sales_raw.csv")
	require.NoError(t, err)
	input := filepath.Join(t.TempDir(), "sales.csv")
	require.NoError(t, os.WriteFile(input, b, 0o644))
	d, err := salesdag.New(
		salesdag.Func1("remove_input", "daily_sales_summary", func(ctx context.Context, _ *salesdag.Table) (bool, error) {
			return true, os.Remove(input)
		}),
		salesdag.Func2("kept_rows", "cleaned_sales_data", "remove_input", func(ctx context.Context, c *salesdag.Table, _ bool) (int, error) {
			return c.Rows(), nil
		}),
	)
	require.NoError(t, err)
	res, err := d.Run(context.Background(), salesdag.RunOptions{Input: input, Outputs: []string{"kept_rows"}})
	require.NoError(t, err)
	n, err := salesdag.Get[int](res, "kept_rows")
	require.NoError(t, err)
	require.Equal(t, int(res.RowsKept), n)
	require.Positive(t, n)
}
