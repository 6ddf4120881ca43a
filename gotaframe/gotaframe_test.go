package gotaframe_test

import (
	"context"
	"math"
	"testing"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/gotaframe"
)

// requireSameTable checks that two tables hold the same data: names,
// kinds, rows, which rows are null, and every non-null value (floats bit
// for bit, so -0 and 0 differ).
func requireSameTable(t *testing.T, want, got *salesdag.Table) {
	t.Helper()
	require.Equal(t, len(want.Columns), len(got.Columns), "columns")
	for ci := range want.Columns {
		w, g := &want.Columns[ci], &got.Columns[ci]
		require.Equal(t, w.Name, g.Name)
		require.Equal(t, w.Kind, g.Kind, "column %q", w.Name)
		require.Equal(t, w.Len(), g.Len(), "column %q", w.Name)
		for i := range w.Len() {
			require.Equal(t, w.IsNull(i), g.IsNull(i), "column %q row %d: null", w.Name, i)
			if w.IsNull(i) {
				continue
			}
			switch w.Kind {
			case salesdag.KindInt:
				require.Equal(t, w.Ints[i], g.Ints[i], "column %q row %d", w.Name, i)
			case salesdag.KindFloat:
				require.Equal(t, math.Float64bits(w.Floats[i]), math.Float64bits(g.Floats[i]), "column %q row %d: %v vs %v", w.Name, i, w.Floats[i], g.Floats[i])
			case salesdag.KindString:
				require.Equal(t, w.Strings[i], g.Strings[i], "column %q row %d", w.Name, i)
			case salesdag.KindBool:
				require.Equal(t, w.Bools[i], g.Bools[i], "column %q row %d", w.Name, i)
			case salesdag.KindDate:
				require.Equal(t, w.Dates[i], g.Dates[i], "column %q row %d", w.Name, i)
			}
		}
	}
}

// requireSameFrame checks two DataFrames element by element: names,
// series types, NA and values (floats bit for bit).
func requireSameFrame(t *testing.T, want, got dataframe.DataFrame) {
	t.Helper()
	require.NoError(t, got.Err)
	require.Equal(t, want.Names(), got.Names())
	require.Equal(t, want.Types(), got.Types())
	require.Equal(t, want.Nrow(), got.Nrow())
	for _, name := range want.Names() {
		ws, gs := want.Col(name), got.Col(name)
		for i := range ws.Len() {
			we, ge := ws.Elem(i), gs.Elem(i)
			require.Equal(t, we.IsNA(), ge.IsNA(), "column %q row %d: NA", name, i)
			if we.IsNA() {
				continue
			}
			if ws.Type() == series.Float {
				require.Equal(t, math.Float64bits(we.Float()), math.Float64bits(ge.Float()), "column %q row %d", name, i)
			} else {
				require.Equal(t, we.String(), ge.String(), "column %q row %d", name, i)
			}
		}
	}
}

func dates(ds ...salesdag.Date) []salesdag.Date { return ds }

func TestTableToDataFrameAndBack(t *testing.T) {
	d := salesdag.DateOf
	tests := []struct {
		name  string
		table *salesdag.Table
		dates []string
	}{
		{"every kind with nulls", &salesdag.Table{Columns: []salesdag.Column{
			{Name: "i", Kind: salesdag.KindInt, Ints: []int64{0, -1, math.MaxInt64, math.MinInt64, 7}, Valid: []bool{true, true, true, true, false}},
			{Name: "f", Kind: salesdag.KindFloat, Floats: []float64{0.1 + 0.2, math.Copysign(0, -1), math.Inf(1), math.NaN(), 5e-324}},
			{Name: "fv", Kind: salesdag.KindFloat, Floats: []float64{1, 2, 3, 4, 5}, Valid: []bool{true, false, true, true, true}},
			{Name: "s", Kind: salesdag.KindString, Strings: []string{"", "NaN", "x,y", "NA", "é"}, Valid: []bool{true, true, true, false, true}},
			{Name: "b", Kind: salesdag.KindBool, Bools: []bool{true, false, true, false, true}, Valid: []bool{true, true, false, true, true}},
			{Name: "date", Kind: salesdag.KindDate, Dates: dates(d(2024, 1, 1), d(1969, 12, 31), 0, d(2024, 2, 29), d(9999, 12, 31)), Valid: []bool{true, true, false, true, true}},
		}}, []string{"date"}},
		{"no nulls", &salesdag.Table{Columns: []salesdag.Column{
			{Name: "date", Kind: salesdag.KindDate, Dates: dates(d(2024, 3, 1), d(2024, 3, 2))},
			{Name: "n", Kind: salesdag.KindInt, Ints: []int64{1, 2}},
		}}, []string{"date"}},
		{"no rows", &salesdag.Table{Columns: []salesdag.Column{
			{Name: "date", Kind: salesdag.KindDate, Dates: []salesdag.Date{}},
			{Name: "x", Kind: salesdag.KindFloat, Floats: []float64{}},
		}}, []string{"date"}},
		{"a date column left as strings", &salesdag.Table{Columns: []salesdag.Column{
			{Name: "week", Kind: salesdag.KindString, Strings: []string{"2024-01-01/2024-01-07"}},
		}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			df, err := gotaframe.ToDataFrame(tc.table)
			require.NoError(t, err)
			require.Equal(t, tc.table.Rows(), df.Nrow())
			back, err := gotaframe.FromDataFrame(df, tc.dates...)
			require.NoError(t, err)
			requireSameTable(t, tc.table, back)
		})
	}
}

func TestDataFrameToTableAndBack(t *testing.T) {
	tests := []struct {
		name  string
		df    dataframe.DataFrame
		dates []string
	}{
		{"series with NA", dataframe.New(
			series.New([]any{1, nil, -3}, series.Int, "i"),
			series.New([]any{1.5, nil, math.Inf(-1)}, series.Float, "f"),
			series.New([]any{true, nil, false}, series.Bool, "b"),
			series.New([]any{"a", nil, ""}, series.String, "s"),
			series.New([]any{"2024-01-31", nil, "2000-02-29"}, series.String, "day"),
		), []string{"day"}},
		{"loaded from records", dataframe.LoadRecords([][]string{
			{"date", "total", "count", "weekend", "name"},
			{"2024-01-06", "10.25", "3", "true", "Sat"},
			{"2024-01-07", "NaN", "4", "false", "NaN"},
		}), []string{"date"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.df.Err)
			tab, err := gotaframe.FromDataFrame(tc.df, tc.dates...)
			require.NoError(t, err)
			require.Equal(t, tc.df.Nrow(), tab.Rows())
			back, err := gotaframe.ToDataFrame(tab)
			require.NoError(t, err)
			requireSameFrame(t, tc.df, back)
		})
	}
}

// TestPipelineTables: every table the pipeline produces, on messy input
// (nulls, bad amounts, duplicates), survives the round trip.
func TestPipelineTables(t *testing.T) {
	d, err := salesdag.New()
	require.NoError(t, err)
	outputs := []string{"raw_sales_data", "cleaned_sales_data", "daily_sales_summary", "enriched_daily_summary", "weekly_aggregation"}
	res, err := d.Run(context.Background(), salesdag.RunOptions{Input: "testdata/messy.csv", Outputs: outputs, SkipBadRows: true})
	require.NoError(t, err)
	nulls := 0
	for _, name := range outputs {
		tab, err := salesdag.Get[*salesdag.Table](res, name)
		require.NoError(t, err)
		require.Positive(t, tab.Rows(), name)
		var dateCols []string
		for i, c := range tab.Columns {
			if c.Kind == salesdag.KindDate {
				dateCols = append(dateCols, c.Name)
			}
			for r := range c.Len() {
				if tab.Columns[i].IsNull(r) {
					nulls++
				}
			}
		}
		df, err := gotaframe.ToDataFrame(tab)
		require.NoError(t, err, name)
		back, err := gotaframe.FromDataFrame(df, dateCols...)
		require.NoError(t, err, name)
		requireSameTable(t, tab, back)
	}
	require.Positive(t, nulls, "the input should give null cells to convert")
}

func TestErrors(t *testing.T) {
	tab := func(cols ...salesdag.Column) *salesdag.Table { return &salesdag.Table{Columns: cols} }
	for _, tc := range []struct {
		name  string
		table *salesdag.Table
		want  string
	}{
		{"no columns", tab(), "without columns"},
		{"uneven", tab(salesdag.Column{Name: "a", Kind: salesdag.KindInt, Ints: []int64{1}}, salesdag.Column{Name: "b", Kind: salesdag.KindInt}), `column "b" has 0 rows, want 1`},
		{"duplicate name", tab(salesdag.Column{Name: "a", Kind: salesdag.KindInt}, salesdag.Column{Name: "a", Kind: salesdag.KindInt}), "used twice"},
		{"year 10000", tab(salesdag.Column{Name: "d", Kind: salesdag.KindDate, Dates: dates(salesdag.DateOf(10000, 1, 1))}), "year 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gotaframe.ToDataFrame(tc.table)
			require.ErrorContains(t, err, tc.want)
		})
	}
	df := dataframe.New(series.New([]string{"2024-01-01", "soon"}, series.String, "d"))
	_, err := gotaframe.FromDataFrame(df, "d")
	require.EqualError(t, err, `gotaframe: column "d": row 2 is not a YYYY-MM-DD date`)
	_, err = gotaframe.FromDataFrame(df, "day")
	require.ErrorContains(t, err, `date column "day" is not in the DataFrame`)
	_, err = gotaframe.FromDataFrame(dataframe.New())
	require.ErrorContains(t, err, "carries an error")
}
