package pipeline

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/salesdag/salesdag/internal/frame"
)

// EnrichedSummary is enriched_daily_summary: the daily columns plus moving
// averages, day-over-day changes and the weekday.
type EnrichedSummary struct {
	DailySummary
	TotalAmountMA7    []float64
	AvgAmountMA7      []float64
	TotalAmountChange []float64 // NaN (null) on the first row
	AvgAmountChange   []float64
	DayOfWeek         []string
	IsWeekend         []bool
}

// Table implements frame.Tabler.
func (e *EnrichedSummary) Table() *frame.Frame {
	cols := e.DailySummary.columns()
	cols = append(cols,
		frame.Column{Name: "total_amount_ma7", Kind: frame.KindFloat, Floats: e.TotalAmountMA7},
		frame.Column{Name: "avg_amount_ma7", Kind: frame.KindFloat, Floats: e.AvgAmountMA7},
		frame.Column{Name: "total_amount_change", Kind: frame.KindFloat, Floats: e.TotalAmountChange},
		frame.Column{Name: "avg_amount_change", Kind: frame.KindFloat, Floats: e.AvgAmountChange},
		frame.Column{Name: "day_of_week", Kind: frame.KindString, Strings: e.DayOfWeek},
		frame.Column{Name: "is_weekend", Kind: frame.KindBool, Bools: e.IsWeekend},
	)
	return &frame.Frame{Columns: cols}
}

func isWeekend(d frame.Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

var errNoDays = errors.New("no daily rows to analyse")

func roundAll(v []float64, d int) []float64 {
	for i := range v {
		v[i] = round(v[i], d)
	}
	return v
}

// EnrichedDailySummary is the enriched_daily_summary node. Windows count
// rows, not calendar days, as in the reference.
func EnrichedDailySummary(ctx context.Context, d *DailySummary) (*EnrichedSummary, error) {
	if d.Len() == 0 {
		return nil, errNoDays
	}
	e := &EnrichedSummary{
		DailySummary:      *d,
		TotalAmountMA7:    roundAll(rollingMean(d.TotalAmount, 7), 2),
		AvgAmountMA7:      roundAll(rollingMean(d.AvgAmount, 7), 2),
		TotalAmountChange: roundAll(pctChange(d.TotalAmount), 4),
		AvgAmountChange:   roundAll(pctChange(d.AvgAmount), 4),
		DayOfWeek:         make([]string, d.Len()),
		IsWeekend:         make([]bool, d.Len()),
	}
	for i, day := range d.Date {
		e.DayOfWeek[i] = day.Weekday().String()
		e.IsWeekend[i] = isWeekend(day)
	}
	return e, ctx.Err()
}

// WeeklyAggregation is weekly_aggregation: one row per Monday-Sunday week.
type WeeklyAggregation struct {
	Week               []string // "YYYY-MM-DD/YYYY-MM-DD", Monday/Sunday
	WeeklyTotal        []float64
	DailyAvg           []float64
	DailyStd           []float64 // NaN (null) for a one-row week
	WeeklyTransactions []int64
	AvgUniqueProducts  []float64
	WeekendDays        []int64
}

// Len returns the number of weeks.
func (w *WeeklyAggregation) Len() int { return len(w.Week) }

// Table implements frame.Tabler.
func (w *WeeklyAggregation) Table() *frame.Frame {
	return &frame.Frame{Columns: []frame.Column{
		{Name: "week", Kind: frame.KindString, Strings: w.Week},
		{Name: "weekly_total", Kind: frame.KindFloat, Floats: w.WeeklyTotal},
		{Name: "daily_avg", Kind: frame.KindFloat, Floats: w.DailyAvg},
		{Name: "daily_std", Kind: frame.KindFloat, Floats: w.DailyStd},
		{Name: "weekly_transactions", Kind: frame.KindInt, Ints: w.WeeklyTransactions},
		{Name: "avg_unique_products", Kind: frame.KindFloat, Floats: w.AvgUniqueProducts},
		{Name: "weekend_days", Kind: frame.KindInt, Ints: w.WeekendDays},
	}}
}

// weekStart returns the Monday on or before d.
func weekStart(d frame.Date) frame.Date {
	return d - frame.Date((int(d.Weekday())+6)%7)
}

// WeeklyAggregate is the weekly_aggregation node: pandas' groupby sum and
// mean (compensated) and std (Welford) per week, rounded to 2.
func WeeklyAggregate(ctx context.Context, e *EnrichedSummary) (*WeeklyAggregation, error) {
	w := &WeeklyAggregation{}
	var (
		total, products kahan
		std             welford
		n, tx, weekend  int64
	)
	flush := func(start frame.Date) {
		w.Week = append(w.Week, start.String()+"/"+(start+6).String())
		w.WeeklyTotal = append(w.WeeklyTotal, round(total.sum, 2))
		w.DailyAvg = append(w.DailyAvg, round(total.sum/float64(n), 2))
		w.DailyStd = append(w.DailyStd, round(std.std(), 2))
		w.WeeklyTransactions = append(w.WeeklyTransactions, tx)
		w.AvgUniqueProducts = append(w.AvgUniqueProducts, round(products.sum/float64(n), 2))
		w.WeekendDays = append(w.WeekendDays, weekend)
	}
	for i, day := range e.Date {
		if i > 0 && weekStart(day) != weekStart(e.Date[i-1]) {
			flush(weekStart(e.Date[i-1]))
			total, products, std, n, tx, weekend = kahan{}, kahan{}, welford{}, 0, 0, 0
		}
		v := e.TotalAmount[i]
		total.add(v)
		std.add(v)
		products.add(float64(e.UniqueProducts[i]))
		n++
		tx += e.TransactionCount[i]
		if e.IsWeekend[i] {
			weekend++
		}
	}
	if n > 0 {
		flush(weekStart(e.Date[len(e.Date)-1]))
	}
	return w, ctx.Err()
}

// TrendAnalysis is trend_analysis. Field order is the reference's.
type TrendAnalysis struct {
	PeriodGrowthRate frame.Float     `json:"period_growth_rate"`
	MaxSalesAmount   frame.Float     `json:"max_sales_amount"`
	MaxSalesDate     frame.Date      `json:"max_sales_date"`
	MinSalesAmount   frame.Float     `json:"min_sales_amount"`
	MinSalesDate     frame.Date      `json:"min_sales_date"`
	WeekdayAvgSales  frame.NullFloat `json:"weekday_avg_sales"`
	WeekendAvgSales  frame.NullFloat `json:"weekend_avg_sales"`
	WeekendPremium   frame.NullFloat `json:"weekend_premium"`
	Volatility       frame.NullFloat `json:"volatility"`
}

func nullable(v float64) frame.NullFloat {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return frame.NullFloat{}
	}
	return frame.SomeFloat(v)
}

// Trend is the trend_analysis node.
func Trend(ctx context.Context, e *EnrichedSummary) (TrendAnalysis, error) {
	tot := e.TotalAmount
	n := len(tot)
	if n == 0 {
		return TrendAnalysis{}, errNoDays
	}
	var t TrendAnalysis
	first := seriesMean(tot[:min(7, n)])
	last := seriesMean(tot[max(0, n-7):])
	if first > 0 {
		t.PeriodGrowthRate = frame.Float(round((last-first)/first*100, 2))
	}
	hi, lo := 0, 0
	for i, v := range tot {
		if v > tot[hi] {
			hi = i
		}
		if v < tot[lo] {
			lo = i
		}
	}
	t.MaxSalesAmount, t.MaxSalesDate = frame.Float(tot[hi]), e.Date[hi]
	t.MinSalesAmount, t.MinSalesDate = frame.Float(tot[lo]), e.Date[lo]
	var weekday, weekend []float64
	for i, v := range tot {
		if e.IsWeekend[i] {
			weekend = append(weekend, v)
		} else {
			weekday = append(weekday, v)
		}
	}
	wd, we := seriesMean(weekday), seriesMean(weekend)
	t.WeekdayAvgSales = nullable(round(wd, 2))
	t.WeekendAvgSales = nullable(round(we, 2))
	t.WeekendPremium = nullable(round((we-wd)/wd*100, 2))
	t.Volatility = nullable(round(seriesStd(tot), 2))
	return t, ctx.Err()
}

// TopDay is one entry of top_performing_days.
type TopDay struct {
	Date             frame.Date  `json:"date"`
	TotalAmount      frame.Float `json:"total_amount"`
	TransactionCount int64       `json:"transaction_count"`
	DayOfWeek        string      `json:"day_of_week"`
	IsWeekend        bool        `json:"is_weekend"`
}

// TopPerformingDays is the top_performing_days node: the five largest
// totals, largest first; equal totals keep date order (pandas nlargest,
// keep="first").
func TopPerformingDays(ctx context.Context, e *EnrichedSummary) ([]TopDay, error) {
	idx := make([]int, e.Len())
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return e.TotalAmount[idx[a]] > e.TotalAmount[idx[b]] })
	out := []TopDay{}
	for _, i := range idx[:min(5, len(idx))] {
		out = append(out, TopDay{
			Date: e.Date[i], TotalAmount: frame.Float(e.TotalAmount[i]), TransactionCount: e.TransactionCount[i],
			DayOfWeek: e.DayOfWeek[i], IsWeekend: e.IsWeekend[i],
		})
	}
	return out, ctx.Err()
}
