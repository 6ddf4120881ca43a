"""Writes the expected outputs of every case under testdata/oracle/.

Each case directory holds sales.csv; this script runs the reference's node
code (the Hamilton functions of the original project, reproduced below with
plain pandas; they reproduce the fixture under testdata/fixture byte for
byte) and writes what the original writes: CSV with to_csv(index=False),
JSON with json.dump(indent=2). Regenerate with:

    python3 generate.py            # needs pandas and numpy

The files were produced with pandas 1.5.3 / numpy 1.24 (Debian 12).
"""
import json
import pathlib
import sys

import numpy as np
import pandas as pd


class NumpyEncoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.bool_):
            return bool(o)
        return str(o)


def nodes(path):
    raw = pd.read_csv(path)
    raw["date"] = pd.to_datetime(raw["date"])
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


def main():
    here = pathlib.Path(__file__).parent
    cases = sys.argv[1:] or sorted(p.name for p in here.iterdir() if (p / "sales.csv").exists())
    for case in cases:
        d = here / case
        out = d / "expected"
        out.mkdir(exist_ok=True)
        for name, value in nodes(d / "sales.csv").items():
            if isinstance(value, pd.DataFrame):
                value.to_csv(out / f"{name}.csv", index=False)
            else:
                with open(out / f"{name}.json", "w") as f:
                    json.dump(value, f, cls=NumpyEncoder, indent=2)


if __name__ == "__main__":
    main()
