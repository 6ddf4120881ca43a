package pipeline

import (
	"sync"

	c "github.com/salesdag/salesdag/internal/columns"
)

// Column lineage of the eight nodes (SPEC section 1), one declaration per
// node, written from the spec's sentences: which columns of the node's
// inputs each output column (or JSON field) comes from, and how. The
// external input is the dag input "source" with the four required
// columns; extra columns of the file play no part (SPEC: "Extra columns
// ... play no part in any node"). Tests check the declarations against the
// real results (complete) and the real graph (sound); internal/columns
// resolves them back to the input file.

// inputColumns are the columns of the input file the nodes use.
var inputColumns = []string{"date", "product_id", "amount", "customer_id"}

var columnDecls = []c.Node{
	{
		Name: NodeRaw,
		Doc:  "every data row of the file, typed",
		Fields: []c.Field{
			c.F("date", c.E(c.Identity, "parsed as YYYY-MM-DD", InputSource, "date")),
			c.F("product_id", c.E(c.Identity, "", InputSource, "product_id")),
			c.F("amount", c.E(c.Identity, "parsed as a decimal number", InputSource, "amount")),
			c.F("customer_id", c.E(c.Identity, "", InputSource, "customer_id")),
		},
		// Only with --on-bad-rows=skip: bad rows are set aside (with the
		// default policy they fail the run instead).
		Dataset: c.E(c.Filter, "rows that do not parse are set aside (--on-bad-rows=skip)", InputSource, inputColumns...),
	},
	{
		Name: NodeCleaned,
		Doc:  "rows of raw_sales_data with no null in any of the four columns and amount > 0, in file order",
		Fields: []c.Field{
			c.F("date", c.E(c.Identity, "", NodeRaw, "date")),
			c.F("product_id", c.E(c.Identity, "", NodeRaw, "product_id")),
			c.F("amount", c.E(c.Identity, "", NodeRaw, "amount")),
			c.F("customer_id", c.E(c.Identity, "", NodeRaw, "customer_id")),
		},
		Dataset: c.All(
			c.E(c.Filter, "rows with a null in any of the four columns are dropped", NodeRaw, "date", "product_id", "customer_id"),
			c.E(c.Filter, "rows with a null amount or amount <= 0 are dropped", NodeRaw, "amount"),
		),
	},
	{
		Name: NodeDaily,
		Doc:  "one row per distinct date of the cleaned rows, ascending",
		Fields: []c.Field{
			c.F("date", c.E(c.Identity, "the group key", NodeCleaned, "date")),
			c.F("total_amount", c.E(c.Aggregation, "sum of amount per date, rounded to 2", NodeCleaned, "amount")),
			c.F("avg_amount", c.E(c.Aggregation, "mean of amount per date, rounded to 2", NodeCleaned, "amount")),
			c.F("transaction_count", c.E(c.Aggregation, "count of amount per date", NodeCleaned, "amount").Masked()),
			c.F("unique_products", c.E(c.Aggregation, "number of distinct product_id per date", NodeCleaned, "product_id").Masked()),
		},
		Dataset: c.All(
			c.E(c.GroupBy, "one row per distinct date", NodeCleaned, "date"),
			c.E(c.Sort, "ascending date", NodeCleaned, "date"),
		),
	},
	{
		Name: NodeQuality,
		Doc:  "row counts, loss rate, null cells and duplicate rows of the raw data",
		Fields: []c.Field{
			c.F("raw_record_count", c.E(c.Aggregation, "number of raw rows", NodeRaw, inputColumns...).Masked()),
			c.F("cleaned_record_count", c.E(c.Aggregation, "number of cleaned rows", NodeCleaned, inputColumns...).Masked()),
			c.F("data_loss_rate", c.All(
				c.E(c.Aggregation, "(raw rows - cleaned rows) / raw rows * 100", NodeRaw, inputColumns...),
				c.E(c.Aggregation, "(raw rows - cleaned rows) / raw rows * 100", NodeCleaned, inputColumns...),
			).Masked()),
			c.F("null_count", c.E(c.Aggregation, "number of null cells over the four columns", NodeRaw, inputColumns...).Masked()),
			c.F("duplicate_count", c.E(c.Aggregation, "number of rows equal in all four columns to an earlier row", NodeRaw, inputColumns...).Masked()),
			// Present only with --on-bad-rows=skip.
			c.F("rejected_record_count", c.E(c.Aggregation, "number of input rows set aside as bad while reading", NodeRaw, inputColumns...).Masked()),
		},
	},
	{
		Name: NodeEnriched,
		Doc:  "the daily columns plus 7-row moving averages, day-over-day changes and the weekday",
		Fields: []c.Field{
			c.F("date", c.E(c.Identity, "", NodeDaily, "date")),
			c.F("total_amount", c.E(c.Identity, "", NodeDaily, "total_amount")),
			c.F("avg_amount", c.E(c.Identity, "", NodeDaily, "avg_amount")),
			c.F("transaction_count", c.E(c.Identity, "", NodeDaily, "transaction_count")),
			c.F("unique_products", c.E(c.Identity, "", NodeDaily, "unique_products")),
			c.F("total_amount_ma7",
				c.E(c.Aggregation, "mean of the current and up to 6 previous rows, rounded to 2", NodeDaily, "total_amount"),
				c.E(c.Window, "7-row window in date order", NodeDaily, "date")),
			c.F("avg_amount_ma7",
				c.E(c.Aggregation, "mean of the current and up to 6 previous rows, rounded to 2", NodeDaily, "avg_amount"),
				c.E(c.Window, "7-row window in date order", NodeDaily, "date")),
			c.F("total_amount_change",
				c.E(c.Transformation, "cur / prev - 1, rounded to 4", NodeDaily, "total_amount"),
				c.E(c.Window, "previous row in date order", NodeDaily, "date")),
			c.F("avg_amount_change",
				c.E(c.Transformation, "cur / prev - 1, rounded to 4", NodeDaily, "avg_amount"),
				c.E(c.Window, "previous row in date order", NodeDaily, "date")),
			c.F("day_of_week", c.E(c.Transformation, "English weekday name of date", NodeDaily, "date")),
			c.F("is_weekend", c.E(c.Transformation, "date is a Saturday or Sunday", NodeDaily, "date")),
		},
	},
	{
		Name: NodeWeekly,
		Doc:  "one row per Monday-Sunday week that has rows, ascending",
		Fields: []c.Field{
			c.F("week", c.E(c.Transformation, "Monday/Sunday of the week of date", NodeEnriched, "date")),
			c.F("weekly_total", c.E(c.Aggregation, "sum of total_amount per week, rounded to 2", NodeEnriched, "total_amount")),
			c.F("daily_avg", c.E(c.Aggregation, "mean of total_amount per week, rounded to 2", NodeEnriched, "total_amount")),
			c.F("daily_std", c.E(c.Aggregation, "sample standard deviation of total_amount per week, rounded to 2", NodeEnriched, "total_amount")),
			c.F("weekly_transactions", c.E(c.Aggregation, "sum of transaction_count per week", NodeEnriched, "transaction_count")),
			c.F("avg_unique_products", c.E(c.Aggregation, "mean of unique_products per week, rounded to 2", NodeEnriched, "unique_products")),
			c.F("weekend_days", c.E(c.Aggregation, "number of weekend rows per week", NodeEnriched, "is_weekend")),
		},
		Dataset: c.All(
			c.E(c.GroupBy, "one row per Monday-Sunday week of date", NodeEnriched, "date"),
			c.E(c.Sort, "ascending week", NodeEnriched, "date"),
		),
	},
	{
		Name: NodeTrend,
		Doc:  "growth, extremes, weekday/weekend means and volatility of the daily totals",
		Fields: []c.Field{
			c.F("period_growth_rate",
				c.E(c.Aggregation, "(mean of the last 7 totals - mean of the first 7) / first * 100, rounded to 2", NodeEnriched, "total_amount"),
				c.E(c.Window, "first and last 7 rows in date order", NodeEnriched, "date")),
			c.F("max_sales_amount", c.E(c.Aggregation, "largest total_amount", NodeEnriched, "total_amount")),
			c.F("max_sales_date",
				c.E(c.Identity, "date of the first row with the largest total", NodeEnriched, "date"),
				c.E(c.Sort, "rows ranked by total_amount, first on ties", NodeEnriched, "total_amount")),
			c.F("min_sales_amount", c.E(c.Aggregation, "smallest total_amount", NodeEnriched, "total_amount")),
			c.F("min_sales_date",
				c.E(c.Identity, "date of the first row with the smallest total", NodeEnriched, "date"),
				c.E(c.Sort, "rows ranked by total_amount, first on ties", NodeEnriched, "total_amount")),
			c.F("weekday_avg_sales",
				c.E(c.Aggregation, "mean total_amount over weekday rows, rounded to 2", NodeEnriched, "total_amount"),
				c.E(c.Filter, "weekday rows only", NodeEnriched, "is_weekend")),
			c.F("weekend_avg_sales",
				c.E(c.Aggregation, "mean total_amount over weekend rows, rounded to 2", NodeEnriched, "total_amount"),
				c.E(c.Filter, "weekend rows only", NodeEnriched, "is_weekend")),
			c.F("weekend_premium",
				c.E(c.Aggregation, "(weekend - weekday mean) / weekday mean * 100, rounded to 2", NodeEnriched, "total_amount"),
				c.E(c.Filter, "weekday and weekend rows apart", NodeEnriched, "is_weekend")),
			c.F("volatility", c.E(c.Aggregation, "sample standard deviation of total_amount, rounded to 2", NodeEnriched, "total_amount")),
		},
	},
	{
		Name: NodeTop,
		Doc:  "the 5 rows with the largest total_amount, largest first, ties in date order",
		Fields: []c.Field{
			c.F("date", c.E(c.Identity, "", NodeEnriched, "date")),
			c.F("total_amount", c.E(c.Identity, "", NodeEnriched, "total_amount")),
			c.F("transaction_count", c.E(c.Identity, "", NodeEnriched, "transaction_count")),
			c.F("day_of_week", c.E(c.Identity, "", NodeEnriched, "day_of_week")),
			c.F("is_weekend", c.E(c.Identity, "", NodeEnriched, "is_weekend")),
		},
		Dataset: c.All(
			c.E(c.Filter, "the 5 largest total_amount", NodeEnriched, "total_amount"),
			c.E(c.Sort, "largest total_amount first", NodeEnriched, "total_amount"),
			c.E(c.Sort, "ties keep date order", NodeEnriched, "date"),
		),
	},
}

var columnCatalog = sync.OnceValues(func() (*c.Catalog, error) {
	return c.NewCatalog([]c.Source{{Name: InputSource, Columns: inputColumns}}, columnDecls)
})

// Columns returns the column lineage of the nodes, resolved back to the
// columns of the input ("source"). The declarations are static; an error
// means they are inconsistent, which the package's tests rule out.
func Columns() (*c.Catalog, error) { return columnCatalog() }
