package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/stretchr/testify/require"
)

func nodesOf(t *testing.T, csv string, opts Options) *results {
	t.Helper()
	return runNodes(t, stringSource("in.csv", csv), opts)
}

func TestQualityMetrics(t *testing.T) {
	in := hdr +
		"2024-01-01,P1,1200.50,C1\n" +
		"2024-01-01,P1,1200.5,C1\n" + // duplicate: amounts compare as numbers
		"2024-01-01,P1,1.2005e3,C1\n" + // and again
		"2024-01-01,P01,1200.5,C1\n" + // ids compare as text: not a duplicate
		",P2,5,C2\n" + // null date
		"NA,P2,5,C2\n" + // duplicate: nulls are equal
		"2024-01-02,P3,-0,C3\n" +
		"2024-01-02,P3,0,C3\n" + // duplicate: -0 equals 0
		"2024-01-02,,,\n" + // three nulls
		"2024-01-03,P4,0.1,C4\n"
	r := nodesOf(t, in, Options{})
	q := r.quality
	require.Equal(t, int64(10), q.RawRecordCount)
	require.Equal(t, int64(5), q.CleanedRecordCount)
	require.Equal(t, frame.Float(50), q.DataLossRate)
	require.Equal(t, int64(5), q.NullCount)
	require.Equal(t, int64(4), q.DuplicateCount)
	require.Nil(t, q.RejectedRecordCount)
	require.Equal(t, `{"raw_record_count":10,"cleaned_record_count":5,"data_loss_rate":50.0,"null_count":5,"duplicate_count":4}`, mustJSON(t, q))

	// In skip mode the rejected rows are counted (and not in the raw rows).
	r = nodesOf(t, in+"2024-01-04,P5,oops,C5\n", Options{OnBadRows: SkipBadRows})
	require.NotNil(t, r.quality.RejectedRecordCount)
	require.Equal(t, int64(1), *r.quality.RejectedRecordCount)
	require.Equal(t, int64(10), r.quality.RawRecordCount)
	require.Contains(t, mustJSON(t, r.quality), `"duplicate_count":4,"rejected_record_count":1}`)

	// Zero rejected rows in skip mode is still reported.
	r = nodesOf(t, in, Options{OnBadRows: SkipBadRows})
	require.Equal(t, int64(0), *r.quality.RejectedRecordCount)
}

func TestDataLossRateIsUnrounded(t *testing.T) {
	// (45 - 43) / 45 * 100 = 4.444444444444445, as the reference prints it.
	r := runNodes(t, SampleSource(), Options{})
	require.Equal(t, frame.Float(4.444444444444445), r.quality.DataLossRate)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestDuplicatesExact compares the bitmap-free duplicate count with a
// plain map of row strings on data with many duplicates and nulls.
func TestDuplicatesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 5 {
		var b strings.Builder
		b.WriteString(hdr)
		seen := map[string]bool{}
		want := 0
		rows := 2000 + round*3000
		for range rows {
			date := fmt.Sprintf("2024-01-%02d", 1+rng.IntN(3))
			if rng.IntN(20) == 0 {
				date = ""
			}
			prod := fmt.Sprintf("P%d", rng.IntN(4))
			if rng.IntN(20) == 0 {
				prod = "NA"
			}
			cents := rng.IntN(6)
			amt := fmt.Sprintf("%d.%02d", cents/100, cents%100)
			if rng.IntN(2) == 0 {
				amt = fmt.Sprintf("%g", float64(cents)/100) // same number, other text
			}
			if rng.IntN(20) == 0 {
				amt = ""
			}
			cust := fmt.Sprintf("CUSTOMER-%d", rng.IntN(5)) // long ids: dictionary codes
			if rng.IntN(3) == 0 {
				cust = fmt.Sprintf("C%d", rng.IntN(5)) // short ids: inline keys
			}
			fmt.Fprintf(&b, "%s,%s,%s,%s\n", date, prod, amt, cust)
			norm := amt
			if norm != "" {
				norm = fmt.Sprint(cents)
			}
			if prod == "NA" {
				prod = ""
			}
			key := strings.Join([]string{date, prod, norm, cust}, "|")
			if seen[key] {
				want++
			}
			seen[key] = true
		}
		for _, w := range []int{1, 3} {
			for _, keep := range []bool{false, true} { // streaming and rows mode
				r, err := read(t, b.String(), Options{Workers: w, chunkSize: 4096, KeepRows: keep})
				require.NoError(t, err)
				got, err := r.duplicates()
				require.NoError(t, err)
				require.Equal(t, int64(want), got, "round %d workers %d keep rows %v", round, w, keep)
			}
		}
	}
}

func TestStep2EdgeCases(t *testing.T) {
	ctx := context.Background()
	_, err := EnrichedDailySummary(ctx, &DailySummary{})
	require.ErrorIs(t, err, errNoDays)
	_, err = Trend(ctx, &EnrichedSummary{})
	require.ErrorIs(t, err, errNoDays)
	w, err := WeeklyAggregate(ctx, &EnrichedSummary{})
	require.NoError(t, err)
	require.Equal(t, 0, w.Len())
	top, err := TopPerformingDays(ctx, &EnrichedSummary{})
	require.NoError(t, err)
	require.Equal(t, "[]", mustJSON(t, top))

	// One day: no change, no deviation, no weekend, zero growth.
	r := nodesOf(t, hdr+"2024-05-15,P1,10.50,C1\n2024-05-15,P2,20.25,C2\n", Options{})
	require.Equal(t, []float64{30.75}, r.enriched.TotalAmountMA7)
	require.True(t, math.IsNaN(r.enriched.TotalAmountChange[0]))
	require.True(t, math.IsNaN(r.weekly.DailyStd[0]))
	require.Equal(t, []string{"2024-05-13/2024-05-19"}, r.weekly.Week)
	require.Equal(t, `{"period_growth_rate":0.0,"max_sales_amount":30.75,"max_sales_date":"2024-05-15",`+
		`"min_sales_amount":30.75,"min_sales_date":"2024-05-15","weekday_avg_sales":30.75,`+
		`"weekend_avg_sales":null,"weekend_premium":null,"volatility":null}`, mustJSON(t, r.trend))
	require.Len(t, r.top, 1)

	// Totals that round to 0.0: growth is 0 (first mean not > 0), the
	// weekday premium over a zero weekday mean is undefined (null).
	r = nodesOf(t, hdr+"2024-05-15,P1,0.001,C1\n2024-05-18,P1,5,C1\n", Options{})
	require.Equal(t, []float64{0, 5}, r.daily.TotalAmount)
	require.Equal(t, frame.Float(0), r.trend.PeriodGrowthRate)
	require.False(t, r.trend.WeekendPremium.Valid)
	require.True(t, math.IsInf(r.enriched.TotalAmountChange[1], 1))

	// Weekends only: weekday mean and premium are null.
	r = nodesOf(t, hdr+"2024-05-18,P1,5,C1\n2024-05-19,P1,7,C1\n", Options{})
	require.False(t, r.trend.WeekdayAvgSales.Valid)
	require.Equal(t, frame.SomeFloat(6), r.trend.WeekendAvgSales)
	require.False(t, r.trend.WeekendPremium.Valid)
	require.Equal(t, []int64{2}, r.weekly.WeekendDays)
}

func TestStep2Calendar(t *testing.T) {
	// Missing days: windows and changes count rows, not calendar days;
	// rows in any order give the same result as sorted ones.
	rows := []string{
		"2024-01-01,P1,10,C1", "2024-01-03,P1,30,C1", "2024-01-10,P1,100,C1",
		"2024-01-10,P2,20,C2", "2023-12-31,P3,5,C3", "2024-01-02,P1,20,C1",
	}
	sorted := nodesOf(t, hdr+strings.Join([]string{rows[4], rows[0], rows[5], rows[1], rows[2], rows[3]}, "\n")+"\n", Options{})
	shuffled := nodesOf(t, hdr+strings.Join(rows, "\n")+"\n", Options{})
	require.Equal(t, sorted.rendered(), shuffled.rendered())

	e := shuffled.enriched
	require.Equal(t, []frame.Date{frame.DateOf(2023, 12, 31), frame.DateOf(2024, 1, 1), frame.DateOf(2024, 1, 2), frame.DateOf(2024, 1, 3), frame.DateOf(2024, 1, 10)}, e.Date)
	require.Equal(t, []float64{5, 10, 20, 30, 120}, e.TotalAmount)
	require.Equal(t, []float64{5, 7.5, 11.67, 16.25, 37}, e.TotalAmountMA7)
	require.Equal(t, 3.0, e.TotalAmountChange[4]) // 120 / 30 - 1, six days apart
	require.Equal(t, []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Wednesday"}, e.DayOfWeek)
	require.Equal(t, []bool{true, false, false, false, false}, e.IsWeekend)
	require.Equal(t, []int64{1, 1, 1, 1, 2}, e.UniqueProducts)

	// Weeks are Monday-Sunday; 2023-12-31 is a Sunday, ending its week.
	w := shuffled.weekly
	require.Equal(t, []string{"2023-12-25/2023-12-31", "2024-01-01/2024-01-07", "2024-01-08/2024-01-14"}, w.Week)
	require.Equal(t, []float64{5, 60, 120}, w.WeeklyTotal)
	require.Equal(t, []float64{5, 20, 120}, w.DailyAvg)
	require.True(t, math.IsNaN(w.DailyStd[0]))
	require.Equal(t, 10.0, w.DailyStd[1]) // 10, 20, 30: sample std 10
	require.Equal(t, []int64{1, 3, 2}, w.WeeklyTransactions)
	require.Equal(t, []float64{1, 1, 2}, w.AvgUniqueProducts)
	require.Equal(t, []int64{1, 0, 0}, w.WeekendDays)
	require.NoError(t, w.Table().Validate())
	require.NoError(t, e.Table().Validate())
	require.NoError(t, shuffled.daily.Table().Validate())
}

func TestTopAndExtremesTies(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr)
	for i, amt := range []string{"100", "300", "300", "100", "200", "300", "50", "50"} {
		fmt.Fprintf(&b, "2024-01-%02d,P1,%s,C1\n", i+1, amt)
	}
	r := nodesOf(t, b.String(), Options{})
	var dates []string
	for _, d := range r.top {
		dates = append(dates, d.Date.String())
	}
	// Equal totals keep date order; the largest come first.
	require.Equal(t, []string{"2024-01-02", "2024-01-03", "2024-01-06", "2024-01-05", "2024-01-01"}, dates)
	require.Equal(t, frame.DateOf(2024, 1, 2), r.trend.MaxSalesDate) // first of the 300s
	require.Equal(t, frame.DateOf(2024, 1, 7), r.trend.MinSalesDate) // first of the 50s
	require.Equal(t, frame.Float(-3.7), r.trend.PeriodGrowthRate)    // (1300/7 - 1350/7) / (1350/7) * 100
	require.Equal(t, frame.SomeFloat(175), r.trend.WeekdayAvgSales)  // (100+300+300+100+200+50) / 6
	require.Equal(t, frame.SomeFloat(175), r.trend.WeekendAvgSales)  // (300+50) / 2
	require.Equal(t, frame.SomeFloat(0), r.trend.WeekendPremium)
	require.Equal(t, `{"date":"2024-01-02","total_amount":300.0,"transaction_count":1,"day_of_week":"Tuesday","is_weekend":false}`, mustJSON(t, r.top[0]))
}

func TestCleanedSales(t *testing.T) {
	in := hdr + "2024-01-01,P1,5,C1\n2024-01-01,P1,0,C1\n2024-01-01,P1,-1,C1\n2024-01-01,,5,C1\n2024-01-01,P1,5,\n2024-01-02,P2,2.5,C2\n"
	r := nodesOf(t, in, Options{})
	require.Equal(t, 2, r.cleaned.Len())
	require.Same(t, r.raw, r.cleaned.Raw())
	require.Equal(t, []string{"2024-01-01|P1|5.0|C1", "2024-01-02|P2|2.5|C2"}, tableRows(r.cleaned.Table()))

	raw, err := read(t, hdr+"2024-01-01,P1,0,C1\n,P1,5,C1\n", Options{})
	require.NoError(t, err)
	_, err = CleanedSales(context.Background(), raw)
	require.EqualError(t, err, "input in.csv: no valid rows after cleaning: all 2 rows have a null field or an amount <= 0")
}

func tableRows(f *frame.Frame) []string {
	var out []string
	for i := range f.Rows() {
		cells := make([]string, len(f.Columns))
		for c := range f.Columns {
			col := &f.Columns[c]
			switch {
			case col.IsNull(i):
				cells[c] = "~"
			case col.Kind == frame.KindDate:
				cells[c] = col.Dates[i].String()
			case col.Kind == frame.KindFloat:
				cells[c] = frame.FormatFloat(col.Floats[i])
			default:
				cells[c] = col.Strings[i]
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

func TestProfile(t *testing.T) {
	in := hdr +
		"2024-01-01,P1,10.5,C1\n" +
		"2024-01-01,P2,10.5,C2\n" +
		"2024-01-03,P1,-2,C1\n" +
		",,,CUSTOMER-LONG-1\n" +
		"2024-01-05,P3,0,CUSTOMER-LONG-1\n"
	for _, w := range []int{1, 3} {
		r, err := read(t, in+"bad,P,1,C\n", Options{Workers: w, OnBadRows: SkipBadRows})
		require.NoError(t, err)
		p := mustProfile(t, r)
		require.Equal(t, InputProfile{
			RowCount: 5, Bytes: int64(len(in) + 10), RejectedCount: 1,
			Columns: []ColumnProfile{
				{Name: "date", NullCount: 1, DistinctCount: 3},
				{Name: "product_id", NullCount: 1, DistinctCount: 3},
				{Name: "amount", NullCount: 1, DistinctCount: 3},
				{Name: "customer_id", NullCount: 0, DistinctCount: 3},
			},
			AmountCount: 4, AmountSum: 19, AmountMin: -2, AmountMax: 10.5,
		}, p)
		require.Equal(t, p, mustProfile(t, r)) // computed once
	}
	r, err := read(t, hdr+",P,,C\n", Options{})
	require.NoError(t, err)
	p := mustProfile(t, r)
	require.Equal(t, int64(0), p.AmountCount)
	require.Equal(t, 0.0, p.AmountMin)
	require.Equal(t, int64(0), p.Columns[0].DistinctCount)
}

// TestWorkersGiveIdenticalResults runs the chain on a generated file of
// 200k rows with 1 and 8 workers (and small chunks, so that chunk
// boundaries fall everywhere) and compares every output byte for byte.
func TestWorkersGiveIdenticalResults(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 200k rows")
	}
	path := filepath.Join(t.TempDir(), "sales.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, Generate(f, 200_000, 42))
	require.NoError(t, f.Close())
	src, err := FileSource(path)
	require.NoError(t, err)

	one := runNodes(t, src, Options{Workers: 1})
	eight := runNodes(t, src, Options{Workers: 8, chunkSize: 64 << 10})
	require.Equal(t, one.rendered(), eight.rendered())
	require.Equal(t, mustProfile(t, one.raw), mustProfile(t, eight.raw))
	require.Equal(t, rowStrings(one.raw), rowStrings(eight.raw))
	require.Equal(t, 200_000, one.raw.Len())
	require.Positive(t, one.quality.DuplicateCount)
}

func TestRegister(t *testing.T) {
	g := dag.New()
	Register(g)
	d, err := g.Build()
	require.NoError(t, err)
	var names []string
	deps := map[string][]string{}
	for _, n := range d.Nodes() {
		names = append(names, n.Name)
		deps[n.Name] = n.Deps
	}
	require.ElementsMatch(t, []string{InputSource, InputOptions, NodeRaw, NodeCleaned, NodeDaily, NodeQuality, NodeEnriched, NodeWeekly, NodeTrend, NodeTop}, names)
	require.Equal(t, []string{InputSource, InputOptions}, deps[NodeRaw])
	require.Equal(t, []string{NodeRaw, NodeCleaned}, deps[NodeQuality])
	require.Equal(t, []string{NodeEnriched}, deps[NodeTop])

	p, err := d.Plan(DefaultOutputs...)
	require.NoError(t, err)
	res, err := d.Execute(context.Background(), p, map[string]any{InputSource: SampleSource(), InputOptions: Options{}})
	require.NoError(t, err)
	require.IsType(t, TrendAnalysis{}, res[NodeTrend])
	require.Equal(t, frame.Float(33.74), res[NodeTrend].(TrendAnalysis).PeriodGrowthRate)
	require.IsType(t, &RawSales{}, res[NodeRaw])
	require.Equal(t, 45, res[NodeRaw].(*RawSales).Len())

	// A bad row fails the run naming the node, the file and the line.
	p, err = d.Plan(NodeQuality)
	require.NoError(t, err)
	_, err = d.Execute(context.Background(), p, map[string]any{
		InputSource: stringSource("bad.csv", hdr+"2024-01-01,P,1,C\n2024-01-02,P,x,C\n"), InputOptions: Options{}})
	var ne *dag.NodeError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, NodeRaw, ne.Node)
	var bre *BadRowError
	require.ErrorAs(t, err, &bre)
	require.Equal(t, int64(3), bre.Line)
	require.ErrorContains(t, err, `bad.csv:3: invalid amount (want a decimal number such as 12.50)`)
}

func TestDailyWideDateRangeAndManyProducts(t *testing.T) {
	// Dates thousands of years apart: slots are ranks among present dates.
	r := nodesOf(t, hdr+"9999-12-31,P1,3,C1\n0001-01-01,P2,1,C2\n5000-06-15,P1,2,C1\n0001-01-01,P1,4,C3\n", Options{Workers: 2})
	require.Equal(t, []frame.Date{frame.DateOf(1, 1, 1), frame.DateOf(5000, 6, 15), frame.DateOf(9999, 12, 31)}, r.daily.Date)
	require.Equal(t, []float64{5, 2, 3}, r.daily.TotalAmount)
	require.Equal(t, []int64{2, 1, 1}, r.daily.UniqueProducts)
	require.Equal(t, int64(3), mustProfile(t, r.raw).Columns[colDate].DistinctCount)

	// Many products over many dates: (date, product) pairs are counted with
	// a set instead of a bitset; both give the same counts.
	var b strings.Builder
	b.WriteString(hdr)
	want := map[int]map[int]bool{}
	for i := range 24_000 {
		day, prod := i%1000, (i*7919)%20_000
		fmt.Fprintf(&b, "%s,P%d,1,C\n", dateString(daysFromCivil(2020, 1, 1)+int32(day)), prod)
		if want[day] == nil {
			want[day] = map[int]bool{}
		}
		want[day][prod] = true
	}
	for _, w := range []int{1, 2} {
		r = nodesOf(t, b.String(), Options{Workers: w})
		require.Len(t, r.daily.Date, 1000)
		for k := range r.daily.Date {
			require.Equal(t, int64(len(want[k])), r.daily.UniqueProducts[k])
		}
	}
}
