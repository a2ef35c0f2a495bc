#!/usr/bin/env bash
# Throughput of an attached container's stdout: `ctr containers start -a --rm` vs Go's `ctr run --rm`
# (attached, FIFOs) on the same rootfs, the container writing MB MiB of zeros (`dd bs=1M`), read by `wc -c`.
# Each side runs once writing 0 MiB and once writing MB MiB, ROUNDS times alternating; throughput =
# MB / (median time with data - median time without), so start-up and tear-down cancel out.
#
#   bash bench/attach-throughput.sh            MB=2000 ROUNDS=5 bash bench/attach-throughput.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run.
source "$(dirname "$0")/lib.sh"
MB=${MB:-500}
ROUNDS=${ROUNDS:-3}
bench_setup attach-throughput
mkdir -p "$WORK/fifo"
for n in 0 "$MB"; do bash "$ROOT/scripts/make-bundle.sh" "$WORK/dd-$n" dd if=/dev/zero bs=1048576 count="$n" >/dev/null; done

# Prints the seconds one run took; fails unless exactly $2 MiB came through.
timed() {
  local side=$1 n=$2 id=$3 t0 t1 bytes
  t0=$(date +%s%N)
  if [ "$side" = ours ]; then
    bytes=$("${CTR[@]}" containers start -a --rm "$id" "$WORK/dd-$n" 2>/dev/null | wc -c)
  else
    bytes=$("$GOCTR" -a "$ADDRESS" -n "$NS" run --rm --fifo-dir "$WORK/fifo" --runtime io.containerd.runc.v2 --env PATH=/bin \
      --rootfs "$WORK/dd-$n/rootfs" "$id" dd if=/dev/zero bs=1048576 count="$n" 2>/dev/null | wc -c)
  fi
  t1=$(date +%s%N)
  [ "$bytes" = $((n * 1048576)) ] || { echo "$side: expected $((n * 1048576)) bytes, got $bytes" >&2; exit 1; }
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.4f\n", ns / 1e9 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

declare -A runs
for r in $(seq "$ROUNDS"); do
  for side in ours go; do
    for n in 0 "$MB"; do runs[$side-$n]+="$(timed "$side" "$n" "tp-$side-$n-$r") "; done
  done
done
m() { printf '%s\n' ${runs[$1]} | median; }
rate() { awk -v mb="$MB" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", mb / (a - b) }'; }
ours=$(rate "$(m ours-"$MB")" "$(m ours-0)")
go=$(rate "$(m go-"$MB")" "$(m go-0)")
echo "# $MB MiB through stdout, $ROUNDS rounds; median seconds with data / without"
printf 'ctr start -a:  %s s / %s s  →  %s MiB/s\n' "$(m ours-"$MB")" "$(m ours-0)" "$ours"
printf 'Go ctr run:    %s s / %s s  →  %s MiB/s\n' "$(m go-"$MB")" "$(m go-0)" "$go"
echo "ratio ctr / Go ctr: $(ratio "$ours" "$go")"
