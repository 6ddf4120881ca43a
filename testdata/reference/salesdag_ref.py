"""A pandas reference of SPEC section 1: every node, written as SPEC section 2 says.

It is the reference's node code (the Hamilton functions of the original,
as in internal/pipeline/testdata/oracle/generate.py) with the deliberate
differences SPEC and the README name:

- the NA tokens are SPEC's list (pandas 2's defaults; pandas 1.5 lacks
  "None");
- amounts are parsed correctly rounded (float_precision="round_trip"):
  pandas' default parser reads 9887699628938.8200 as 9887699628938.818, so
  it would not find it equal to 9887699628938.82, which SPEC counts as a
  duplicate;
- the ids are text and the amount is a float whatever the column holds
  (pandas would type a column of integers as int64, and ids such as 0042 as
  numbers);
- only the four columns play a part: extra columns neither drop a row nor
  count in nulls and duplicates;
- pandas computes on numpy alone (no bottleneck, see below);
- JSON has ISO dates and null where pandas has NaN (or an infinity).

Usage (pandas' import is slow, so one call runs many inputs):

    /usr/bin/python3 salesdag_ref.py IN.csv OUTDIR [IN2.csv OUTDIR2 ...]
    /usr/bin/python3 salesdag_ref.py -          # pairs "IN<TAB>OUTDIR" on stdin

For each pair it writes the six outputs into OUTDIR, or OUTDIR/error.txt
with the exception when pandas cannot run the nodes on IN. It prints one
line per pair ("ok IN" or "error IN: ...") and exits 0 unless the
arguments are wrong. Tested with Debian 12's python3-pandas (pandas 1.5.3,
numpy 1.24).
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd

# pandas' Series.std goes through bottleneck when it is installed (Debian's
# python3-pandas recommends it), which sums naively where numpy sums
# pairwise: the last bits of a volatility near 1e13 then depend on an
# optional package. The reference is pandas on numpy alone.
pd.set_option("compute.use_bottleneck", False)
pd.set_option("compute.use_numexpr", False)

COLUMNS = ["date", "product_id", "amount", "customer_id"]
# SPEC's NA tokens: pandas 2's defaults (pandas 1.5 lacks "None").
NA_TOKENS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def nodes(path):
    raw = pd.read_csv(path, dtype={"date": str, "product_id": str, "customer_id": str, "amount": float},
                      keep_default_na=False, na_values=NA_TOKENS, float_precision="round_trip",
                      low_memory=False)
    raw = raw[COLUMNS]
    raw["date"] = pd.to_datetime(raw["date"], format="%Y-%m-%d")
    return compute(raw)


def compute(raw):
    """The original's node code on the raw table (date parsed); also used by
    internal/pipeline/testdata/oracle/generate.py."""
    cleaned = raw.dropna()
    cleaned = cleaned[cleaned["amount"] > 0]
    daily = cleaned.groupby("date").agg(
        {"amount": ["sum", "mean", "count"], "product_id": "nunique"}).round(2)
    daily.columns = ["total_amount", "avg_amount", "transaction_count", "unique_products"]
    daily = daily.reset_index()
    quality = {
        "raw_record_count": len(raw),
        "cleaned_record_count": len(cleaned),
        "data_loss_rate": (len(raw) - len(cleaned)) / len(raw) * 100,
        "null_count": raw.isnull().sum().sum(),
        "duplicate_count": raw.duplicated().sum(),
    }
    df = daily.copy().sort_values("date")
    df["total_amount_ma7"] = df["total_amount"].rolling(window=7, min_periods=1).mean().round(2)
    df["avg_amount_ma7"] = df["avg_amount"].rolling(window=7, min_periods=1).mean().round(2)
    df["total_amount_change"] = df["total_amount"].pct_change().round(4)
    df["avg_amount_change"] = df["avg_amount"].pct_change().round(4)
    df["day_of_week"] = df["date"].dt.day_name()
    df["is_weekend"] = df["date"].dt.dayofweek.isin([5, 6])
    w = df.copy()
    w["week"] = w["date"].dt.to_period("W")
    weekly = w.groupby("week").agg({
        "total_amount": ["sum", "mean", "std"], "transaction_count": "sum",
        "unique_products": "mean", "is_weekend": "sum"}).round(2)
    weekly.columns = ["weekly_total", "daily_avg", "daily_std", "weekly_transactions",
                      "avg_unique_products", "weekend_days"]
    weekly = weekly.reset_index()
    weekly["week"] = weekly["week"].astype(str)
    first = df.head(7)["total_amount"].mean()
    last = df.tail(7)["total_amount"].mean()
    growth = ((last - first) / first * 100) if first > 0 else 0
    weekday = df[~df["is_weekend"]]["total_amount"].mean()
    weekend = df[df["is_weekend"]]["total_amount"].mean()
    trend = {
        "period_growth_rate": round(growth, 2),
        "max_sales_amount": df["total_amount"].max(),
        "max_sales_date": df.loc[df["total_amount"].idxmax(), "date"],
        "min_sales_amount": df["total_amount"].min(),
        "min_sales_date": df.loc[df["total_amount"].idxmin(), "date"],
        "weekday_avg_sales": round(weekday, 2),
        "weekend_avg_sales": round(weekend, 2),
        "weekend_premium": round((weekend - weekday) / weekday * 100, 2),
        "volatility": round(df["total_amount"].std(), 2),
    }
    top = df.nlargest(5, "total_amount")[
        ["date", "total_amount", "transaction_count", "day_of_week", "is_weekend"]].to_dict("records")
    return {"daily_sales_summary": daily, "enriched_daily_summary": df, "weekly_aggregation": weekly,
            "data_quality_metrics": quality, "trend_analysis": trend, "top_performing_days": top}


def plain(v):
    """A JSON value as SPEC section 2 writes it."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


def run(src, out):
    os.makedirs(out, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = nodes(src)
    except Exception as e:  # a reference that cannot run is a result too
        with open(os.path.join(out, "error.txt"), "w") as f:
            f.write(f"{type(e).__name__}: {e}\n")
        return f"error {src}: {type(e).__name__}: {e}"
    for name, value in results.items():
        if isinstance(value, pd.DataFrame):
            value.to_csv(os.path.join(out, f"{name}.csv"), index=False)
        else:
            with open(os.path.join(out, f"{name}.json"), "w") as f:
                json.dump(plain(value), f, indent=2, allow_nan=False)
    return f"ok {src}"


def stdin_pairs():
    # One line at a time: the caller may send the next input only after
    # reading the answer to this one.
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.rstrip("\n").split("\t")


def main(args):
    if args == ["-"]:
        pairs = stdin_pairs()
    else:
        pairs = [args[i:i + 2] for i in range(0, len(args), 2)]
        if not pairs or any(len(p) != 2 for p in pairs):
            print(__doc__, file=sys.stderr)
            return 2
    for pair in pairs:
        if len(pair) != 2:
            print(f"bad line {pair!r}: want IN<TAB>OUTDIR", file=sys.stderr)
            return 2
        print(run(*pair), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
