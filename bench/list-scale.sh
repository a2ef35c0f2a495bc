#!/usr/bin/env bash
# Listing at scale: what each extra container costs `ctr containers` (table and --json) against Go's
# `ctr c ls`, on the same daemon. The namespace is filled to 100 containers, the three commands run
# interleaved (bench/interleave.mjs), then it is filled to 2,000 and they run again; the cost per extra
# container is (median at 2,000 - median at 100) / 1,900, and the ratio is ours over Go's
# (target <= 2 for both; peak RSS at 2,000 < 90 MiB).
#
# The containers are made by Go's `ctr containers create --rootfs` (no tasks: Go's `c ls` lists containers
# only, ours also asks for the tasks, which is one more call whatever the count), each with the bundle label
# ctr's PATH column shows, so the table has the same cells as for containers ctr started.
#
# NODE_EXTRA_CA_CERTS is UNSET for every command: on this VM it adds ≈38 ms to each Node start-up (loading
# the CA file), which is the machine's, not ctr's.
#
#   bash bench/list-scale.sh            RUNS=20 SMALL=100 LARGE=2000 bash bench/list-scale.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run.
source "$(dirname "$0")/lib.sh"
unset NODE_EXTRA_CA_CERTS
RUNS=${RUNS:-15}
SMALL=${SMALL:-100}
LARGE=${LARGE:-2000}
bench_setup list-scale

# fill N: creates containers until the namespace holds N (IDs scale-00001 ...).
have=0
fill() {
  seq $((have + 1)) "$1" | xargs -P 4 -I{} "$GOCTR" -a "$ADDRESS" -n "$NS" containers create --rootfs \
    --label "io.ctr.bundle=$BUNDLE" "$BUNDLE/rootfs" "scale-{}" sleep 100000
  have=$1
  local listed
  listed=$("$GOCTR" -a "$ADDRESS" -n "$NS" containers list -q | wc -l)
  [ "$listed" = "$1" ] || { echo "list-scale: $listed containers in $NS, expected $1" >&2; exit 1; }
}

commands=("$GOCTR -a $ADDRESS -n $NS c ls" "${CTR[*]} containers" "${CTR[*]} containers --json")
measure() {
  for c in "${commands[@]}"; do $c >/dev/null; done
  node "$BENCH_DIR/interleave.mjs" --runs "$RUNS" --json -- "${commands[@]}"
}

fill "$SMALL"
small=$(measure)
fill "$LARGE"
large=$(measure)

echo "## $RUNS interleaved rounds at $SMALL and at $LARGE containers (3 warm-up rounds; NODE_EXTRA_CA_CERTS unset)"
node - "$small" "$large" "$SMALL" "$LARGE" <<'JS'
const [small, large] = [JSON.parse(process.argv[2]), JSON.parse(process.argv[3])]
const [n0, n1] = [Number(process.argv[4]), Number(process.argv[5])]
const names = ['Go ctr c ls', 'ctr containers', 'ctr containers --json']
const perContainerUs = (i) => ((large[i].medianMs - small[i].medianMs) / (n1 - n0)) * 1000
console.log(`${'command'.padEnd(24)} ${`ms at ${n0}`.padStart(10)} ${`ms at ${n1}`.padStart(11)} ${'µs/container'.padStart(13)} ${'ratio to Go'.padStart(12)} ${`RSS MiB at ${n1}`.padStart(16)}`)
names.forEach((name, i) => {
  const ratio = i === 0 ? '' : (perContainerUs(i) / perContainerUs(0)).toFixed(2)
  console.log(
    `${name.padEnd(24)} ${small[i].medianMs.toFixed(1).padStart(10)} ${large[i].medianMs.toFixed(1).padStart(11)} ${perContainerUs(i).toFixed(1).padStart(13)} ${ratio.padStart(12)} ${large[i].peakRssMiB.toFixed(1).padStart(16)}`,
  )
})
console.log('targets: ratio to Go <= 2 (table and --json), peak RSS at 2,000 < 90 MiB')
JS
