# Shared set-up of the bench/*.sh scripts (sourced). After `bench_setup NAME`:
#   ADDRESS  the containerd socket: $CONTAINERD_ADDRESS if set, else a private daemon started here with
#            scripts/containerd-up.sh in /tmp/ctr-bench-NAME (stopped and removed again on exit)
#   NS       a namespace of this run's own (removed on exit)
#   BUNDLE   a busybox OCI bundle (`sleep 100000`) in WORK
#   WORK     a temp dir of this run (removed on exit)
#   CTR      this project's CLI (node bin/run.js; built first if dist/ is missing)
#   GOCTR    Go's ctr (/usr/bin/ctr, or $GO_CTR), the peer
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
CTR=("node" "$ROOT/bin/run.js")
GOCTR=${GO_CTR:-/usr/bin/ctr}
[ -x "$GOCTR" ] || GOCTR=$(command -v ctr)

bench_setup() {
  local name=$1
  [ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run --silent build)
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/ctr-bench-$name-XXXXXX")
  NS=bench-$name-$$
  if [ -n "${CONTAINERD_ADDRESS:-}" ]; then
    ADDRESS=$CONTAINERD_ADDRESS
    OWN_DAEMON=
  else
    OWN_DAEMON=/tmp/ctr-bench-$name
    bash "$ROOT/scripts/containerd-up.sh" "$OWN_DAEMON" >/dev/null
    ADDRESS=$OWN_DAEMON/containerd.sock
  fi
  trap bench_teardown EXIT
  export CONTAINERD_ADDRESS=$ADDRESS CONTAINERD_NAMESPACE=$NS
  BUNDLE=$WORK/bundle
  bash "$ROOT/scripts/make-bundle.sh" "$BUNDLE" sleep 100000 >/dev/null
  echo "# containerd $("$GOCTR" -a "$ADDRESS" version 2>/dev/null | awk '/Server/{s=1} s&&/Version/{print $2; exit}') at $ADDRESS, namespace $NS; $(nproc) CPUs; node $(node --version)"
}

# Removes whatever is left in the namespace (Go ctr's containers too), the namespace, WORK, and the daemon
# if this run started it.
bench_teardown() {
  local ids
  ids=$("$GOCTR" -a "$ADDRESS" -n "$NS" containers list -q 2>/dev/null || true)
  if [ -n "$ids" ]; then
    echo "$ids" | xargs -r -P 8 -I{} sh -c "'$GOCTR' -a '$ADDRESS' -n '$NS' tasks kill -s KILL {} >/dev/null 2>&1; '$GOCTR' -a '$ADDRESS' -n '$NS' tasks delete -f {} >/dev/null 2>&1; '$GOCTR' -a '$ADDRESS' -n '$NS' containers delete {} >/dev/null 2>&1" || true
  fi
  "$GOCTR" -a "$ADDRESS" namespaces remove "$NS" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if [ -n "${OWN_DAEMON:-}" ]; then bash "$ROOT/scripts/containerd-down.sh" "$OWN_DAEMON" >/dev/null 2>&1 || true; fi
}

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

# median: the median of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# alternate_rounds N: runs the script's `timed ours` and `timed go` (each prints "SECONDS PEAK_MIB") N times,
# alternating, into the arrays wall[side] (the seconds, space-separated) and peak[side] (the highest MiB).
# median_wall SIDE then gives that side's median.
alternate_rounds() {
  declare -gA wall peak
  local r side s m
  for r in $(seq "$1"); do
    for side in ours go; do
      read -r s m <<<"$(timed "$side")"
      wall[$side]+="$s "
      peak[$side]=$(awk -v a="${peak[$side]:-0}" -v b="$m" 'BEGIN { print (b > a ? b : a) }')
      echo "# round $r $side: $s s, $m MiB" >&2
    done
  done
}
median_wall() { printf '%s\n' ${wall[$1]} | median; }
