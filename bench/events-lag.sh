#!/usr/bin/env bash
# Lag from a task exit to its row on `ctr events --json` stdout, and on Go `ctr events` stdout in the same
# run, over N exits (default 1000): p50/p99/max, how many were lost (goal: none), and ctr's ratios to Go's. Short-lived containers (`true`) started 8 at a time by bench/events-lag.mjs.
#
#   bash bench/events-lag.sh            N=200 bash bench/events-lag.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run.
source "$(dirname "$0")/lib.sh"
N=${N:-1000}
unset NODE_EXTRA_CA_CERTS
bench_setup events-lag
bash "$ROOT/scripts/make-bundle.sh" --force "$BUNDLE" true >/dev/null
json=$(node "$BENCH_DIR/events-lag.mjs" "$BUNDLE" "$N" 8)
node -e '
const r = JSON.parse(process.argv[1])
console.log(`exits: ${r.exits} (${r.exitsPerSecond} exits/s); rows seen: ctr ${r.rows}, Go ctr ${r.go.rows}; lost: ctr ${r.lost}, Go ctr ${r.go.lost}`)
console.log(`lag exit → row on stdout, ctr:    p50 ${r.p50Ms} ms   p99 ${r.p99Ms} ms   max ${r.maxMs} ms`)
console.log(`lag exit → row on stdout, Go ctr: p50 ${r.go.p50Ms} ms   p99 ${r.go.p99Ms} ms   max ${r.go.maxMs} ms`)
console.log(`ratio ctr / Go ctr: p50 ${r.p50Ratio}   p99 ${r.p99Ratio} (target p99 ≤ 1.2, none lost)`)
' "$json"
