#!/usr/bin/env bash
# A detached exec: `ctr containers exec` (which also starts its background reaper, docs/decisions/scripting.md) vs Go's
# `ctr tasks exec -d`, ROUNDS times alternating, in one running container; the median wall time of each and
# their ratio. Then what ctr's reaper costs: how long after the process exits its ID is free again (polled
# with `ps --all --json`), and the reaper's RSS and PSS (shared pages split among node processes) while it
# waits.
#
#   bash bench/exec-detached.sh            ROUNDS=30 bash bench/exec-detached.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run. NODE_EXTRA_CA_CERTS is unset
# (it adds ≈38 ms to every Node 20 start on these machines, and is not ctr's).
source "$(dirname "$0")/lib.sh"
unset NODE_EXTRA_CA_CERTS
ROUNDS=${ROUNDS:-20}
bench_setup exec-detached
"${CTR[@]}" containers start ed "$BUNDLE" >/dev/null

ms_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'; }
declare -A times
for r in $(seq "$ROUNDS"); do
  t0=$(date +%s%N); "${CTR[@]}" containers exec --id ed --exec-id "o$r" true >/dev/null; times[ours]+="$(ms_since "$t0") "
  t0=$(date +%s%N); "$GOCTR" -a "$ADDRESS" -n "$NS" tasks exec -d --exec-id "g$r" ed true; times[go]+="$(ms_since "$t0") "
done
m() { printf '%s\n' ${times[$1]} | median; }
echo "# detached exec of 'true', $ROUNDS rounds alternating, median ms"
printf 'ctr containers exec:  %s ms\nGo ctr tasks exec -d: %s ms\nratio ctr / Go ctr: %s\n' "$(m ours)" "$(m go)" "$(ratio "$(m ours)" "$(m go)")"

# Time from the exec's exit (1 s after it starts) to its exit record, which the reaper writes just before it
# deletes the process: polled with ps --all --json (≈70 ms a poll, so the figure is that coarse).
t0=$(date +%s%N)
"${CTR[@]}" containers exec --id ed --exec-id timed sh -c 'sleep 1' >/dev/null
until "${CTR[@]}" containers ps --all --json ed | tr -d ' \n' | grep -q '"execId":"timed","init":false,"status":"stopped"'; do
  sleep 0.02
done
echo "exit → recorded (then deleted): $(awk -v ms="$(ms_since "$t0")" 'BEGIN { printf "%.0f", ms - 1000 }') ms after the exit"

"${CTR[@]}" containers exec --id ed --exec-id waiting sleep 30 >/dev/null
sleep 1
pid=$(pgrep -f -n -- "reap-exec .*--namespace=$NS .*--exec-id=waiting" || true)
if [ -n "$pid" ]; then
  awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { printf "reaper while waiting: RSS %.1f MiB, PSS %.1f MiB\n", r / 1024, p / 1024 }' "/proc/$pid/smaps_rollup"
fi
