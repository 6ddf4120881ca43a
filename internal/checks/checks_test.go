package checks

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
)

var nan = math.NaN()

// table is a result that is a table.
type table struct{ f *frame.Frame }

func (t *table) Table() *frame.Frame { return t.f }

func tbl(cols ...frame.Column) *table { return &table{&frame.Frame{Columns: cols}} }

func ints(name string, v ...int64) frame.Column {
	return frame.Column{Name: name, Kind: frame.KindInt, Ints: v}
}
func floats(name string, v ...float64) frame.Column {
	return frame.Column{Name: name, Kind: frame.KindFloat, Floats: v}
}
func strs(name string, v ...string) frame.Column {
	return frame.Column{Name: name, Kind: frame.KindString, Strings: v}
}
func dates(name string, v ...frame.Date) frame.Column {
	return frame.Column{Name: name, Kind: frame.KindDate, Dates: v}
}
func bools(name string, v ...bool) frame.Column {
	return frame.Column{Name: name, Kind: frame.KindBool, Bools: v}
}
func withValid(c frame.Column, valid ...bool) frame.Column { c.Valid = valid; return c }

// one evaluates a single check on v.
func one(t *testing.T, c Check, v any) Result {
	t.Helper()
	res := evaluate(On("node", c), v)
	require.Len(t, res, 1)
	return res[0]
}

func TestChecksOnColumns(t *testing.T) {
	tests := []struct {
		name    string
		check   Check
		col     frame.Column
		success bool
		actual  string
	}{
		{"not null ok", NotNull("c"), ints("c", 1, 2), true, "0 of 2 rows null"},
		{"not null valid mask", NotNull("c"), withValid(strs("c", "x", ""), true, false), false, "1 of 2 rows null"},
		{"not null NaN", NotNull("c"), floats("c", 1, nan, nan), false, "2 of 3 rows null"},

		{"unique ints", Unique("c"), ints("c", 1, 2, 3), true, "0 duplicate values in 3 rows"},
		{"unique ints dup", Unique("c"), ints("c", 1, 2, 1, 1), false, "2 duplicate values in 4 rows"},
		{"unique floats -0 equals 0", Unique("c"), floats("c", 0, math.Copysign(0, -1)), false, "1 duplicate values in 2 rows"},
		{"unique floats ignore nulls", Unique("c"), floats("c", nan, 1, nan), true, "0 duplicate values in 3 rows"},
		{"unique strings never shows values", Unique("c"), strs("c", "C001", "C001"), false, "1 duplicate values in 2 rows"},
		{"unique bools", Unique("c"), bools("c", true, false, true), false, "1 duplicate values in 3 rows"},
		{"unique dates", Unique("c"), dates("c", frame.DateOf(2024, time.January, 1)), true, "0 duplicate values in 1 rows"},

		{"ascending dates", Ascending("c"), dates("c", 19000, 19000, 19001), true, "ascending over 3 rows"},
		{"descending dates", Ascending("c"), dates("c", 19001, 19000), false, "order breaks at row 2 of 2"},
		{"ascending ints", Ascending("c"), ints("c", 3, 2), false, "order breaks at row 2 of 2"},
		{"ascending floats skip nulls", Ascending("c"), floats("c", 1, nan, 2), true, "ascending over 3 rows"},
		{"ascending strings", Ascending("c"), strs("c", "2024-01-08/2024-01-14", "2024-01-01/2024-01-07"), false, "order breaks at row 2 of 2"},
		{"ascending bools", Ascending("c"), bools("c", true, false), false, "order breaks at row 2 of 2"},

		{"above ok", Above("c", 0), floats("c", 0.5, 2), true, "min 0.5, max 2"},
		{"above boundary", Above("c", 0), floats("c", 0, 2, -1.5), false, "2 of 3 rows outside (min -1.5, max 2)"},
		{"at least boundary", AtLeast("c", 1), ints("c", 1, 2), true, "min 1, max 2"},
		{"at most", AtMost("c", 10), floats("c", 10, 10.5), false, "1 of 2 rows outside (min 10, max 10.5)"},
		{"below boundary", Below("c", 10), ints("c", 10), false, "10"},
		{"between one row", Between("c", 0, 100), floats("c", 4.444444444444445), true, "4.444444444444445"},
		{"range skips nulls", AtLeast("c", 0), floats("c", nan, 1), true, "min 1, max 1"},
		{"range all null", AtLeast("c", 0), floats("c", nan), true, "no non-null values"},
		{"range on strings", AtLeast("c", 0), strs("c", "C001"), false, `column "c" is string, not a number`},

		{"missing column", NotNull("zz"), ints("c", 1), false, `no column "zz" in the result`},
		{"rows ok", Rows(1, 5), ints("c", 1, 2), true, "2 rows"},
		{"rows too many", Rows(1, 5), ints("c", 1, 2, 3, 4, 5, 6), false, "6 rows"},
		{"rows none", Rows(1, -1), ints("c"), false, "0 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, tt.check, tbl(tt.col))
			require.Equal(t, tt.success, r.Success)
			require.Equal(t, tt.actual, r.Actual)
			require.NotContains(t, r.Actual, "C001", "string values must never be reported")
		})
	}
}

func TestExpectedAndNames(t *testing.T) {
	tests := []struct {
		check          Check
		name, expected string
	}{
		{NotNull("a"), "not_null_a", "no nulls"},
		{Unique("a"), "unique_a", "unique values"},
		{Ascending("a"), "ascending_a", "ascending order"},
		{Above("a", 0), "range_a", "> 0"},
		{AtLeast("a", 1), "range_a", ">= 1"},
		{AtMost("a", 2.5), "range_a", "<= 2.5"},
		{Below("a", 1e20), "range_a", "< 1e+20"},
		{Between("a", 0, 100), "range_a", ">= 0 and <= 100"},
		{Rows(1, -1), "row_count", ">= 1 rows"},
		{Rows(1, 5).Named("few"), "few", ">= 1 and <= 5 rows"},
		{Check{Kind: RangeKind, Column: "a"}, "range_a", "any"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.name, tt.check.name())
		require.Equal(t, tt.expected, tt.check.Expected())
	}
	c := NotNull("a")
	require.Equal(t, Warn, c.importance(), "Warn is the default, as in Hamilton")
	require.Equal(t, Fail, c.Fail().importance())
	require.Equal(t, Warn, c.Fail().Warn().importance())
	require.Equal(t, "why", c.Describe("why").Description)
	require.Len(t, NotNulls("a", "b"), 2)
}

func TestAccessors(t *testing.T) {
	type metrics struct{ Loss float64 }
	toTable := Typed(func(m metrics) *frame.Frame {
		return &frame.Frame{Columns: []frame.Column{floats("loss", m.Loss)}}
	})
	spec := On("quality", AtMost("loss", 10).Fail()).Using(toTable)

	res := evaluate(spec, metrics{Loss: 12.5})
	require.False(t, res[0].Success)
	require.Equal(t, "12.5", res[0].Actual)

	res = evaluate(spec, "not metrics")
	require.False(t, res[0].Success)
	require.Equal(t, "cannot read the result: result is string, the checks expect checks.metrics", res[0].Actual)

	// Not a table and no accessor.
	r := one(t, NotNull("a"), 42)
	require.Contains(t, r.Actual, "result is int, not a table")

	// Accessor errors and nil tables.
	bad := On("n", NotNull("a"), Unique("a")).Using(func(any) (*frame.Frame, error) { return nil, errors.New("boom") })
	for _, x := range evaluate(bad, nil) {
		require.False(t, x.Success)
		require.Equal(t, "cannot read the result: boom", x.Actual)
	}
	r = one(t, NotNull("a"), &table{})
	require.Equal(t, "cannot read the result: result has no table", r.Actual)

	// A frame with ragged columns is refused, not indexed out of range.
	r = one(t, NotNull("a"), tbl(ints("a", 1, 2), ints("b", 1)))
	require.Contains(t, r.Actual, `column "b" has 1 rows, want 2`)

	// A nil pointer result whose Table panics fails the checks instead of
	// the process.
	var nilTable *panicky
	r = one(t, NotNull("a"), nilTable)
	require.False(t, r.Success)
	require.Contains(t, r.Actual, "cannot read the result")
}

type panicky struct{ f frame.Frame }

func (p *panicky) Table() *frame.Frame { return &frame.Frame{Columns: p.f.Columns} }

func TestNewRunnerValidation(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"no node", On("", NotNull("a")), "a spec has no node name"},
		{"no column", On("n", NotNull("")), "check not_null needs a column"},
		{"range without column", On("n", Check{Kind: RangeKind, Min: &Bound{}}), "check range needs a column"},
		{"range without bounds", On("n", Check{Kind: RangeKind, Column: "a"}), "needs a lower or an upper bound"},
		{"rows without bounds", On("n", Check{Kind: RowCountKind}), "needs a lower or an upper bound"},
		{"unknown kind", On("n", Check{Kind: "fresh", Name: "f"}), `check "f" has unknown kind "fresh"`},
		{"NaN bound", On("n", AtLeast("a", nan)), "NaN bound"},
		{"crossed bounds", On("n", Between("a", 5, 1)), "lower bound 5 is above upper bound 1"},
		{"bad importance", On("n", Check{Kind: NotNullKind, Column: "a", Importance: "panic"}), `unknown importance "panic"`},
		{"duplicate names", On("n", AtLeast("a", 0), AtMost("a", 9)), `two checks are named "range_a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRunner(nil, tt.spec)
			require.ErrorContains(t, err, tt.want)
		})
	}
	// Two specs for one node merge; a later accessor wins.
	r, err := NewRunner(nil, On("n", AtLeast("a", 0)), On("n", NotNull("a")), On("m", NotNull("b")))
	require.NoError(t, err)
	require.Equal(t, []string{"n", "m"}, r.Nodes())
	s, ok := r.Spec("n")
	require.True(t, ok)
	require.Len(t, s.Checks, 2)
	_, ok = r.Spec("zz")
	require.False(t, ok)
}

// runGraph runs a small graph (a -> b, a -> c) with the runner's hooks.
func runGraph(t *testing.T, r *Runner, a, b, c *table) error {
	t.Helper()
	g := dag.New()
	dag.Input[int](g, "in", "")
	dag.Add1(g, dag.Spec{Name: "a"}, "in", func(context.Context, int) (*table, error) { return a, nil })
	dag.Add1(g, dag.Spec{Name: "b"}, "a", func(context.Context, *table) (*table, error) { return b, nil })
	dag.Add1(g, dag.Spec{Name: "c"}, "a", func(context.Context, *table) (*table, error) {
		if c == nil {
			return nil, errors.New("c broke")
		}
		return c, nil
	})
	d, err := g.Build()
	require.NoError(t, err)
	p, err := d.Plan("b", "c")
	require.NoError(t, err)
	_, err = d.Execute(context.Background(), p, map[string]any{"in": 0}, dag.Workers(4), dag.WithHooks(r.Hooks()))
	return err
}

func TestRunnerCollectsEveryFailure(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := NewRunner(log,
		On("a", Unique("d").Fail(), Ascending("d").Fail()),
		On("b", Above("x", 0).Fail(), NotNull("x")),
		On("c", Rows(1, -1).Fail()),
	)
	require.NoError(t, err)
	require.NoError(t, r.Err(), "nothing ran yet")

	err = runGraph(t, r,
		tbl(dates("d", 19002, 19001, 19001)),
		tbl(floats("x", 1, -2, nan)),
		tbl(ints("y")),
	)
	require.NoError(t, err, "checks never fail a node")

	var fe *FailedError
	require.ErrorAs(t, r.Err(), &fe)
	var names []string
	for _, x := range fe.Failed {
		names = append(names, x.Node+"."+x.Name)
	}
	// Every failed Fail check, in spec order; the Warn one is not listed.
	require.Equal(t, []string{"a.unique_d", "a.ascending_d", "b.range_x", "c.row_count"}, names)
	msg := r.Err().Error()
	require.True(t, strings.HasPrefix(msg, "4 data-quality checks failed: "), msg)
	require.Contains(t, msg, "b: range_x expected > 0, got 1 of 3 rows outside (min -2, max 1) [fail]")
	require.Contains(t, msg, "c: row_count expected >= 1 rows, got 0 rows [fail]")

	require.Len(t, r.Results(), 5)
	res, ok := r.NodeResults("b")
	require.True(t, ok)
	require.False(t, res[1].Success)
	require.Equal(t, Warn, res[1].Importance)

	out := logs.String()
	require.Contains(t, out, `level=ERROR msg="data-quality check failed" node=a check=unique_d`)
	require.Contains(t, out, `level=WARN msg="data-quality check failed" node=b check=not_null_x`)
}

func TestRunnerSkipsFailedNodesAndPasses(t *testing.T) {
	r, err := NewRunner(nil, On("b", NotNull("x").Fail()), On("c", NotNull("x").Fail()))
	require.NoError(t, err)
	err = runGraph(t, r, tbl(ints("d", 1)), tbl(ints("x", 1)), nil)
	require.ErrorContains(t, err, "c broke")
	require.NoError(t, r.Err())
	_, ok := r.NodeResults("c")
	require.False(t, ok, "a failed node has no check results")
	res, ok := r.NodeResults("b")
	require.True(t, ok)
	require.True(t, res[0].Success)
	require.Equal(t, "b: not_null_x passed [fail]", res[0].String())
	require.Nil(t, r.Evaluate("unchecked", 1))
}

func TestEvaluateOnce(t *testing.T) {
	r, err := NewRunner(nil, On("n", Rows(2, 2).Fail()))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Evaluate("n", tbl(ints("a", 1, 2)))
		}()
	}
	wg.Wait()
	// A later call with another value gets the first results.
	res := r.Evaluate("n", tbl(ints("a", 1)))
	require.True(t, res[0].Success)
	require.Equal(t, "2 rows", res[0].Actual)
}

func TestFailedErrorSingular(t *testing.T) {
	e := &FailedError{Failed: []Result{{Node: "q", Name: "max_data_loss", Column: "data_loss_rate", Expected: "<= 1", Actual: "4.4", Importance: Fail}}}
	require.Equal(t, "1 data-quality check failed: q: max_data_loss (data_loss_rate) expected <= 1, got 4.4 [fail]", e.Error())
}

// Below checks column < v on every non-null value.
func Below(column string, v float64) Check {
	return Check{Kind: RangeKind, Column: column, Max: &Bound{Value: v, Exclusive: true}}
}

// Warn returns c with importance Warn.
func (c Check) Warn() Check { c.Importance = Warn; return c }

// Nodes returns the nodes that have checks, in the order first given.
func (r *Runner) Nodes() []string { return append([]string(nil), r.order...) }
