#!/usr/bin/env bash
# End-to-end benchmark of the built binary on generated files: wall time
# and peak RSS of `salesdag run` (six outputs, lineage and history off),
# then the same with --cache: the first (cold) run that fills the cache and
# a fully cached rerun, next to the time `sha256sum` needs to read the file.
# Usage: scripts/bench.sh [ROWS...]   (default: 1000000 5000000)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/salesdag}
DATA_DIR=${DATA_DIR:-testdata/gen}
RUNS=${RUNS:-5}
rows_list=("$@")
[ ${#rows_list[@]} -gt 0 ] || rows_list=(1000000 5000000)
mkdir -p "$DATA_DIR"
[ -x "$BIN" ] || go build -trimpath -o "$BIN" ./cmd/salesdag

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure LABEL ARGS...: runs salesdag RUNS times, prints best/median wall and max RSS.
measure() {
  local label=$1; shift
  local walls=() rss_max=0 wall rss
  for _ in $(seq "$RUNS"); do
    [ -z "${PRE:-}" ] || eval "$PRE"
    /usr/bin/time -f '%e %M' -o "$work/time" "$BIN" "$@" >/dev/null
    read -r wall rss <"$work/time"
    walls+=("$wall")
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  local sorted best median
  sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
  best=$(echo "$sorted" | head -n 1)
  median=$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")
  printf '%-10s %-28s %9ss %9ss %10s\n' "$rows" "$label" "$best" "$median" "$(awk -v k="$rss_max" 'BEGIN{printf "%.1f", k/1024}')"
}

printf '%-10s %-28s %10s %10s %10s\n' rows run "best" "median" "RSS(MB)"
for rows in "${rows_list[@]}"; do
  f="$DATA_DIR/sales_${rows}.csv"
  [ -f "$f" ] || go run ./cmd/gensales --rows "$rows" --output-file "$f"
  cat "$f" >/dev/null # warm the page cache: time the program, not the disk
  common=(run --input "$f" --output-dir "$work/out" --lineage none --no-history --quiet)
  measure "run" "${common[@]}"
  measure "run --cache (cold)" "${common[@]}" --cache="$work/cache" --recompute daily_sales_summary,data_quality_metrics
  "$BIN" "${common[@]}" --cache="$work/cache" >/dev/null
  measure "run --cache (warm)" "${common[@]}" --cache="$work/cache"
  # touch: same content, new ctime, so the input must be hashed again.
  PRE="touch '$f'" measure "run --cache (warm, touched)" "${common[@]}" --cache="$work/cache"
  /usr/bin/time -f '%e' -o "$work/time" sha256sum "$f" >/dev/null
  printf '%-10s %-28s %9ss %10s %10s\n' "$rows" "sha256sum of the file" "$(cat "$work/time")" "-" "-"
done
