#!/usr/bin/env bash
# End-to-end benchmark of the built binary on generated files, side by
# side with the `cat` floor and, when node is installed, DuckDB doing the
# same work (scripts/bench_duckdb.mjs). Each line is the median of RUNS
# runs (wall time, CPU time user+sys, peak RSS from /usr/bin/time), with
# the 1-minute load average before the first run: on a shared machine wall
# times only compare within one table.
#
#   salesdag full run: the six default outputs, history on, lineage events
#     to a file (the run a user gets), in a fresh SALESDAG_HOME;
#   salesdag bare run: --lineage none --no-history;
#   --cache (cold / warm / warm, touched): filling the cache, a fully
#     cached rerun, and one whose input must be hashed again;
#   gzip: the bare run on the same rows gzip-compressed, as one file and
#     as eight files (read several at a time); MB/s is of the decompressed
#     CSV (the plain file's size) per wall second, beside the plain file's.
#
# Usage: scripts/bench.sh [ROWS...]   (default: 1000000 5000000)
# Environment: RUNS (3), BIN, DATA_DIR, NO_DUCKDB=1 to leave DuckDB out,
# BASE=path of another salesdag binary (an older build, say) whose full
# run is measured in the same table, right after this one's.
# DuckDB (@duckdb/node-api) is installed with npm into DATA_DIR/duckdb,
# which is not in git.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/salesdag}
DATA_DIR=${DATA_DIR:-testdata/gen}
RUNS=${RUNS:-3}
rows_list=("$@")
[ ${#rows_list[@]} -gt 0 ] || rows_list=(1000000 5000000)
mkdir -p "$DATA_DIR"
[ -x "$BIN" ] || go build -trimpath -o "$BIN" ./cmd/salesdag

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

duck=""
if [ -z "${NO_DUCKDB:-}" ] && command -v node >/dev/null 2>&1; then
  duck="$DATA_DIR/duckdb"
  mkdir -p "$duck"
  if [ ! -d "$duck/node_modules/@duckdb/node-api" ]; then
    (cd "$duck" && { [ -f package.json ] || npm init -y >/dev/null; } &&
      npm install --no-audit --no-fund --silent @duckdb/node-api >/dev/null 2>&1) || duck=""
  fi
  # The module resolves @duckdb/node-api next to itself.
  [ -z "$duck" ] || cp scripts/bench_duckdb.mjs "$duck/"
fi

median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }

# measure ROWS LABEL CMD...: runs CMD RUNS times (with PRE evaluated before
# each run), prints one line of medians; with MBYTES set, also MBYTES per
# second of median wall time.
measure() {
  local rows=$1 label=$2; shift 2
  local load walls=() cpus=() rsss=() wall user sys rss
  load=$(cut -d' ' -f1 /proc/loadavg)
  for _ in $(seq "$RUNS"); do
    [ -z "${PRE:-}" ] || eval "$PRE"
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null
    read -r wall user sys rss <"$work/time"
    walls+=("$wall")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')")
    rsss+=("$rss")
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  printf '%-9s %-34s %8ss %8ss %9s %6s' "$rows" "$label" \
    "$wall" "$(printf '%s\n' "${cpus[@]}" | median)" \
    "$(printf '%s\n' "${rsss[@]}" | median | awk '{printf "%.1f", $1/1024}')" "$load"
  [ -z "${MBYTES:-}" ] || awk -v b="$MBYTES" -v w="$wall" 'BEGIN{ if (w > 0) printf "  %6.0f MB/s", b/1e6/w }'
  printf '\n'
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), medians of $RUNS"
printf '%-9s %-34s %9s %9s %9s %6s %12s\n' rows run wall CPU "RSS(MB)" load "CSV MB/s"
for rows in "${rows_list[@]}"; do
  f="$DATA_DIR/sales_${rows}.csv"
  [ -f "$f" ] || go run ./cmd/gensales --rows "$rows" --output-file "$f"
  cat "$f" >/dev/null # warm the page cache: time the programs, not the disk
  measure "$rows" "cat (reading the file)" cat "$f"
  PRE="rm -rf '$work/home' '$work/out'" SALESDAG_HOME="$work/home" \
    measure "$rows" "salesdag full run" "$BIN" run --input "$f" --output-dir "$work/out" --lineage-file "$work/events.jsonl" --quiet
  if [ -n "${BASE:-}" ]; then
    PRE="rm -rf '$work/home' '$work/out'" SALESDAG_HOME="$work/home" \
      measure "$rows" "BASE full run" "$BASE" run --input "$f" --output-dir "$work/out" --lineage-file "$work/events.jsonl" --quiet
  fi
  bare=(run --input "$f" --output-dir "$work/out" --lineage none --no-history --quiet)
  MBYTES=$(stat -c %s "$f") measure "$rows" "salesdag bare run" "$BIN" "${bare[@]}"
  # The same rows gzip-compressed: one file, and eight (header each).
  gz="$DATA_DIR/sales_${rows}.csv.gz" parts="$DATA_DIR/sales_${rows}_gz8"
  [ -f "$gz" ] || gzip -c "$f" >"$gz"
  if [ ! -f "$parts/part-7.csv.gz" ]; then
    mkdir -p "$parts"
    tail -n +2 "$f" >"$work/rows"
    split -n l/8 -d -a 1 "$work/rows" "$work/part-"
    rm "$work/rows"
    for i in 0 1 2 3 4 5 6 7; do
      { head -n 1 "$f"; cat "$work/part-$i"; } | gzip >"$parts/part-$i.csv.gz"
      rm "$work/part-$i"
    done
  fi
  MBYTES=$(stat -c %s "$f") measure "$rows" "salesdag bare run, 1 gzip file" "$BIN" run --input "$gz" --output-dir "$work/out" --lineage none --no-history --quiet
  MBYTES=$(stat -c %s "$f") measure "$rows" "salesdag bare run, 8 gzip files" "$BIN" run --input "$parts/part-*.csv.gz" --output-dir "$work/out" --lineage none --no-history --quiet
  if [ -n "$duck" ]; then
    measure "$rows" "DuckDB, same work (node)" node "$duck/bench_duckdb.mjs" "$f" "$work/duck"
  fi
  measure "$rows" "salesdag --cache (cold)" "$BIN" "${bare[@]}" --cache="$work/cache" --recompute daily_sales_summary,data_quality_metrics
  "$BIN" "${bare[@]}" --cache="$work/cache" >/dev/null
  measure "$rows" "salesdag --cache (warm)" "$BIN" "${bare[@]}" --cache="$work/cache"
  # touch: same content, new ctime, so the input must be hashed again.
  PRE="touch '$f'" measure "$rows" "salesdag --cache (warm, touched)" "$BIN" "${bare[@]}" --cache="$work/cache"
  rm -rf "$work/cache"
done
