#!/usr/bin/env bash
# Creates an OCI bundle with a static busybox root filesystem:
#
#   make-bundle.sh [--terminal] [--env KEY=VALUE]... [--force] DIR [ARGS...]
#
# DIR/rootfs: /bin/busybox plus a symlink per applet (/sbin, /usr/bin, /usr/sbin link to /bin), /tmp (1777),
# /etc/passwd + /etc/group (root, user 1000, nobody), /root, /home/user.
# DIR/config.json: `runc spec` with process.args = ARGS (default: sleep 3600), process.terminal = false
# (true with --terminal), --env entries added to (or replacing, by key) process.env, which always has
# PATH, and root.readonly = false. root.path stays bundle-relative ("rootfs").
#
# The base rootfs and the runc spec are built once and cached (keyed by the busybox and runc binaries) in
# $CTR_BUNDLE_CACHE (default ${TMPDIR:-/tmp}/ctr-bundle-cache); a bundle is then a copy of it (~20 ms + node).
# DIR may be missing or empty; with --force an existing bundle there is replaced.
# This script is the one implementation; test/helpers/bundle.ts calls it.
set -euo pipefail

usage() { echo "usage: make-bundle.sh [--terminal] [--env KEY=VALUE]... [--force] DIR [ARGS...]" >&2; exit 2; }
terminal=false
force=
envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --terminal) terminal=true; shift ;;
    --env) [ $# -ge 2 ] || usage; envs+=("$2"); shift 2 ;;
    --env=*) envs+=("${1#--env=}"); shift ;;
    --force) force=1; shift ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
dir=$1; shift
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(sleep 3600)

busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-bundle: $busybox missing (apt-get install busybox-static, or scripts/install-deps.sh)" >&2; exit 1; }
runc=$(command -v runc) || { echo "make-bundle: runc missing (scripts/install-deps.sh)" >&2; exit 1; }

# --- cached base: rootfs + runc spec template --------------------------------------------------------
cache_root=${CTR_BUNDLE_CACHE:-${TMPDIR:-/tmp}/ctr-bundle-cache}
key=$(stat -L -c '%s-%Y-%i' "$busybox" "$runc" | tr '\n' '-')
base=$cache_root/base-${key%-}
if [ ! -f "$base/.complete" ]; then
  mkdir -p "$cache_root"
  tmp=$(mktemp -d "$cache_root/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  r=$tmp/rootfs
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/home/user" "$r/proc" "$r/sys" "$r/dev" "$r/usr" "$r/var/tmp"
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 700 "$r/root"
  # Only root can give it away; a non-root run (the contract tests as nobody) starts no container in it.
  if [ "$(id -u)" = 0 ]; then chown 1000:1000 "$r/home/user"; fi
  cp "$busybox" "$r/bin/busybox"
  # Every applet as a relative symlink in /bin (sh, cat, echo, sleep, id, pwd, stty, ls, true, false, yes,
  # head, dd, env, top, ps, kill, wc, seq, ...).
  (cd "$r/bin" && for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$applet"
  done)
  ln -s bin "$r/sbin"; ln -s ../bin "$r/usr/bin"; ln -s ../bin "$r/usr/sbin"
  cat >"$r/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
  cat >"$r/etc/group" <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
  echo 'hosts: files' >"$r/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$r/etc/hosts"
  (cd "$tmp" && "$runc" spec)
  touch "$tmp/.complete"
  # Atomic publish; a concurrent builder that lost the race just drops its copy.
  if ! mv -T "$tmp" "$base" 2>/dev/null; then rm -rf "$tmp"; fi
  trap - EXIT
  [ -f "$base/.complete" ] || { echo "make-bundle: could not build the base rootfs in $base" >&2; exit 1; }
fi

# --- the bundle -------------------------------------------------------------------------------------
if [ -e "$dir/config.json" ] || [ -e "$dir/rootfs" ]; then
  if [ -z "$force" ]; then echo "make-bundle: $dir already holds a bundle (use --force to replace it)" >&2; exit 1; fi
  rm -rf "$dir/rootfs" "$dir/config.json"
fi
mkdir -p "$dir"
cp -a "$base/rootfs" "$dir/rootfs"

node -e '
const fs = require("fs");
const [template, out, terminal, nenv, ...rest] = process.argv.slice(1);
const env = rest.slice(0, Number(nenv));
const args = rest.slice(Number(nenv));
const spec = JSON.parse(fs.readFileSync(template, "utf8"));
spec.process.terminal = terminal === "true";
spec.process.args = args;
const vars = new Map();
for (const e of spec.process.env || []) vars.set(e.split("=")[0], e);
if (!vars.has("PATH")) vars.set("PATH", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
for (const e of env) vars.set(e.split("=")[0], e);
spec.process.env = [...vars.values()];
spec.root = {...spec.root, path: "rootfs", readonly: false};
fs.writeFileSync(out, JSON.stringify(spec, null, 2) + "\n");
' "$base/config.json" "$dir/config.json" "$terminal" "${#envs[@]}" ${envs[@]+"${envs[@]}"} "${args[@]}"
