package salesdag_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"slices"

	"github.com/salesdag/salesdag"
)

// Run the six standard outputs on the sample embedded in the binary and
// read two of them as typed values.
func Example() {
	d, err := salesdag.New()
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Run(context.Background(), salesdag.RunOptions{})
	if err != nil {
		log.Fatal(err)
	}
	trend, err := salesdag.Get[salesdag.TrendAnalysis](res, "trend_analysis")
	if err != nil {
		log.Fatal(err)
	}
	daily, err := salesdag.Get[*salesdag.Table](res, "daily_sales_summary")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Outputs)
	fmt.Printf("%d days; best %s (%.2f), growth %.2f%%\n", daily.Rows(), trend.MaxSalesDate, trend.MaxSalesAmount, trend.PeriodGrowthRate)
	// Output:
	// [daily_sales_summary enriched_daily_summary weekly_aggregation trend_analysis top_performing_days data_quality_metrics]
	// 15 days; best 2024-01-15 (8600.75), growth 33.74%
}

// Add a node: a typed function whose parameter is the result of the node
// it names. Only the nodes the requested output needs run.
func ExampleFunc1() {
	busiest := salesdag.Func1("busiest_weekday", "enriched_daily_summary",
		func(ctx context.Context, t *salesdag.Table) (map[string]float64, error) {
			day, _ := t.Column("day_of_week")
			total, _ := t.Column("total_amount")
			sums := map[string]float64{}
			for i := range t.Rows() {
				sums[day.Strings[i]] += total.Floats[i]
			}
			return sums, nil
		}).WithDoc("total sales per weekday")

	d, err := salesdag.New(busiest)
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Run(context.Background(), salesdag.RunOptions{Outputs: []string{"busiest_weekday"}})
	if err != nil {
		log.Fatal(err)
	}
	sums, err := salesdag.Get[map[string]float64](res, "busiest_weekday")
	if err != nil {
		log.Fatal(err)
	}
	for _, day := range slices.Sorted(maps.Keys(sums)) {
		fmt.Printf("%-9s %9.2f\n", day, sums[day])
	}
	// Output:
	// Friday     13302.00
	// Monday     20753.00
	// Saturday   16052.75
	// Sunday     10302.25
	// Thursday   11192.00
	// Tuesday     9401.50
	// Wednesday  10552.00
}

// New checks every added node against the graph before anything runs.
func ExampleNew_mistakes() {
	wrong := salesdag.Func1("wrong_type", "trend_analysis",
		func(ctx context.Context, t *salesdag.Table) (int, error) { return t.Rows(), nil })
	typo := salesdag.Func1("typo", "daily_sales_sumary",
		func(ctx context.Context, t *salesdag.Table) (int, error) { return t.Rows(), nil })
	_, err := salesdag.New(wrong, typo)
	fmt.Println(err)
	// Output:
	// node "wrong_type" parameter 1 wants *salesdag.Table but dependency "trend_analysis" returns salesdag.TrendAnalysis
	// node "typo" depends on unknown node "daily_sales_sumary" (did you mean "daily_sales_summary"?)
}
