package salesdag

import (
	"fmt"
	"reflect"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// TrendAnalysis is the value of trend_analysis. A nil pointer is a null
// (no weekday or no weekend in the data, or a single day).
type TrendAnalysis struct {
	PeriodGrowthRate float64  `json:"period_growth_rate"` // percent, last 7 days' mean against the first 7
	MaxSalesAmount   float64  `json:"max_sales_amount"`   // the largest daily total
	MaxSalesDate     Date     `json:"max_sales_date"`     // its day (the first, on a tie)
	MinSalesAmount   float64  `json:"min_sales_amount"`   // the smallest daily total
	MinSalesDate     Date     `json:"min_sales_date"`     // its day (the first, on a tie)
	WeekdayAvgSales  *float64 `json:"weekday_avg_sales"`  // mean daily total, Monday to Friday
	WeekendAvgSales  *float64 `json:"weekend_avg_sales"`  // mean daily total, Saturday and Sunday
	WeekendPremium   *float64 `json:"weekend_premium"`    // percent
	Volatility       *float64 `json:"volatility"`         // standard deviation of the daily totals
}

// QualityMetrics is the value of data_quality_metrics.
type QualityMetrics struct {
	RawRecordCount     int64   `json:"raw_record_count"`     // data rows read
	CleanedRecordCount int64   `json:"cleaned_record_count"` // rows left after cleaning
	DataLossRate       float64 `json:"data_loss_rate"`       // percent of raw rows dropped by cleaning
	NullCount          int64   `json:"null_count"`           // null cells in the raw rows
	DuplicateCount     int64   `json:"duplicate_count"`      // raw rows that repeat an earlier row
	// RejectedRecordCount is set only when bad rows are skipped.
	RejectedRecordCount *int64 `json:"rejected_record_count,omitempty"`
}

// TopDay is one element of top_performing_days ([]TopDay, largest total
// first).
type TopDay struct {
	Date             Date    `json:"date"`              // the day
	TotalAmount      float64 `json:"total_amount"`      // the day's total sales
	TransactionCount int64   `json:"transaction_count"` // the day's sales rows
	DayOfWeek        string  `json:"day_of_week"`       // "Monday", ...
	IsWeekend        bool    `json:"is_weekend"`        // Saturday or Sunday
}

var (
	tableType   = reflect.TypeFor[*Table]()
	frameType   = reflect.TypeFor[*frame.Frame]()
	tablerType  = reflect.TypeFor[frame.Tabler]()
	trendType   = reflect.TypeFor[pipeline.TrendAnalysis]()
	qualityType = reflect.TypeFor[pipeline.QualityMetrics]()
	topType     = reflect.TypeFor[[]pipeline.TopDay]()
)

// publicType is the type under which users see values of the internal
// type t: tables are *Table, the pipeline's objects their public mirrors;
// ok is false for the pipeline's inputs, which users never see.
func publicType(t reflect.Type) (reflect.Type, bool) {
	switch {
	case t == frameType || t.Implements(tablerType):
		return tableType, true
	case t == trendType:
		return reflect.TypeFor[TrendAnalysis](), true
	case t == qualityType:
		return reflect.TypeFor[QualityMetrics](), true
	case t == topType:
		return reflect.TypeFor[[]TopDay](), true
	case t.PkgPath() == reflect.TypeFor[pipeline.Source]().PkgPath():
		return nil, false
	}
	return t, true
}

// public converts a value of the engine to what users see (publicType).
func public(v any) any {
	switch v := v.(type) {
	case *frame.Frame:
		return tableOf(v)
	case frame.Tabler:
		if reflect.ValueOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil() {
			return (*Table)(nil)
		}
		return tableOf(v.Table())
	case pipeline.TrendAnalysis:
		return TrendAnalysis{
			PeriodGrowthRate: float64(v.PeriodGrowthRate),
			MaxSalesAmount:   float64(v.MaxSalesAmount), MaxSalesDate: Date(v.MaxSalesDate),
			MinSalesAmount: float64(v.MinSalesAmount), MinSalesDate: Date(v.MinSalesDate),
			WeekdayAvgSales: nullFloat(v.WeekdayAvgSales), WeekendAvgSales: nullFloat(v.WeekendAvgSales),
			WeekendPremium: nullFloat(v.WeekendPremium), Volatility: nullFloat(v.Volatility),
		}
	case pipeline.QualityMetrics:
		q := QualityMetrics{
			RawRecordCount: v.RawRecordCount, CleanedRecordCount: v.CleanedRecordCount,
			DataLossRate: float64(v.DataLossRate), NullCount: v.NullCount, DuplicateCount: v.DuplicateCount,
		}
		if v.RejectedRecordCount != nil {
			n := *v.RejectedRecordCount
			q.RejectedRecordCount = &n
		}
		return q
	case []pipeline.TopDay:
		out := make([]TopDay, len(v))
		for i, d := range v {
			out[i] = TopDay{Date: Date(d.Date), TotalAmount: float64(d.TotalAmount),
				TransactionCount: d.TransactionCount, DayOfWeek: d.DayOfWeek, IsWeekend: d.IsWeekend}
		}
		return out
	}
	return v
}

func nullFloat(n frame.NullFloat) *float64 {
	if !n.Valid {
		return nil
	}
	v := n.V
	return &v
}

// as converts an engine value to T, the type a user asked for.
func as[T any](v any, what string) (T, error) {
	p, err := convert(v, reflect.TypeFor[T](), what)
	t, _ := p.(T)
	return t, err
}

// convert turns an engine value into what users see (public), which must
// be of type want (or nil, for a nillable want); what names the value in
// the error.
func convert(v any, want reflect.Type, what string) (any, error) {
	p := public(v)
	switch {
	case p == nil && nillable(want):
		return nil, nil
	case p != nil && reflect.TypeOf(p).AssignableTo(want):
		return p, nil
	}
	return nil, fmt.Errorf("%s is %s, not %s", what, typeString(reflect.TypeOf(p)), want)
}

func nillable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return true
	}
	return false
}

// typeString names a type as users see it ("nil" for none).
func typeString(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}
