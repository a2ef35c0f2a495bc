#!/usr/bin/env bash
# Wall time and peak RSS of pulling a ≈MB MiB image (LAYERS gzip layers) from a private local registry
# (docker-registry on 127.0.0.1, http) and unpacking it into overlayfs: `ctr images pull --plain-http` vs Go's
# `ctr images pull --plain-http`, ROUNDS rounds interleaved (ours, Go, ...) on the same daemon and registry.
# Before every pull the namespace is emptied and containerd's garbage collector run (images rm --sync), so each
# pull fetches every blob and applies every layer.
#
#   bash bench/image-pull.sh            MB=200 LAYERS=5 ROUNDS=5 bash bench/image-pull.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd. NODE_EXTRA_CA_CERTS is unset for our CLI:
# Node reads that file at every start, a cost no user's shell necessarily has.
source "$(dirname "$0")/lib.sh"
MB=${MB:-200}
LAYERS=${LAYERS:-5}
ROUNDS=${ROUNDS:-5}
bench_setup image-pull
unset NODE_EXTRA_CA_CERTS
node "$BENCH_DIR/make-image-archive.mjs" "$WORK/image.tar" bench.example.com/pull:1 "$MB" "$LAYERS" | sed 's/^/# /'

# A private registry on a free port, its storage in WORK, stopped by its PID.
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: 127.0.0.1:$PORT}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
trap 'kill "$REGISTRY_PID" 2>/dev/null; bench_teardown' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
IMAGE=127.0.0.1:$PORT/bench/pull:1
skopeo copy --dest-tls-verify=false "oci-archive:$WORK/image.tar" "docker://$IMAGE" >/dev/null

reset_ns() {
  "$GOCTR" -a "$ADDRESS" -n "$NS" images rm --sync "$IMAGE" >/dev/null 2>&1 || true
  [ -z "$("$GOCTR" -a "$ADDRESS" -n "$NS" content ls -q)" ] || { echo "content left in $NS" >&2; exit 1; }
  [ -z "$("$GOCTR" -a "$ADDRESS" -n "$NS" snapshots ls | tail -n +2)" ] || { echo "snapshots left in $NS" >&2; exit 1; }
}

timed() {
  local side=$1 t0 t1 rss
  reset_ns
  t0=$(date +%s%N)
  if [ "$side" = ours ]; then
    rss=$(/usr/bin/time -f %M "${CTR[@]}" images pull --plain-http "$IMAGE" 2>&1 >/dev/null | tail -1)
  else
    rss=$(/usr/bin/time -f %M "$GOCTR" -a "$ADDRESS" -n "$NS" images pull --plain-http "$IMAGE" 2>&1 >/dev/null | tail -1)
  fi
  t1=$(date +%s%N)
  [ "$("$GOCTR" -a "$ADDRESS" -n "$NS" snapshots ls | tail -n +2 | wc -l)" = "$LAYERS" ] || { echo "$side: not unpacked" >&2; exit 1; }
  awk -v ns=$((t1 - t0)) -v kb="$rss" 'BEGIN { printf "%.3f %.1f\n", ns / 1e9, kb / 1024 }'
}
alternate_rounds "$ROUNDS"
reset_ns
echo "# $MB MiB image, $LAYERS gzip layers, local registry over http, unpacked into overlayfs; $ROUNDS interleaved rounds; NODE_EXTRA_CA_CERTS unset"
printf 'ctr images pull:     median %s s, peak RSS %s MiB\n' "$(median_wall ours)" "${peak[ours]}"
printf 'Go ctr images pull:  median %s s, peak RSS %s MiB\n' "$(median_wall go)" "${peak[go]}"
echo "ratio ctr / Go ctr (wall): $(ratio "$(median_wall ours)" "$(median_wall go)")"
