#!/usr/bin/env bash
# End-to-end benchmark of the built binary: wall time and peak RSS of
# `salesdag run` (six outputs, lineage off) on generated files.
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

printf '%-10s %-10s %12s %12s %12s\n' rows size "wall(best)" "wall(median)" "peakRSS(MB)"
for rows in "${rows_list[@]}"; do
  f="$DATA_DIR/sales_${rows}.csv"
  [ -f "$f" ] || go run ./cmd/gensales -rows "$rows" -o "$f"
  out=$(mktemp -d)
  # Warm the page cache so that we time the program, not the disk.
  cat "$f" >/dev/null
  walls=(); rss_max=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$out/time" "$BIN" run --input "$f" --output-dir "$out/o" --lineage none --quiet
    read -r wall rss <"$out/time"
    walls+=("$wall")
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
  best=$(echo "$sorted" | head -n 1)
  median=$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")
  printf '%-10s %-10s %11ss %11ss %12.1f\n' "$rows" "$(du -h "$f" | cut -f1)" "$best" "$median" "$(awk -v k="$rss_max" 'BEGIN{print k/1024}')"
  rm -rf "$out"
done
