#!/usr/bin/env bash
# Cold start of `ctr version` and `ctr containers` (5 containers listed) against a running containerd, vs
# `node -e 0` and Go's `ctr version` / `ctr c ls`, and `ctr --help`, on the machine's Node (20) and on Node 22
# and 24 where installed: NODE22=/path/to/node, NODE24=...; by default the ones scripts/install-node.sh puts in
# .cache/node-22 and .cache/node-24 (`bash scripts/install-node.sh 22`), else /work/node22, /work/node24.
# Medians, ratios (median ours / median peer, each Node against its own `node -e 0`) and peak RSS from one
# interleaved run (bench/interleave.mjs: A B C A B C ..., so machine load drifts hit every command alike).
#
# NODE_EXTRA_CA_CERTS is UNSET for every command: on this VM it adds ≈38 ms to each Node 20 start-up
# (loading the CA file), which is the machine's, not ctr's.
#
#   bash bench/cold-start.sh            RUNS=50 bash bench/cold-start.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run.
source "$(dirname "$0")/lib.sh"
unset NODE_EXTRA_CA_CERTS
RUNS=${RUNS:-30}
bench_setup cold-start
# A code cache of this run's own (bin/run.js): warmed by the first run of each command below.
export CTR_CACHE_DIR=$WORK/code-cache
for i in 1 2 3 4 5; do "${CTR[@]}" containers start "cold-$i" "$BUNDLE"; done

nodes=("$(command -v node)")
for major in 22 24; do
  var=NODE$major
  for candidate in "${!var:-}" "$ROOT/.cache/node-$major/node_modules/.bin/node" "/work/node$major/node_modules/.bin/node"; do
    if [ -x "$candidate" ]; then
      nodes+=("$candidate")
      break
    fi
  done
done

commands=()
for n in "${nodes[@]}"; do
  commands+=("$n -e 0" "$n $ROOT/bin/run.js version" "$n $ROOT/bin/run.js containers" "$n $ROOT/bin/run.js --help")
done
commands+=("$GOCTR -a $ADDRESS version" "$GOCTR -a $ADDRESS -n $NS c ls")
# One run of each first, so Node 22+'s compile cache (bin/run.js) is what a user's second run sees.
for c in "${commands[@]}"; do $c >/dev/null; done

echo "## interleaved ($RUNS rounds, 3 warm-up rounds; NODE_EXTRA_CA_CERTS unset): median wall time, peak RSS, ratios"
json=$(node "$BENCH_DIR/interleave.mjs" --runs "$RUNS" --json -- "${commands[@]}")
node - "$json" "${nodes[@]}" <<'JS'
const results = JSON.parse(process.argv[2])
const nodes = process.argv.slice(3)
const row = (name, r) => `${name.padEnd(34)} ${r.medianMs.toFixed(1).padStart(8)} ms  ${r.peakRssMiB.toFixed(1).padStart(6)} MiB`
const [goVersion, goList] = results.slice(-2)
const ratio = (a, b) => (a.medianMs / b.medianMs).toFixed(2)
nodes.forEach((node, i) => {
  const [node0, version, list, help] = results.slice(i * 4, i * 4 + 4)
  const v = require('node:child_process').execFileSync(node, ['--version']).toString().trim()
  console.log(`\n### Node ${v}`)
  console.log([['node -e 0', node0], ['ctr version', version], ['ctr containers (5)', list], ['ctr --help', help]].map(([n, r]) => row(n, r)).join('\n'))
  console.log(`ratio ctr version / node -e 0:      ${ratio(version, node0)}   (target <= 2.0)`)
  console.log(`ratio ctr containers / node -e 0:   ${ratio(list, node0)}   (target <= 2.0)`)
  console.log(`ratio ctr --help / node -e 0:       ${ratio(help, node0)}   (target <= 1.6)`)
  console.log(`ratio ctr version / Go ctr version: ${ratio(version, goVersion)}`)
  console.log(`ratio ctr containers / Go ctr c ls: ${ratio(list, goList)}`)
  console.log(`peak RSS ctr version / containers:  ${version.peakRssMiB.toFixed(1)} / ${list.peakRssMiB.toFixed(1)} MiB   (target < 70)`)
})
console.log(`\n${row('Go ctr version', goVersion)}\n${row('Go ctr c ls', goList)}`)
JS
