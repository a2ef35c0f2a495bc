#!/usr/bin/env bash
# Cold start of `ctr version` and `ctr containers` (3 containers listed) against a running containerd, vs
# `node -e 0` and vs Go's `ctr version` / `ctr c ls`. Prints hyperfine's table, then medians, ratios
# (median ours / median peer) and peak RSS from one interleaved run (bench/interleave.mjs: A B C A B C ...,
# so machine load drifts hit every command alike).
#
#   bash bench/cold-start.sh            RUNS=50 bash bench/cold-start.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-30}
bench_setup cold-start
for i in 1 2 3; do "${CTR[@]}" containers start "cold-$i" "$BUNDLE"; done

ours_version="node $ROOT/bin/run.js version"
ours_list="node $ROOT/bin/run.js containers"
go_version="$GOCTR -a $ADDRESS version"
go_list="$GOCTR -a $ADDRESS -n $NS c ls"

if command -v hyperfine >/dev/null; then
  echo "## hyperfine (sequential; -N --warmup 3 --runs $RUNS)"
  hyperfine -N --warmup 3 --runs "$RUNS" --style basic 'node -e 0' "$ours_version" "$ours_list" "$go_version" "$go_list" 2>&1 |
    grep -E '^Benchmark|Time \(mean|Range' || true
  echo
fi

echo "## interleaved ($RUNS rounds, 3 warm-up rounds): median wall time, peak RSS, ratios"
json=$(node "$BENCH_DIR/interleave.mjs" --runs "$RUNS" --json -- 'node -e 0' "$ours_version" "$ours_list" "$go_version" "$go_list")
node - "$json" <<'JS'
const [node0, version, list, goVersion, goList] = JSON.parse(process.argv[2])
const row = (name, r) => `${name.padEnd(28)} ${r.medianMs.toFixed(1).padStart(8)} ms  ${r.peakRssMiB.toFixed(1).padStart(6)} MiB`
const rows = [['node -e 0', node0], ['ctr version', version], ['ctr containers', list], ['Go ctr version', goVersion], ['Go ctr c ls', goList]]
console.log(rows.map(([n, r]) => row(n, r)).join('\n'))
const ratio = (a, b) => (a.medianMs / b.medianMs).toFixed(2)
console.log(`
ratio ctr version / node -e 0:      ${ratio(version, node0)}   (target <= 1.5)
ratio ctr containers / node -e 0:   ${ratio(list, node0)}   (target <= 1.5)
ratio ctr version / Go ctr version: ${ratio(version, goVersion)}
ratio ctr containers / Go ctr c ls: ${ratio(list, goList)}
peak RSS ctr version / containers:  ${version.peakRssMiB.toFixed(1)} / ${list.peakRssMiB.toFixed(1)} MiB   (target < 80)`)
JS
