// The work of `salesdag run` (the six default outputs) done by DuckDB on
// the same CSV, for scripts/bench.sh: read and type the file, clean it,
// daily summary, quality metrics (with duplicate rows), enriched daily
// summary (7-row moving averages, changes, weekday), weekly aggregation,
// trend and top five days, written to OUTDIR as CSV and JSON.
// Usage: node bench_duckdb.mjs INPUT.csv OUTDIR   (needs @duckdb/node-api)
import { DuckDBInstance } from '@duckdb/node-api';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [input, outdir] = process.argv.slice(2);
mkdirSync(outdir, { recursive: true });
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const q = (s) => s.replaceAll("'", "''");
const rows = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();

await c.run(`CREATE TABLE raw AS SELECT * FROM read_csv('${q(input)}', header = true,
  columns = {'date': 'DATE', 'product_id': 'VARCHAR', 'amount': 'DOUBLE', 'customer_id': 'VARCHAR'},
  nullstr = ['', 'NA', 'NULL', 'NaN', 'nan', 'null', 'None', 'N/A', 'n/a', '#N/A', '<NA>'])`);
await c.run(`CREATE TABLE cleaned AS SELECT * FROM raw WHERE date IS NOT NULL AND product_id IS NOT NULL
  AND customer_id IS NOT NULL AND amount > 0`);
await c.run(`CREATE TABLE daily AS SELECT date, round(sum(amount), 2) AS total_amount,
  round(avg(amount), 2) AS avg_amount, count(*) AS transaction_count,
  count(DISTINCT product_id) AS unique_products FROM cleaned GROUP BY date ORDER BY date`);
await c.run(`CREATE TABLE enriched AS SELECT *,
  round(avg(total_amount) OVER w7, 2) AS total_amount_ma7, round(avg(avg_amount) OVER w7, 2) AS avg_amount_ma7,
  round(total_amount / lag(total_amount) OVER w - 1, 4) AS total_amount_change,
  round(avg_amount / lag(avg_amount) OVER w - 1, 4) AS avg_amount_change,
  dayname(date) AS day_of_week, dayofweek(date) IN (0, 6) AS is_weekend
  FROM daily WINDOW w AS (ORDER BY date), w7 AS (ORDER BY date ROWS 6 PRECEDING) ORDER BY date`);
await c.run(`COPY daily TO '${q(join(outdir, 'daily_sales_summary.csv'))}' (HEADER)`);
await c.run(`COPY enriched TO '${q(join(outdir, 'enriched_daily_summary.csv'))}' (HEADER)`);
await c.run(`COPY (SELECT date_trunc('week', date) AS week, round(sum(total_amount), 2) AS weekly_total,
  round(avg(total_amount), 2) AS daily_avg, round(stddev_samp(total_amount), 2) AS daily_std,
  sum(transaction_count) AS weekly_transactions, round(avg(unique_products), 2) AS avg_unique_products,
  count(*) FILTER (WHERE is_weekend) AS weekend_days FROM enriched GROUP BY 1 ORDER BY 1)
  TO '${q(join(outdir, 'weekly_aggregation.csv'))}' (HEADER)`);
const [quality] = await rows(`SELECT (SELECT count(*) FROM raw) AS raw_record_count,
  (SELECT count(*) FROM cleaned) AS cleaned_record_count,
  ((SELECT count(*) FROM raw) - (SELECT count(*) FROM cleaned)) * 100.0 / (SELECT count(*) FROM raw) AS data_loss_rate,
  (SELECT count(*) FILTER (WHERE date IS NULL) + count(*) FILTER (WHERE product_id IS NULL)
     + count(*) FILTER (WHERE amount IS NULL) + count(*) FILTER (WHERE customer_id IS NULL) FROM raw) AS null_count,
  (SELECT count(*) FROM raw) - (SELECT count(*) FROM (SELECT DISTINCT * FROM raw)) AS duplicate_count`);
writeFileSync(join(outdir, 'data_quality_metrics.json'), JSON.stringify(quality, null, 2));
const [trend] = await rows(`SELECT
  round(((SELECT avg(total_amount) FROM (SELECT total_amount FROM enriched ORDER BY date DESC LIMIT 7))
    - (SELECT avg(total_amount) FROM (SELECT total_amount FROM enriched ORDER BY date LIMIT 7)))
    / (SELECT avg(total_amount) FROM (SELECT total_amount FROM enriched ORDER BY date LIMIT 7)) * 100, 2) AS period_growth_rate,
  max(total_amount) AS max_sales_amount, arg_max(date, total_amount) AS max_sales_date,
  min(total_amount) AS min_sales_amount, arg_min(date, total_amount) AS min_sales_date,
  round(avg(total_amount) FILTER (WHERE NOT is_weekend), 2) AS weekday_avg_sales,
  round(avg(total_amount) FILTER (WHERE is_weekend), 2) AS weekend_avg_sales,
  round(stddev_samp(total_amount), 2) AS volatility FROM enriched`);
writeFileSync(join(outdir, 'trend_analysis.json'), JSON.stringify(trend, null, 2));
const top = await rows(`SELECT date, total_amount, transaction_count, day_of_week, is_weekend
  FROM enriched ORDER BY total_amount DESC, date LIMIT 5`);
writeFileSync(join(outdir, 'top_performing_days.json'), JSON.stringify(top, null, 2));
