#!/usr/bin/env bash
# A detached exec: `ctr containers exec` (which marks the exec on the container, and first reaps the detached
# execs that exited: docs/decisions/scripting.md) vs Go's `ctr tasks exec -d`, ROUNDS times alternating, in one running
# container; the median wall time of each and their ratio. Each of our rounds reaps the previous round's exec
# (`true` has exited by then), so the figure includes the steady-state reaping; Go's leave theirs in
# containerd. Then what reaping costs a later command: `ps --all` with 10 exited execs to reap vs none, and
# what is left running after 10 detached `sleep 1000`: the processes carrying this run's environment marker
# (anything ctr started inherits it; containerd's shims and the container's processes do not).
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

# ps --all of a container with nothing to reap, and with 10 exited detached execs to reap (recorded, deleted).
"${CTR[@]}" containers start ps-reap "$BUNDLE" >/dev/null
for r in $(seq 5); do
  t0=$(date +%s%N); "${CTR[@]}" containers ps --all ps-reap >/dev/null; times[idle]+="$(ms_since "$t0") "
  for i in $(seq 10); do "${CTR[@]}" containers exec --id ps-reap --exec-id "p$r-$i" true >/dev/null; done
  sleep 0.2
  t0=$(date +%s%N); "${CTR[@]}" containers ps --all ps-reap >/dev/null; times[reap]+="$(ms_since "$t0") "
done
printf 'ps --all, nothing to reap: %s ms; with 10 exited execs to reap: %s ms (median of 5)\n' "$(m idle)" "$(m reap)"

# 10 detached sleep 1000: what is left of ctr afterwards.
marker="CTR_BENCH_LINEAGE=$$-$RANDOM"
for i in $(seq 10); do env "$marker" "${CTR[@]}" containers exec --id ed --exec-id "long$i" sleep 1000 >/dev/null; done
left=0 rss=0
for environ in /proc/[0-9]*/environ; do
  if { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qxF "$marker"; then
    left=$((left + 1))
    rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "${environ%/environ}/status" 2>/dev/null || echo 0)))
  fi
done
echo "after 10 detached 'sleep 1000': $left processes of ctr's left running ($((rss / 1024)) MiB RSS); $(($("$GOCTR" -a "$ADDRESS" -n "$NS" tasks ps ed | wc -l) - 2)) execs running in the container"
