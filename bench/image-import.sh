#!/usr/bin/env bash
# Wall time and peak RSS of importing a ≈MB MiB image archive (LAYERS gzip layers, OCI layout, unpacked into
# overlayfs): `ctr images import` vs Go's `ctr images import`, ROUNDS rounds interleaved (ours, Go, ours,
# Go, ...) on the same daemon. Before every import the namespace is emptied and containerd's garbage
# collector run (images rm --sync), so each import writes every blob and applies every layer (containerd
# shares blobs between namespaces: a second namespace would make the second import nearly free).
#
#   bash bench/image-import.sh            MB=200 LAYERS=5 ROUNDS=5 bash bench/image-import.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run. NODE_EXTRA_CA_CERTS is
# unset for our CLI: Node reads that file at every start, a cost no user's shell necessarily has.
source "$(dirname "$0")/lib.sh"
MB=${MB:-200}
LAYERS=${LAYERS:-5}
ROUNDS=${ROUNDS:-5}
bench_setup image-import
unset NODE_EXTRA_CA_CERTS
IMAGE=bench.example.com/import:1
node "$BENCH_DIR/make-image-archive.mjs" "$WORK/image.tar" "$IMAGE" "$MB" "$LAYERS" | sed 's/^/# /'

# Empties the namespace and waits for the garbage collector (untimed).
reset_ns() {
  "$GOCTR" -a "$ADDRESS" -n "$NS" images rm --sync "$IMAGE" >/dev/null 2>&1 || true
  [ -z "$("$GOCTR" -a "$ADDRESS" -n "$NS" content ls -q)" ] || { echo "content left in $NS" >&2; exit 1; }
  [ -z "$("$GOCTR" -a "$ADDRESS" -n "$NS" snapshots ls | tail -n +2)" ] || { echo "snapshots left in $NS" >&2; exit 1; }
}

# Prints "seconds peak-RSS-MiB" of one import.
timed() {
  local side=$1 t0 t1 rss
  reset_ns
  t0=$(date +%s%N)
  if [ "$side" = ours ]; then
    rss=$(/usr/bin/time -f %M "${CTR[@]}" images import "$WORK/image.tar" 2>&1 >/dev/null | tail -1)
  else
    rss=$(/usr/bin/time -f %M "$GOCTR" -a "$ADDRESS" -n "$NS" images import "$WORK/image.tar" 2>&1 >/dev/null | tail -1)
  fi
  t1=$(date +%s%N)
  [ "$("$GOCTR" -a "$ADDRESS" -n "$NS" snapshots ls | tail -n +2 | wc -l)" = "$LAYERS" ] || { echo "$side: not unpacked" >&2; exit 1; }
  awk -v ns=$((t1 - t0)) -v kb="$rss" 'BEGIN { printf "%.3f %.1f\n", ns / 1e9, kb / 1024 }'
}
alternate_rounds "$ROUNDS"
reset_ns
echo "# $MB MiB archive, $LAYERS gzip layers, unpacked into overlayfs; $ROUNDS interleaved rounds; NODE_EXTRA_CA_CERTS unset"
printf 'ctr images import:     median %s s, peak RSS %s MiB\n' "$(median_wall ours)" "${peak[ours]}"
printf 'Go ctr images import:  median %s s, peak RSS %s MiB\n' "$(median_wall go)" "${peak[go]}"
echo "ratio ctr / Go ctr (wall): $(ratio "$(median_wall ours)" "$(median_wall go)")"
