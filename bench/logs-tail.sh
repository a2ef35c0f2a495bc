#!/usr/bin/env bash
# `ctr containers logs --tail N` vs GNU `tail -n N` of the same log file: LINES lines of about LINE_BYTES
# bytes each (default 1,000,000 × 500 B ≈ 500 MB) appended to a detached container's log, then for each N in
# TAILS (default: 10, and all the lines) each side ROUNDS times, alternating (page cache warm for both);
# median wall time, peak RSS, and their ratio. Also one line of BIG_MB MB (no newline inside), --tail 1.
# The outputs go to files and must be the same.
#
#   bash bench/logs-tail.sh        LINES=1000000 LINE_BYTES=500 TAILS="10 1000" ROUNDS=5 bash bench/logs-tail.sh
#
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run.
source "$(dirname "$0")/lib.sh"
unset NODE_EXTRA_CA_CERTS
LINES=${LINES:-1000000}
LINE_BYTES=${LINE_BYTES:-500}
TAILS=${TAILS:-10 $LINES}
ROUNDS=${ROUNDS:-5}
BIG_MB=${BIG_MB:-50}
bench_setup logs-tail
log=$WORK/lt.log
"${CTR[@]}" containers start --log-path "$log" lt "$BUNDLE" >/dev/null
# The shim holds the file open for appending; what we append is what the container would have written.
awk -v n="$LINES" -v w="$LINE_BYTES" 'BEGIN { pad = sprintf("%*s", w - 9, ""); gsub(/ /, "x", pad); for (i = 1; i <= n; i++) printf "%08d %s\n", i, pad }' >>"$log"
echo "# log: $(wc -l <"$log") lines, $(($(stat -c %s "$log") / 1048576)) MiB; $ROUNDS rounds alternating"

# timed SIDE: "SECONDS PEAK_MIB" of one run; the output is compared with tail's.
timed() {
  local out=$WORK/out-$1 t0 kib
  t0=$(date +%s%N)
  if [ "$1" = ours ]; then
    kib=$( { /usr/bin/time -f '%M' "${CTR[@]}" containers logs --tail "$N" "$ID" >"$out"; } 2>&1)
  else
    kib=$( { /usr/bin/time -f '%M' tail -n "$N" "$FILE" >"$out"; } 2>&1)
  fi
  awk -v a="$t0" -v b="$(date +%s%N)" -v k="$kib" 'BEGIN { printf "%.3f %.1f\n", (b - a) / 1e9, k / 1024 }'
}
compare() { cmp -s "$WORK/out-ours" "$WORK/out-go" || { echo "outputs differ" >&2; exit 1; }; }

report() {
  alternate_rounds "$ROUNDS"
  compare
  printf '%s: ctr logs --tail %s %s s, peak %s MiB; tail -n %s %s s, peak %s MiB; ratio ctr / tail %s\n' "$1" "$N" \
    "$(median_wall ours)" "${peak[ours]}" "$N" "$(median_wall go)" "${peak[go]}" "$(ratio "$(median_wall ours)" "$(median_wall go)")"
  unset wall peak
}
for N in $TAILS; do ID=lt FILE=$log report "$LINES lines"; done

big=$WORK/big.log
"${CTR[@]}" containers start --log-path "$big" big "$BUNDLE" >/dev/null
{ echo first; head -c "$((BIG_MB * 1048576))" /dev/zero | tr '\0' 'y'; } >>"$big"
N=1 ID=big FILE=$big report "one $BIG_MB MB line"
