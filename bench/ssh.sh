#!/usr/bin/env bash
# What `-a ssh://` costs: `ctr containers` on the local socket, through `ctr -a ssh://root@127.0.0.1:PORT/SOCK`
# (ctr here, containerd there), and as `ssh HOST ctr containers` (ctr run on the other host by ssh), against
# the same containerd, interleaved ROUNDS times. The "host" is a private sshd on 127.0.0.1 (its own host key
# and client key, no user configuration, no ControlMaster), so the figures are ssh's handshake and process
# costs without a network's latency: over a real network add one or two round trips to both ssh columns.
#
#   bash bench/ssh.sh           ROUNDS=30 bash bench/ssh.sh
# Uses $CONTAINERD_ADDRESS if set, else starts a private containerd for the run. Needs /usr/sbin/sshd.
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-15}
bench_setup ssh
[ -x /usr/sbin/sshd ] || { echo "bench/ssh.sh: needs /usr/sbin/sshd (openssh-server)" >&2; exit 1; }
S=$WORK/sshd
mkdir -p "$S" /run/sshd
for k in host key; do ssh-keygen -q -t ed25519 -N '' -f "$S/$k"; done
cp "$S/key.pub" "$S/authorized_keys"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$S/host.pub")" >"$S/known_hosts"
cat >"$S/config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $S/host
AuthorizedKeysFile $S/authorized_keys
PidFile $S/pid
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
CFG
/usr/sbin/sshd -f "$S/config"
for _ in $(seq 100); do [ -s "$S/pid" ] && break; sleep 0.05; done
stop_sshd() { [ -s "$S/pid" ] && kill "$(cat "$S/pid")" 2>/dev/null || true; bench_teardown; }
trap stop_sshd EXIT
SSH=(/usr/bin/ssh -F /dev/null -i "$S/key" -o IdentitiesOnly=yes -o UserKnownHostsFile="$S/known_hosts" -o BatchMode=yes -p "$PORT")
export CTR_SSH_COMMAND="${SSH[*]}"
URL=ssh://root@127.0.0.1:$PORT$ADDRESS
# A few containers so the answer is not empty.
for i in 1 2 3; do "$GOCTR" -a "$ADDRESS" -n "$NS" containers create --runtime io.containerd.runc.v2 --rootfs "$BUNDLE/rootfs" "c$i" sh >/dev/null; done
NODE=$(command -v node)

timed() {
  local t0 t1 out
  t0=$(date +%s%N)
  case $1 in
    local) out=$("${CTR[@]}" containers -q) ;;
    tunnel) out=$("${CTR[@]}" -a "$URL" containers -q) ;;
    remote) out=$("${SSH[@]}" root@127.0.0.1 "CONTAINERD_ADDRESS=$ADDRESS CONTAINERD_NAMESPACE=$NS $NODE $ROOT/bin/run.js containers -q") ;;
  esac
  t1=$(date +%s%N)
  [ "$(echo "$out" | wc -l)" = 3 ] || { echo "$1: expected 3 containers, got: $out" >&2; exit 1; }
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.4f\n", ns / 1e9 }'
}
declare -A runs
for _ in $(seq "$ROUNDS"); do for side in local tunnel remote; do runs[$side]+="$(timed $side) "; done; done
m() { printf '%s\n' ${runs[$1]} | median; }
echo "# ctr containers -q, 3 containers, $ROUNDS rounds interleaved; median seconds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
printf 'local socket:              %s s\n' "$(m local)"
printf 'ctr -a ssh://...:          %s s  (adds %s s)\n' "$(m tunnel)" "$(awk -v a="$(m tunnel)" -v b="$(m local)" 'BEGIN { printf "%.3f", a - b }')"
printf 'ssh HOST ctr containers:   %s s  (adds %s s)\n' "$(m remote)" "$(awk -v a="$(m remote)" -v b="$(m local)" 'BEGIN { printf "%.3f", a - b }')"
echo "ratio ssh:// / ssh HOST ctr: $(ratio "$(m tunnel)" "$(m remote)")"
