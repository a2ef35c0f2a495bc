#!/usr/bin/env bash
# Start rate: `ctr bench` (one process, one connection, C starts under way) vs Go's `ctr run -d --rootfs`
# driven by `xargs -P C` (one process and connection per container), over the same COUNT containers of the
# same bundle, at concurrency 1 and 8. Ratio = our rate / Go's rate (target at C=8: >= 1.3).
#
#   bash bench/start-rate.sh            COUNT=200 bash bench/start-rate.sh
#
# Our rate is ctr bench's own: containers / (first Create → last Start answered); Go's is containers /
# wall time of the xargs run, which includes a ctr process start (~10 ms) per container. Each side's
# containers are removed before the next measurement.
source "$(dirname "$0")/lib.sh"
COUNT=${COUNT:-100}
bench_setup start-rate
rootfs=$BUNDLE/rootfs

remove_all() {
  "$GOCTR" -a "$ADDRESS" -n "$NS" containers list -q | xargs -r -P 8 -I{} sh -c \
    "'$GOCTR' -a '$ADDRESS' -n '$NS' tasks kill -s KILL {} >/dev/null 2>&1; '$GOCTR' -a '$ADDRESS' -n '$NS' tasks delete -f {} >/dev/null 2>&1; '$GOCTR' -a '$ADDRESS' -n '$NS' containers delete {} >/dev/null"
}

# One side's run of COUNT starts at concurrency $1, round $2: prints its rate (containers/s).
ours_rate() {
  local json
  json=$("${CTR[@]}" bench --count "$COUNT" --concurrency "$1" --prefix "ours-c$1-r$2" --json "$BUNDLE")
  node -e 'const r = JSON.parse(process.argv[1]); console.log(r.startMs.rate.toFixed(1), r.startMs.median.toFixed(1))' "$json"
}
go_rate() {
  local t0 t1 started
  t0=$(date +%s%N)
  seq 1 "$COUNT" | xargs -P "$1" -I{} "$GOCTR" -a "$ADDRESS" -n "$NS" run -d --null-io --runtime io.containerd.runc.v2 \
    --env PATH=/bin --rootfs "$rootfs" "go-c$1-r$2-{}" sleep 100000
  t1=$(date +%s%N)
  started=$("$GOCTR" -a "$ADDRESS" -n "$NS" tasks list -q | grep -c "^go-c$1-r$2-" || true)
  [ "$started" = "$COUNT" ] || echo "warning: Go ctr started $started of $COUNT containers" >&2
  remove_all
  awk -v n="$started" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f\n", n / (ns / 1e9) }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

ROUNDS=${ROUNDS:-3}
echo "# $COUNT containers per run, $ROUNDS rounds per concurrency, ours and Go's alternating; medians of the rounds"
printf '%-12s %14s %14s %8s   %s\n' concurrency 'ctr (c/s)' 'Go ctr (c/s)' ratio 'ctr median start'
for c in 1 8; do
  ours_rates=() go_rates=() medians=()
  for r in $(seq "$ROUNDS"); do
    read -r rate med < <(ours_rate "$c" "$r")
    ours_rates+=("$rate") medians+=("$med")
    go_rates+=("$(go_rate "$c" "$r")")
  done
  ours=$(printf '%s\n' "${ours_rates[@]}" | median)
  go=$(printf '%s\n' "${go_rates[@]}" | median)
  printf '%-12s %14s %14s %8s   %s ms   (rounds: ctr %s; Go %s)\n' "$c" "$ours" "$go" "$(ratio "$ours" "$go")" \
    "$(printf '%s\n' "${medians[@]}" | median)" "${ours_rates[*]}" "${go_rates[*]}"
done
