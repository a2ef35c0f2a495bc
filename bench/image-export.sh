#!/usr/bin/env bash
# Wall time and peak RSS of exporting a ≈MB MiB image (LAYERS gzip layers, OCI layout) to a file:
# `ctr images export` vs Go's `ctr images export`, ROUNDS rounds interleaved (ours, Go, ours, Go, ...) on the
# same daemon, the same image, the same directory. Each export's file is removed before the next; both
# read the blobs from containerd's content store (the page cache is warm for both after the first round).
#
#   bash bench/image-export.sh            MB=200 LAYERS=5 ROUNDS=5 bash bench/image-export.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run. NODE_EXTRA_CA_CERTS is
# unset for our CLI: Node reads that file at every start, a cost no user's shell necessarily has.
source "$(dirname "$0")/lib.sh"
MB=${MB:-200}
LAYERS=${LAYERS:-5}
ROUNDS=${ROUNDS:-5}
bench_setup image-export
unset NODE_EXTRA_CA_CERTS
IMAGE=bench.example.com/export:1
node "$BENCH_DIR/make-image-archive.mjs" "$WORK/image.tar" "$IMAGE" "$MB" "$LAYERS" | sed 's/^/# /'
"$GOCTR" -a "$ADDRESS" -n "$NS" images import --no-unpack "$WORK/image.tar" >/dev/null
rm -f "$WORK/image.tar"

# Prints "seconds peak-RSS-MiB" of one export.
timed() {
  local side=$1 t0 t1 rss out="$WORK/out-$1.tar"
  rm -f "$out"
  t0=$(date +%s%N)
  if [ "$side" = ours ]; then
    rss=$(/usr/bin/time -f %M "${CTR[@]}" images export "$out" "$IMAGE" 2>&1 >/dev/null | tail -1)
  else
    rss=$(/usr/bin/time -f %M "$GOCTR" -a "$ADDRESS" -n "$NS" images export "$out" "$IMAGE" 2>&1 >/dev/null | tail -1)
  fi
  t1=$(date +%s%N)
  [ "$(stat -c %s "$out")" -gt $((MB * 1024 * 1024 * 9 / 10)) ] || { echo "$side: archive too small" >&2; exit 1; }
  rm -f "$out"
  awk -v ns=$((t1 - t0)) -v kb="$rss" 'BEGIN { printf "%.3f %.1f\n", ns / 1e9, kb / 1024 }'
}
alternate_rounds "$ROUNDS"
echo "# $MB MiB image, $LAYERS gzip layers, exported to a file in $WORK; $ROUNDS interleaved rounds; NODE_EXTRA_CA_CERTS unset"
printf 'ctr images export:     median %s s, peak RSS %s MiB\n' "$(median_wall ours)" "${peak[ours]}"
printf 'Go ctr images export:  median %s s, peak RSS %s MiB\n' "$(median_wall go)" "${peak[go]}"
echo "ratio ctr / Go ctr (wall): $(ratio "$(median_wall ours)" "$(median_wall go)")"
