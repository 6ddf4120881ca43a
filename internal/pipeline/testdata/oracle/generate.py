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

# The node code is the pandas reference's (testdata/reference), fed by the
# original's read_csv.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4] / "testdata" / "reference"))
import salesdag_ref  # noqa: E402


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
    # The original read: pandas' defaults, every column kept.
    raw = pd.read_csv(path)
    raw["date"] = pd.to_datetime(raw["date"])
    return salesdag_ref.compute(raw)


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
