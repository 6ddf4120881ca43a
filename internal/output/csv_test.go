package output

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func csvString(t testing.TB, f *frame.Frame) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, f))
	return buf.String()
}

func dates(y int, m time.Month, d, n int) []frame.Date {
	out := make([]frame.Date, n)
	for i := range out {
		out[i] = frame.DateOf(y, m, d) + frame.Date(i)
	}
	return out
}

// dailySample is daily_sales_summary of the sample, typed by hand from the
// reference file.
func dailySample() *frame.Frame {
	return &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: dates(2024, 1, 1, 15)},
		{Name: "total_amount", Kind: frame.KindFloat, Floats: []float64{
			4151.25, 2700.25, 4300.5, 4791.25, 7601, 8301.5, 3900.75, 8001,
			6701.25, 6251.5, 6400.75, 5701, 7751.25, 6401.5, 8600.75}},
		{Name: "avg_amount", Kind: frame.KindFloat, Floats: []float64{
			1383.75, 1350.12, 2150.25, 1597.08, 2533.67, 2767.17, 1300.25, 2667,
			2233.75, 2083.83, 2133.58, 1900.33, 2583.75, 2133.83, 2866.92}},
		{Name: "transaction_count", Kind: frame.KindInt, Ints: []int64{3, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}},
		{Name: "unique_products", Kind: frame.KindInt, Ints: []int64{3, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}},
	}}
}

// weeklySample is weekly_aggregation of the sample; the last week has one
// day, so its sample standard deviation is null.
func weeklySample() *frame.Frame {
	return &frame.Frame{Columns: []frame.Column{
		{Name: "week", Kind: frame.KindString, Strings: []string{
			"2024-01-01/2024-01-07", "2024-01-08/2024-01-14", "2024-01-15/2024-01-21"}},
		{Name: "weekly_total", Kind: frame.KindFloat, Floats: []float64{35746.5, 47208.25, 8600.75}},
		{Name: "daily_avg", Kind: frame.KindFloat, Floats: []float64{5106.64, 6744.04, 8600.75}},
		{Name: "daily_std", Kind: frame.KindFloat, Floats: []float64{2054.91, 832.86, math.NaN()}},
		{Name: "weekly_transactions", Kind: frame.KindInt, Ints: []int64{19, 21, 3}},
		{Name: "avg_unique_products", Kind: frame.KindFloat, Floats: []float64{2.71, 3, 3}},
		{Name: "weekend_days", Kind: frame.KindInt, Ints: []int64{2, 2, 0}},
	}}
}

// parseTyped reads a simple (unquoted) CSV into a frame with the given
// kinds; empty fields are null. It lets a whole reference file go through
// WriteCSV without typing every value.
func parseTyped(t testing.TB, text string, kinds ...frame.Kind) *frame.Frame {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	header := strings.Split(lines[0], ",")
	require.Len(t, header, len(kinds))
	f := &frame.Frame{Columns: make([]frame.Column, len(kinds))}
	for i, k := range kinds {
		f.Columns[i] = frame.Column{Name: header[i], Kind: k, Valid: make([]bool, 0, len(lines)-1)}
	}
	for _, line := range lines[1:] {
		fields := strings.Split(line, ",")
		require.Len(t, fields, len(kinds), line)
		for i, s := range fields {
			c := &f.Columns[i]
			c.Valid = append(c.Valid, s != "")
			var err error
			switch c.Kind {
			case frame.KindFloat:
				v := 0.0
				if s != "" {
					v, err = strconv.ParseFloat(s, 64)
				}
				c.Floats = append(c.Floats, v)
			case frame.KindInt:
				var v int64
				if s != "" {
					v, err = strconv.ParseInt(s, 10, 64)
				}
				c.Ints = append(c.Ints, v)
			case frame.KindString:
				c.Strings = append(c.Strings, s)
			case frame.KindBool:
				c.Bools = append(c.Bools, s == "True")
			case frame.KindDate:
				var d time.Time
				d, err = time.Parse(time.DateOnly, s)
				c.Dates = append(c.Dates, frame.Date(d.Unix()/86400))
			}
			require.NoError(t, err, line)
		}
	}
	require.NoError(t, f.Validate())
	return f
}

func TestWriteCSVMatchesReferenceFiles(t *testing.T) {
	F, I, S, B, D := frame.KindFloat, frame.KindInt, frame.KindString, frame.KindBool, frame.KindDate
	enriched := string(readTestdata(t, "reference/enriched_daily_summary.csv"))
	cases := []struct {
		name  string
		frame *frame.Frame
	}{
		{"daily_sales_summary.csv", dailySample()},
		{"weekly_aggregation.csv", weeklySample()},
		{"enriched_daily_summary.csv", parseTyped(t, enriched, D, F, F, I, I, F, F, F, F, S, B)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := string(readTestdata(t, "reference/"+c.name))
			require.Equal(t, want, csvString(t, c.frame))
		})
	}
}

func TestWriteCSVQuotingMatchesPythonCSV(t *testing.T) {
	// testdata/python/csv_quoting.csv was written by CPython's csv module
	// (see generate.py): a header row and four data rows.
	f := &frame.Frame{Columns: []frame.Column{
		{Name: "plain", Kind: frame.KindString, Strings: []string{"x", "line\nbreak", `"`, "semi;colon"}},
		{Name: "a,b", Kind: frame.KindString, Strings: []string{"1,000", "", `""`, "tab\there"}},
		{Name: "tricky", Kind: frame.KindString, Strings: []string{`say "hi"`, " spaces ", "ünïcode", "'single'"}},
	}}
	require.Equal(t, string(readTestdata(t, "python/csv_quoting.csv")), csvString(t, f))

	// A row whose only field is empty is written as "" (Python's csv
	// writer does this so the row does not read back as a blank line).
	single := &frame.Frame{Columns: []frame.Column{
		{Name: "name", Kind: frame.KindString, Strings: []string{"a", "", "b"}},
	}}
	require.Equal(t, string(readTestdata(t, "python/csv_single_column.csv")), csvString(t, single))
}

func TestWriteCSVCells(t *testing.T) {
	negZero := math.Copysign(0, -1)
	cases := []struct {
		name string
		col  frame.Column
		want string // the cells, one per line
	}{
		{"float repr", frame.Column{Kind: frame.KindFloat, Floats: []float64{850, 1350.12, 0.1, 1e16, 1e-5, 0.0001, 123456789.125}},
			"850.0\n1350.12\n0.1\n1e+16\n1e-05\n0.0001\n123456789.125\n"},
		{"signed zero", frame.Column{Kind: frame.KindFloat, Floats: []float64{negZero, 0}}, "-0.0\n0.0\n"},
		{"NaN is null", frame.Column{Kind: frame.KindFloat, Floats: []float64{math.NaN(), 1}}, "\n1.0\n"},
		{"infinities as pandas writes them", frame.Column{Kind: frame.KindFloat, Floats: []float64{math.Inf(1), math.Inf(-1)}}, "inf\n-inf\n"},
		{"float validity", frame.Column{Kind: frame.KindFloat, Floats: []float64{1, 2}, Valid: []bool{false, true}}, "\n2.0\n"},
		{"ints", frame.Column{Kind: frame.KindInt, Ints: []int64{0, -3, math.MaxInt64, math.MinInt64}},
			"0\n-3\n9223372036854775807\n-9223372036854775808\n"},
		{"null int", frame.Column{Kind: frame.KindInt, Ints: []int64{7, 0}, Valid: []bool{true, false}}, "7\n\n"},
		{"bools", frame.Column{Kind: frame.KindBool, Bools: []bool{true, false, true}, Valid: []bool{true, true, false}}, "True\nFalse\n\n"},
		{"dates", frame.Column{Kind: frame.KindDate, Dates: []frame.Date{
			0, -1, frame.DateOf(2024, 2, 29), frame.DateOf(2000, 3, 1), frame.DateOf(1600, 2, 29),
			frame.DateOf(9999, 12, 31), frame.DateOf(1, 1, 1), frame.DateOf(10000, 1, 1)}},
			"1970-01-01\n1969-12-31\n2024-02-29\n2000-03-01\n1600-02-29\n9999-12-31\n0001-01-01\n10000-01-01\n"},
		{"null date", frame.Column{Kind: frame.KindDate, Dates: []frame.Date{1}, Valid: []bool{false}}, "\n"},
		{"null string", frame.Column{Kind: frame.KindString, Strings: []string{"x", "y"}, Valid: []bool{true, false}}, "x\n\n"},
		{"carriage return is quoted", frame.Column{Kind: frame.KindString, Strings: []string{"a\rb", "\r"}}, "\"a\rb\"\n\"\r\"\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A second column keeps null cells from being a row's only field.
			c.col.Name = "c"
			n := c.col.Len()
			other := frame.Column{Name: "k", Kind: frame.KindInt, Ints: make([]int64, n)}
			want := "c,k\n" + strings.ReplaceAll(c.want, "\n", ",0\n")
			require.Equal(t, want, csvString(t, &frame.Frame{Columns: []frame.Column{c.col, other}}))
		})
	}
}

func TestWriteCSVShapes(t *testing.T) {
	require.Equal(t, "\n", csvString(t, &frame.Frame{}), "no columns: an empty header row, as csv.writer.writerow([]) writes")
	require.Equal(t, "s,n\n\"a\r\nb\",1\n\"x\ny\",2\n", csvString(t, &frame.Frame{Columns: []frame.Column{
		{Name: "s", Kind: frame.KindString, Strings: []string{"a\r\nb", "x\ny"}},
		{Name: "n", Kind: frame.KindInt, Ints: []int64{1, 2}}}}), "line breaks inside a field are kept, quoted")
	require.Equal(t, "a,b\n", csvString(t, &frame.Frame{Columns: []frame.Column{
		{Name: "a", Kind: frame.KindInt}, {Name: "b", Kind: frame.KindString}}}), "no rows: header only")
	require.Equal(t, "\"\"\n1\n", csvString(t, &frame.Frame{Columns: []frame.Column{{Kind: frame.KindInt, Ints: []int64{1}}}}),
		"single unnamed column: empty header field is quoted")
	require.Equal(t, ",\n,\n", csvString(t, &frame.Frame{Columns: []frame.Column{
		{Kind: frame.KindString, Strings: []string{""}}, {Kind: frame.KindString, Strings: []string{""}}}}),
		"two empty fields need no quotes")
}

func TestAppendPyFloatAgreesWithFrameFormatFloat(t *testing.T) {
	// appendPyFloat's fast path must give exactly frame.FormatFloat (the
	// Python repr reference) everywhere, especially around the 1e-4 and
	// 1e16 notation boundaries.
	vals := []float64{0, math.Copysign(0, -1), 1e-4, math.Nextafter(1e-4, 0), 1e16, math.Nextafter(1e16, 0),
		-1e16, 9999999999999998, 5e-324, math.MaxFloat64, 0.30000000000000004, 2.5, 1e15, 123.456e-3,
		0.01, -0.01, 0.05, 0.1, 0.125, 1.005, 2.675, 1350.12, 9999999999999.99, 1e13 - 0.01, 1e13, 1e13 + 0.01,
		35184372088831.99, 0.07, 0.29, 4.35, 1e-2, 1e-3, 999.995, -0.3495, 0.0243, 0.5926, 1.0511, 0.0001, 0.0009,
		1e11, 1e11 - 0.0001, 99999999999.9999, 274877906943.9999, 0.00015, 1.00005}
	for i := range 20000 {
		cents := float64(i) * 7919
		vals = append(vals, cents/100, -cents/100, float64(i)/100, (1e13-float64(i))/100*100,
			float64(i)/1e4, -cents/1e4, (1e15-cents)/1e4)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		vals = append(vals, math.Float64frombits(r.Uint64()))
		vals = append(vals, math.Round(r.NormFloat64()*1e6)/100)
		vals = append(vals, r.Float64()*math.Pow(10, float64(r.IntN(44)-22)))
	}
	for _, v := range vals {
		if got, want := string(appendPyFloat(nil, v)), frame.FormatFloat(v); got != want {
			t.Fatalf("appendPyFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestCivilAgreesWithTime(t *testing.T) {
	for d := int64(-800000); d <= 3000000; d += 7 {
		y, m, dd := civil(d)
		ty, tm, td := time.Unix(d*86400, 0).UTC().Date()
		if y != int64(ty) || m != int64(tm) || dd != int64(td) {
			t.Fatalf("civil(%d) = %d-%d-%d, want %d-%d-%d", d, y, m, dd, ty, tm, td)
		}
	}
}

type failWriter struct {
	after int // bytes accepted before failing
	n     int
}

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.after {
		k := w.after - w.n
		w.n = w.after
		return k, errDiskFull
	}
	w.n += len(p)
	return len(p), nil
}

func TestWriteCSVErrors(t *testing.T) {
	require.ErrorContains(t, WriteCSV(&bytes.Buffer{}, nil), "frame is nil")
	bad := &frame.Frame{Columns: []frame.Column{
		{Name: "a", Kind: frame.KindInt, Ints: []int64{1, 2}},
		{Name: "b", Kind: frame.KindInt, Ints: []int64{1}},
	}}
	require.ErrorContains(t, WriteCSV(&bytes.Buffer{}, bad), `column "b" has 1 rows, want 2`)

	big := benchFrame(20000)
	err := WriteCSV(&failWriter{after: 100000}, big)
	require.ErrorIs(t, err, errDiskFull)
	require.ErrorContains(t, err, "output: write CSV")
}

// benchFrame is an enriched_daily_summary-shaped table of n rows.
func benchFrame(n int) *frame.Frame {
	r := rand.New(rand.NewPCG(3, 4))
	f := &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: make([]frame.Date, n)},
		{Name: "total_amount", Kind: frame.KindFloat, Floats: make([]float64, n)},
		{Name: "avg_amount", Kind: frame.KindFloat, Floats: make([]float64, n)},
		{Name: "transaction_count", Kind: frame.KindInt, Ints: make([]int64, n)},
		{Name: "unique_products", Kind: frame.KindInt, Ints: make([]int64, n)},
		{Name: "total_amount_ma7", Kind: frame.KindFloat, Floats: make([]float64, n)},
		{Name: "avg_amount_ma7", Kind: frame.KindFloat, Floats: make([]float64, n)},
		{Name: "total_amount_change", Kind: frame.KindFloat, Floats: make([]float64, n)},
		{Name: "avg_amount_change", Kind: frame.KindFloat, Floats: make([]float64, n)},
		{Name: "day_of_week", Kind: frame.KindString, Strings: make([]string, n)},
		{Name: "is_weekend", Kind: frame.KindBool, Bools: make([]bool, n)},
	}}
	c := f.Columns
	start := frame.DateOf(2024, 1, 1)
	for i := 0; i < n; i++ {
		d := start + frame.Date(i)
		c[0].Dates[i] = d
		c[1].Floats[i] = math.Round(r.Float64()*1e6) / 100
		c[2].Floats[i] = math.Round(r.Float64()*1e5) / 100
		c[3].Ints[i] = int64(r.IntN(5000))
		c[4].Ints[i] = int64(r.IntN(500))
		c[5].Floats[i] = math.Round(r.Float64()*1e6) / 100
		c[6].Floats[i] = math.Round(r.Float64()*1e5) / 100
		c[7].Floats[i] = math.Round((r.Float64()-0.5)*1e4) / 1e4
		c[8].Floats[i] = math.Round((r.Float64()-0.5)*1e4) / 1e4
		c[9].Strings[i] = d.Weekday().String()
		c[10].Bools[i] = d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
	}
	c[7].Floats[0], c[8].Floats[0] = math.NaN(), math.NaN()
	return f
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func benchmarkWriteCSV(b *testing.B, rows int) {
	f := benchFrame(rows)
	var w countWriter
	require.NoError(b, WriteCSV(&w, f))
	b.SetBytes(w.n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := WriteCSV(&w, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteCSV365(b *testing.B)  { benchmarkWriteCSV(b, 365) }
func BenchmarkWriteCSV100k(b *testing.B) { benchmarkWriteCSV(b, 100000) }
