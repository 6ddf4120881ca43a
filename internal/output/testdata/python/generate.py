# Regenerates the Python-made goldens in this directory with CPython's own
# json and csv modules (the ones pandas and json.dump use):
#   cd internal/output/testdata/python && python3 generate.py
# CPython before 3.11.9/3.12.3 does not quote a lone "\r" (gh-67044); the
# quoting golden therefore has no "\r" case; the test covers it by hand.
import csv
import json

value = {
    "html": "<a href=\"x\">&amp;</a>",
    "accents": "caf\u00e9 na\u00efve \u20ac",
    "emoji": "sales \U0001F4C8",
    "controls": "tab\tnl\ncr\rbs\bff\fnul\x00us\x1fdel\x7f",
    "separators": "\u2028\u2029",
    "backslash": "a\\b/c\"d",
    "int": 42,
    "neg": -7,
    "float": 8001.0,
    "small": 1e-05,
    "big": 1e16,
    "negzero": -0.0,
    "null": None,
    "flag": True,
    "off": False,
    "empty_list": [],
    "empty_obj": {},
    "nested": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": []}],
}
with open("json_dump.json", "w") as f:
    json.dump(value, f, indent=2)

rows = [
    ["plain", "a,b", "tricky"],
    ["x", "1,000", 'say "hi"'],
    ["line\nbreak", "", " spaces "],
    ['"', '""', "\u00fcn\u00efcode"],
    ["semi;colon", "tab\there", "'single'"],
]
with open("csv_quoting.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows(rows)
with open("csv_single_column.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([["name"], ["a"], [""], ["b"]])
