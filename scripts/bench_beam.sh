#!/usr/bin/env bash
# The Beam engine (salesdag-beam, Prism in-process) beside the native
# engine on generated files: wall time, CPU time (user+sys) and peak RSS,
# medians of RUNS runs, full runs (six outputs, history on, lineage events
# to a file) in a fresh SALESDAG_HOME. Also the build of each binary: size.
#
# Usage: scripts/bench_beam.sh [ROWS...]   (default: 1000000 5000000)
# Environment: RUNS (3), BIN (bin/salesdag), BEAM_BIN (bin/salesdag-beam),
# DATA_DIR (testdata/gen).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/salesdag}
BEAM_BIN=${BEAM_BIN:-bin/salesdag-beam}
DATA_DIR=${DATA_DIR:-testdata/gen}
RUNS=${RUNS:-3}
rows_list=("$@")
[ ${#rows_list[@]} -gt 0 ] || rows_list=(1000000 5000000)
mkdir -p "$DATA_DIR"
[ -x "$BIN" ] || make build
[ -x "$BEAM_BIN" ] || make beam

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }

measure() {
  local rows=$1 label=$2; shift 2
  local load walls=() cpus=() rsss=() wall user sys rss
  load=$(cut -d' ' -f1 /proc/loadavg)
  for _ in $(seq "$RUNS"); do
    rm -rf "$work/home" "$work/out"
    SALESDAG_HOME="$work/home" /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null
    read -r wall user sys rss <"$work/time"
    walls+=("$wall")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')")
    rsss+=("$rss")
  done
  printf '%-9s %-34s %8ss %8ss %9s %6s\n' "$rows" "$label" \
    "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)" \
    "$(printf '%s\n' "${rsss[@]}" | median | awk '{printf "%.1f", $1/1024}')" "$load"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, medians of $RUNS"
echo "# binaries: salesdag $(du -h "$BIN" | cut -f1), salesdag-beam $(du -h "$BEAM_BIN" | cut -f1)"
printf '%-9s %-34s %9s %9s %9s %6s\n' rows run wall CPU "RSS(MB)" load
for rows in "${rows_list[@]}"; do
  f="$DATA_DIR/sales_${rows}.csv"
  [ -f "$f" ] || go run ./cmd/gensales --rows "$rows" --output-file "$f"
  cat "$f" >/dev/null # warm the page cache
  args=(run --input "$f" --output-dir "$work/out" --lineage-file "$work/events.jsonl" --quiet)
  measure "$rows" "native engine (salesdag)" "$BIN" "${args[@]}"
  measure "$rows" "beam engine, prism in-process" "$BEAM_BIN" "${args[@]}" --engine beam
done
