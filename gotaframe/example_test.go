package gotaframe_test

import (
	"context"
	"fmt"
	"log"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/gotaframe"
)

// Get a result as a DataFrame.
func ExampleToDataFrame() {
	d, err := salesdag.New()
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Run(context.Background(), salesdag.RunOptions{Outputs: []string{"daily_sales_summary"}})
	if err != nil {
		log.Fatal(err)
	}
	daily, err := salesdag.Get[*salesdag.Table](res, "daily_sales_summary")
	if err != nil {
		log.Fatal(err)
	}
	df, err := gotaframe.ToDataFrame(daily)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(df.Select([]string{"date", "total_amount", "transaction_count"}).Subset([]int{0, 1, 2}))
	// Output:
	// [3x3] DataFrame
	//
	//     date       total_amount transaction_count
	//  0: 2024-01-01 4151.250000  3
	//  1: 2024-01-02 2700.250000  2
	//  2: 2024-01-03 4300.500000  2
	//     <string>   <float>      <int>
}

// A node that works on DataFrames: monthly totals from
// enriched_daily_summary, returned as a table, so that it is written,
// cached and recorded in lineage like the pipeline's tables.
func ExampleFromDataFrame() {
	monthly := salesdag.Func1("monthly_summary", "enriched_daily_summary",
		func(ctx context.Context, t *salesdag.Table) (*salesdag.Table, error) {
			df, err := gotaframe.ToDataFrame(t)
			if err != nil {
				return nil, err
			}
			month := df.Col("date").Map(func(e series.Element) series.Element {
				e.Set(e.String()[:7]) // YYYY-MM
				return e
			})
			month.Name = "month"
			out := df.Mutate(month).
				GroupBy("month").
				Aggregation([]dataframe.AggregationType{dataframe.Aggregation_SUM, dataframe.Aggregation_SUM},
					[]string{"total_amount", "transaction_count"})
			return gotaframe.FromDataFrame(out)
		})
	d, err := salesdag.New(monthly)
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Run(context.Background(), salesdag.RunOptions{Outputs: []string{"monthly_summary"}})
	if err != nil {
		log.Fatal(err)
	}
	t, err := salesdag.Get[*salesdag.Table](res, "monthly_summary")
	if err != nil {
		log.Fatal(err)
	}
	df, _ := gotaframe.ToDataFrame(t)
	fmt.Println(df)
	// Output:
	// [1x3] DataFrame
	//
	//     month    total_amount_SUM transaction_count_SUM
	//  0: 2024-01  91555.500000     43.000000
	//     <string> <float>          <float>
}
