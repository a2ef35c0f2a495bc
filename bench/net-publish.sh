#!/usr/bin/env bash
# The time networking adds to a start: ctr `containers start -a --rm --net NET -p 127.0.0.1:PORT:80` beside
# the same start without a network, and Go ctr 1.6 `run --rm --cni` beside Go's run without, on the same
# conflist (a network `networks create` makes for this run), in one interleaved run (interleave.mjs). Each
# run is a whole attached start of `true` with its teardown (--rm), so nothing is left between runs: Go's
# `run -d --cni` never tears its network down.
#
#   sudo bash bench/net-publish.sh           RUNS=20 sudo bash bench/net-publish.sh
#
# Go ctr cannot be pointed at another conflist directory: it reads /etc/cni/net.d (gocni's default; plugins
# from /opt/cni/bin and /usr/lib/cni). The script puts the network's conflist there only when that directory
# does not exist, and removes it again; otherwise Go's side is skipped (it would use the first file there).
# Go publishes no ports (ctr 1.6 has no -p), so its chain runs portmap with no mappings: the same work as
# ctr's --net without -p, the third command.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-15}
bench_setup net-publish
export CNI_CONF_DIR=$WORK/conf CTR_NET_DIR=$WORK/state
NET=bench-$$
GO_CONF=
cleanup_net() {
  [ -n "$GO_CONF" ] && rm -rf /etc/cni/net.d && rmdir /etc/cni 2>/dev/null
  "${CTR[@]}" networks rm "$NET" >/dev/null 2>&1 || true
  bench_teardown
}
trap cleanup_net EXIT
mkdir -m 0700 "$CNI_CONF_DIR"
"${CTR[@]}" networks create "$NET" --subnet "10.$((200 + RANDOM % 50)).$((RANDOM % 250)).0/24" >/dev/null
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
rootfs=$BUNDLE/rootfs
commands=(
  "node $ROOT/bin/run.js containers start -a --rm plain $BUNDLE true"
  "node $ROOT/bin/run.js containers start -a --rm --net $NET -p 127.0.0.1:$PORT:80 published $BUNDLE true"
  "node $ROOT/bin/run.js containers start -a --rm --net $NET attached $BUNDLE true"
)
if [ ! -e /etc/cni/net.d ]; then
  mkdir -p -m 0755 /etc/cni/net.d
  GO_CONF=/etc/cni/net.d/10-$NET.conflist
  cp "$CNI_CONF_DIR"/*.conflist "$GO_CONF"
  commands+=(
    "$GOCTR -a $ADDRESS -n $NS run --rm --null-io --env PATH=/bin --rootfs $rootfs goplain true"
    "$GOCTR -a $ADDRESS -n $NS run --rm --null-io --cni --env PATH=/bin --rootfs $rootfs gocni true"
  )
else
  echo "# /etc/cni/net.d exists: Go ctr's side skipped (it would read the first conflist there, not ours)"
fi
node "$BENCH_DIR/interleave.mjs" --runs "$RUNS" --warmup 2 --json -- "${commands[@]}" >"$WORK/result.json"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
const ms = r.map((c) => c.medianMs)
const added = (a, b) => (ms[b] - ms[a]).toFixed(0)
console.log(`ctr: start ${ms[0].toFixed(0)} ms, with --net -p ${ms[1].toFixed(0)} ms (adds ${added(0, 1)}), with --net alone ${ms[2].toFixed(0)} ms (adds ${added(0, 2)})`)
if (ms.length > 3) {
  console.log(`Go ctr: run ${ms[3].toFixed(0)} ms, with --cni ${ms[4].toFixed(0)} ms (adds ${added(3, 4)}; no ports: portmap has no mappings)`)
  const go = ms[4] - ms[3]
  console.log(`added time, ctr / Go: -p ${((ms[1] - ms[0]) / go).toFixed(2)}, same work (--net, no ports) ${((ms[2] - ms[0]) / go).toFixed(2)} (target <= 1)`)
}' "$WORK/result.json"
