#!/usr/bin/env bash
# Installs the system packages the integration tests need: containerd (daemon + Go `ctr` probe), runc, criu,
# a static busybox (copied into test bundles), zsh (the zsh completion tests), and for the pull/push tests
# docker-registry (the distribution registry 2.8), skopeo (puts test images into it, inspects what ctr
# pushed) and apache2-utils (htpasswd, for the registry with basic auth), containernetworking-plugins
# (the CNI plugins in /usr/lib/cni), iptables (the bridge, portmap and firewall plugins run it) and openssh-server
# (sshd and ssh-keygen, for the ssh:// tests; each test starts its own sshd). Idempotent: a fast no-op when
# everything is present.
# Never starts the system containerd or registry service (there is no systemd here; the tests run a private
# daemon and private registries).
set -euo pipefail

missing=()
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
[ -x /usr/bin/ctr ] || missing+=(containerd) # Go ctr, the probe (not this project's ctr)
command -v containerd-shim-runc-v2 >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v criu >/dev/null 2>&1 || missing+=(criu)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
[ -x /usr/sbin/iptables ] || missing+=(iptables)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# The bundles need a *static* busybox at /bin/busybox (busybox-static); a dynamic one would not run in a
# rootfs without libc.
if [ ! -x /bin/busybox ] || ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  missing+=(busybox-static)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (or: sudo apt-get install -y containerd runc criu busybox-static zsh docker-registry skopeo apache2-utils containernetworking-plugins iptables openssh-server)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 = "do not start services": keeps the packages' containerd.service and
# docker-registry.service from starting
# where an init system would honour it (no effect without one). Only ours if we created it.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq containerd runc criu busybox-static zsh docker-registry skopeo apache2-utils containernetworking-plugins iptables openssh-server; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "install-deps: apt-get failed" >&2
  exit 1
fi
rm -f "$log"
echo "install-deps: done" >&2
