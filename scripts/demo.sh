#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, start a private containerd (never the
# system one) and walk through ctr's commands against it. Leaves the daemon running for you to explore;
# `bash scripts/containerd-down.sh` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d node_modules/@oclif/core ] || npm ci --no-audit --no-fund
npm run --silent build

export CTR_DAEMON_DIR=${CTR_DAEMON_DIR:-/tmp/ctr-containerd}
# Not `eval "$(...)"` alone: eval would hide containerd-up's failure, and the demo would go on against the
# system socket.
daemon_env=$(bash scripts/containerd-up.sh "$CTR_DAEMON_DIR")
eval "$daemon_env"
export CONTAINERD_NAMESPACE=ctr-demo
# ctr's networks (conflists, attachment records) beside the private daemon, not in /etc/cni/net.d.
export CNI_CONF_DIR=$CTR_DAEMON_DIR/cni CTR_NET_DIR=$CTR_DAEMON_DIR/net
# and its named volumes, rather than /var/lib/ctr/volumes.
export CTR_VOLUME_DIR=$CTR_DAEMON_DIR/volumes
mkdir -p -m 700 "$CNI_CONF_DIR"
bundle=$CTR_DAEMON_DIR/bundles/busybox
hello=$CTR_DAEMON_DIR/bundles/hello
bash scripts/make-bundle.sh --force "$hello" sh -c 'echo "hello from $(hostname)"; echo "to stderr" >&2; exit 3' >/dev/null
ctr() { node bin/run.js "$@"; }
step() { printf '\n\033[1m$ ctr %s\033[0m\n' "$*"; ctr "$@"; }

# Leave nothing of an earlier demo behind.
ctr containers rm --force demo demo-attach web data >/dev/null 2>&1 || true
ctr volumes rm demo-data >/dev/null 2>&1 || true

step version
step containers start demo "$bundle"
step containers
step containers exec --id demo --attach -- sh -c 'echo hello from $(hostname), pid $$'
step containers exec --id demo --exec-id job -- sh -c 'sleep 0.5; exit 3'
step containers ps demo
sleep 1 # job exits; ctr removes it from containerd and keeps its exit status
step containers ps --all demo
step containers stats --no-stream demo
step checkpoints create demo first || echo "(exit code $?: a checkpoint needs a criu that can dump on this kernel; demo keeps running)"
step checkpoints demo
step containers start --attach --rm demo-attach "$hello" || echo "(exit code $?: the container's own)"
# A service on the network: busybox's httpd serving the bundle's /etc, published on the host's 127.0.0.1.
port=18080
step containers start -p 127.0.0.1:$port:80 web "$bundle" httpd -f -p 80 -h /etc
sleep 0.5
printf '\n\033[1m$ wget -qO- http://127.0.0.1:%s/passwd | head -2   (from the host)\033[0m\n' "$port"
/bin/busybox wget -qO- "http://127.0.0.1:$port/passwd" | head -2
printf '\n\033[1m$ ctr containers info web   (its network: addresses and published ports)\033[0m\n'
ctr containers info web | sed -n '/^  "network": {/,/^  }/p'
step containers delete --force web
step networks
step networks rm ctr-bridge
# Files in and out, and a service's data on a named volume, stopped gracefully.
echo "a note from the host" > "$CTR_DAEMON_DIR/note.txt"
step containers cp "$CTR_DAEMON_DIR/note.txt" demo:/tmp/note.txt
step containers exec --id demo --attach cat /tmp/note.txt
step containers cp demo:/etc/passwd "$CTR_DAEMON_DIR/demo-passwd"
step containers start -v demo-data:/data data "$bundle" sh -c 'date > /data/started; exec sleep 1000'
step volumes
step containers stop --time 2 data
step containers delete data
step volumes --filter dangling=true
printf '\n\033[1m$ ctr volumes rm $(ctr volumes ls -q --filter dangling=true)\033[0m\n'
ctr volumes rm $(ctr volumes ls -q --filter dangling=true)
printf '\n\033[1m$ ctr events   (in the background while demo is killed)\033[0m\n'
# node itself in the background, not the ctr() function: a backgrounded function is a subshell that ignores
# SIGINT, so the Ctrl-C below would never reach ctr.
node bin/run.js events > "$CTR_DAEMON_DIR/demo-events.txt" & events_pid=$!
sleep 0.5
step containers kill --signal KILL demo
sleep 0.5
kill -INT "$events_pid"; wait "$events_pid" || true
cat "$CTR_DAEMON_DIR/demo-events.txt"
step containers --json
step containers delete demo
printf '\nThe private containerd keeps running:\n  export CONTAINERD_ADDRESS=%s/containerd.sock\nStop it with: bash scripts/containerd-down.sh %s\n' "$CTR_DAEMON_DIR" "$CTR_DAEMON_DIR"
