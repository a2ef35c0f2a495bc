#!/usr/bin/env bash
# Lag from a task exit to its row on `ctr events --json` stdout over N exits (default 1000): p50/p99/max and
# how many were lost (goal: none). Short-lived containers (`true`) started 8 at a time by bench/events-lag.mjs.
#
#   bash bench/events-lag.sh            N=200 bash bench/events-lag.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run.
source "$(dirname "$0")/lib.sh"
N=${N:-1000}
bench_setup events-lag
bash "$ROOT/scripts/make-bundle.sh" --force "$BUNDLE" true >/dev/null
json=$(node "$BENCH_DIR/events-lag.mjs" "$BUNDLE" "$N" 8)
node -e '
const r = JSON.parse(process.argv[1])
console.log(`exits: ${r.exits}   rows seen: ${r.rows}   lost: ${r.lost}   (${r.exitsPerSecond} exits/s)`)
console.log(`lag exit → row on stdout: p50 ${r.p50Ms} ms   p99 ${r.p99Ms} ms   max ${r.maxMs} ms`)
' "$json"
