package main

import (
	"context"
	"fmt"
	"math"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/gotaframe"
)

// monthlySummary is the node this program adds: one row per calendar
// month of enriched_daily_summary, computed with gota.
var monthlySummary = salesdag.Func1("monthly_summary", "enriched_daily_summary", monthly).
	WithDoc("per-month days with sales, total, transactions and mean daily total").
	WithTags("monthly")

func monthly(ctx context.Context, daily *salesdag.Table) (*salesdag.Table, error) {
	df, err := gotaframe.ToDataFrame(daily)
	if err != nil {
		return nil, err
	}
	month := df.Col("date").Map(func(e series.Element) series.Element {
		e.Set(e.String()[:len("2006-01")])
		return e
	})
	month.Name = "month"
	aggs := []dataframe.AggregationType{dataframe.Aggregation_COUNT, dataframe.Aggregation_SUM, dataframe.Aggregation_SUM, dataframe.Aggregation_MEAN}
	cols := []string{"date", "total_amount", "transaction_count", "total_amount"}
	out := df.Mutate(month).GroupBy("month").Aggregation(aggs, cols).
		Arrange(dataframe.Sort("month")) // groups come out in map order
	if out.Err != nil {
		return nil, fmt.Errorf("monthly summary: %w", out.Err)
	}
	round2 := func(e series.Element) series.Element {
		e.Set(math.Round(e.Float()*100) / 100)
		return e
	}
	out = dataframe.New(
		out.Col("month"),
		series.New(out.Col("date_COUNT"), series.Int, "days"),
		named(out.Col("total_amount_SUM").Map(round2), "total_amount"),
		series.New(out.Col("transaction_count_SUM"), series.Int, "transaction_count"),
		named(out.Col("total_amount_MEAN").Map(round2), "avg_daily_total"),
	)
	return gotaframe.FromDataFrame(out)
}

func named(s series.Series, name string) series.Series {
	s.Name = name
	return s
}
