#!/usr/bin/env bash
# A script's job, written idiomatically for each tool: start COUNT containers from a bundle (detached), run
# an attached exec of `true` in each, then remove them all.
#   ctr: `containers start ID BUNDLE` each, `containers exec -a --id ID true` each, one `containers delete
#        --force ID...`
#   Go:  `run -d --rootfs ROOTFS ID sleep 100000` each, `tasks exec --exec-id x ID true` each, `tasks rm -f`
#        each, one `containers rm ID...`
# ROUNDS rounds per COUNT, ctr and Go alternating; prints the median wall time of the whole job, of each
# phase (per container for start and exec), and the ratio ctr / Go (issue 26 target: ≤ 1.3).
#
#   bash bench/script.sh            COUNTS="20 100" ROUNDS=3 bash bench/script.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run. NODE_EXTRA_CA_CERTS is
# unset (it adds ≈38 ms to every Node 20 start on these machines, and is not ctr's).
source "$(dirname "$0")/lib.sh"
unset NODE_EXTRA_CA_CERTS
COUNTS=${COUNTS:-20}
ROUNDS=${ROUNDS:-3}
bench_setup script
rootfs=$BUNDLE/rootfs
mkdir -p "$WORK/fifo" "$WORK/logs"
# ctr's detached start writes a log (its default); kept in WORK, removed with it.
export CTR_LOG_DIR=$WORK/logs
GO=("$GOCTR" -a "$ADDRESS" -n "$NS")

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# Each prints "TOTAL START EXEC REMOVE" in seconds.
job_ours() {
  local n=$1 p=$2 t0 t1 t2 t3 ids=()
  t0=$(now)
  for i in $(seq "$n"); do "${CTR[@]}" containers start "$p-$i" "$BUNDLE" >/dev/null; ids+=("$p-$i"); done
  t1=$(now)
  for id in "${ids[@]}"; do "${CTR[@]}" containers exec -a --id "$id" true; done
  t2=$(now)
  "${CTR[@]}" containers delete --force "${ids[@]}" >/dev/null
  t3=$(now)
  echo "$(secs "$t0" "$t3") $(secs "$t0" "$t1") $(secs "$t1" "$t2") $(secs "$t2" "$t3")"
}
job_go() {
  local n=$1 p=$2 t0 t1 t2 t3 ids=()
  t0=$(now)
  for i in $(seq "$n"); do
    "${GO[@]}" run -d --fifo-dir "$WORK/fifo" --runtime io.containerd.runc.v2 --env PATH=/bin --rootfs "$rootfs" "$p-$i" sleep 100000 >/dev/null
    ids+=("$p-$i")
  done
  t1=$(now)
  for id in "${ids[@]}"; do "${GO[@]}" tasks exec --fifo-dir "$WORK/fifo" --exec-id x "$id" true; done
  t2=$(now)
  for id in "${ids[@]}"; do "${GO[@]}" tasks rm -f "$id" >/dev/null 2>&1; done
  "${GO[@]}" containers rm "${ids[@]}" >/dev/null
  t3=$(now)
  echo "$(secs "$t0" "$t3") $(secs "$t0" "$t1") $(secs "$t1" "$t2") $(secs "$t2" "$t3")"
}

col() { printf '%s\n' "${@:2}" | awk -v c="$1" '{ print $c }' | median; }
ms_each() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.0f", s * 1000 / n }'; }

echo "# the same job per tool, $ROUNDS rounds per count, ctr and Go alternating; medians; taken on a shared, loaded machine"
printf '%-6s %-7s %9s %16s %16s %10s\n' count tool 'total s' 'start ms each' 'exec ms each' 'remove s'
for n in $COUNTS; do
  ours=() go=()
  for r in $(seq "$ROUNDS"); do
    ours+=("$(job_ours "$n" "o$n-$r")")
    go+=("$(job_go "$n" "g$n-$r")")
    echo "# round $r: ctr ${ours[-1]}  Go ${go[-1]}" >&2
  done
  for side in ours go; do
    declare -n rows=$side
    printf '%-6s %-7s %9s %16s %16s %10s\n' "$n" "$([ $side = ours ] && echo ctr || echo 'Go ctr')" "$(col 1 "${rows[@]}")" \
      "$(ms_each "$(col 2 "${rows[@]}")" "$n")" "$(ms_each "$(col 3 "${rows[@]}")" "$n")" "$(col 4 "${rows[@]}")"
  done
  echo "ratio ctr / Go ctr for $n: $(ratio "$(col 1 "${ours[@]}")" "$(col 1 "${go[@]}")")  (target ≤ 1.3)"
done
