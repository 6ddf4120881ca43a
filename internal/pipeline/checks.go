package pipeline

import (
	"fmt"
	"math"

	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/frame"
)

// CheckOptions tunes the default data-quality checks.
type CheckOptions struct {
	// MaxDataLoss, when set, is the largest data_loss_rate (percent of raw
	// rows dropped by cleaning) a run may have; above it the run fails.
	MaxDataLoss *float64
}

// Validate checks the options (a percentage between 0 and 100).
func (o CheckOptions) Validate() error {
	if p := o.MaxDataLoss; p != nil && (math.IsNaN(*p) || *p < 0 || *p > 100) {
		return fmt.Errorf("--max-data-loss must be a percentage between 0 and 100, got %v", *p)
	}
	return nil
}

// DefaultChecks are the checks of the sales nodes. Properties the nodes
// guarantee by construction (sorted unique dates, positive totals) are
// Fail: if they break, the numbers cannot be trusted. Properties of the
// data itself are Warn, except the data-loss limit the user asks for.
// raw_sales_data and cleaned_sales_data are not checked: they are row
// level (millions of rows) and would cost more than the whole run.
func DefaultChecks(o CheckOptions) []checks.Spec {
	// Totals are sums of amounts > 0, but rounded to 2 decimals a day of
	// tiny amounts may legally show 0.0: "> 0" on rounded values is a
	// warning, ">= 0" a failure.
	daily := checks.On(NodeDaily,
		checks.Rows(1, -1).Fail(),
		checks.Unique("date").Fail(),
		checks.Ascending("date").Fail(),
		checks.AtLeast("total_amount", 0).Fail(),
		checks.Above("total_amount", 0).Named("positive_total_amount"),
		checks.AtLeast("avg_amount", 0).Fail(),
		checks.AtLeast("transaction_count", 1).Fail(),
		checks.AtLeast("unique_products", 1).Fail(),
	).Add(fail(checks.NotNulls("date", "total_amount", "avg_amount", "transaction_count", "unique_products"))...)

	enriched := checks.On(NodeEnriched,
		checks.Unique("date").Fail(),
		checks.Ascending("date").Fail(),
		checks.AtLeast("total_amount_ma7", 0).Fail(),
		checks.AtLeast("avg_amount_ma7", 0).Fail(),
		// cur / prev - 1 with totals >= 0 is at least -1 (null on the
		// first row).
		checks.AtLeast("total_amount_change", -1).Fail(),
		checks.AtLeast("avg_amount_change", -1).Fail(),
	).Add(fail(checks.NotNulls("day_of_week", "is_weekend", "total_amount_ma7", "avg_amount_ma7"))...)

	weekly := checks.On(NodeWeekly,
		checks.Rows(1, -1).Fail(),
		checks.Unique("week").Fail(),
		checks.Ascending("week").Fail(),
		checks.AtLeast("weekly_total", 0).Fail(),
		checks.AtLeast("weekly_transactions", 1).Fail(),
		checks.Between("weekend_days", 0, 2).Fail(),
		checks.AtLeast("daily_std", 0).Fail(),
	).Add(fail(checks.NotNulls("week", "weekly_total", "daily_avg", "weekly_transactions"))...)

	quality := checks.On(NodeQuality,
		checks.AtLeast("raw_record_count", 1).Fail(),
		checks.AtLeast("cleaned_record_count", 1).Fail(),
		checks.Between("data_loss_rate", 0, 100).Fail(),
		// Duplicates survive cleaning and inflate every total: worth a
		// warning, not a failure.
		checks.AtMost("duplicate_count", 0).Named("no_duplicate_rows").
			Describe("rows equal in all four columns to an earlier row are counted twice in the totals"),
	).Using(checks.Typed(qualityTable))
	if o.MaxDataLoss != nil {
		quality = quality.Add(checks.AtMost("data_loss_rate", *o.MaxDataLoss).Fail().Named("max_data_loss").
			Describe("share of raw rows dropped by cleaning, in percent (--max-data-loss)"))
	}

	trend := checks.On(NodeTrend,
		checks.AtLeast("max_sales_amount", 0).Fail(),
		checks.AtLeast("min_sales_amount", 0).Fail(),
		checks.AtLeast("volatility", 0).Fail(),
	).Add(fail(checks.NotNulls("period_growth_rate", "max_sales_amount", "max_sales_date", "min_sales_amount", "min_sales_date"))...).
		Using(checks.Typed(trendTable))

	top := checks.On(NodeTop,
		checks.Rows(1, 5).Fail(),
		checks.Unique("date").Fail(),
		checks.AtLeast("total_amount", 0).Fail(),
		checks.NotNull("date").Fail(),
	).Using(checks.Typed(topTable))

	return []checks.Spec{daily, quality, enriched, weekly, trend, top}
}

func fail(cs []checks.Check) []checks.Check {
	for i := range cs {
		cs[i] = cs[i].Fail()
	}
	return cs
}

// The accessors below show the JSON results to the checks as one-row (or
// n-row) tables, named by their JSON keys.

func qualityTable(q QualityMetrics) *frame.Frame {
	f := &frame.Frame{Columns: []frame.Column{
		{Name: "raw_record_count", Kind: frame.KindInt, Ints: []int64{q.RawRecordCount}},
		{Name: "cleaned_record_count", Kind: frame.KindInt, Ints: []int64{q.CleanedRecordCount}},
		{Name: "data_loss_rate", Kind: frame.KindFloat, Floats: []float64{float64(q.DataLossRate)}},
		{Name: "null_count", Kind: frame.KindInt, Ints: []int64{q.NullCount}},
		{Name: "duplicate_count", Kind: frame.KindInt, Ints: []int64{q.DuplicateCount}},
	}}
	if q.RejectedRecordCount != nil {
		f.Columns = append(f.Columns, frame.Column{Name: "rejected_record_count", Kind: frame.KindInt, Ints: []int64{*q.RejectedRecordCount}})
	}
	return f
}

func nullFloat(v frame.NullFloat) float64 {
	if !v.Valid {
		return math.NaN() // null for the checks
	}
	return v.V
}

func trendTable(t TrendAnalysis) *frame.Frame {
	return &frame.Frame{Columns: []frame.Column{
		{Name: "period_growth_rate", Kind: frame.KindFloat, Floats: []float64{float64(t.PeriodGrowthRate)}},
		{Name: "max_sales_amount", Kind: frame.KindFloat, Floats: []float64{float64(t.MaxSalesAmount)}},
		{Name: "max_sales_date", Kind: frame.KindDate, Dates: []frame.Date{t.MaxSalesDate}},
		{Name: "min_sales_amount", Kind: frame.KindFloat, Floats: []float64{float64(t.MinSalesAmount)}},
		{Name: "min_sales_date", Kind: frame.KindDate, Dates: []frame.Date{t.MinSalesDate}},
		{Name: "weekday_avg_sales", Kind: frame.KindFloat, Floats: []float64{nullFloat(t.WeekdayAvgSales)}},
		{Name: "weekend_avg_sales", Kind: frame.KindFloat, Floats: []float64{nullFloat(t.WeekendAvgSales)}},
		{Name: "weekend_premium", Kind: frame.KindFloat, Floats: []float64{nullFloat(t.WeekendPremium)}},
		{Name: "volatility", Kind: frame.KindFloat, Floats: []float64{nullFloat(t.Volatility)}},
	}}
}

func topTable(days []TopDay) *frame.Frame {
	n := len(days)
	f := &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: make([]frame.Date, n)},
		{Name: "total_amount", Kind: frame.KindFloat, Floats: make([]float64, n)},
		{Name: "transaction_count", Kind: frame.KindInt, Ints: make([]int64, n)},
		{Name: "day_of_week", Kind: frame.KindString, Strings: make([]string, n)},
		{Name: "is_weekend", Kind: frame.KindBool, Bools: make([]bool, n)},
	}}
	for i, d := range days {
		f.Columns[0].Dates[i] = d.Date
		f.Columns[1].Floats[i] = float64(d.TotalAmount)
		f.Columns[2].Ints[i] = d.TransactionCount
		f.Columns[3].Strings[i] = d.DayOfWeek
		f.Columns[4].Bools[i] = d.IsWeekend
	}
	return f
}
