#!/usr/bin/env bash
# Installs the container engine the image test drives: Debian's podman with the runc runtime,
# and debootstrap to make a Debian base image where no image registry is reachable.
# Does nothing when they are present. podman-compose comes from pip (the test extra): Debian
# bookworm's 1.0.3 cannot run services on the host's network. containers.conf: the engine's
# default ulimits are refused by some hosts (nested containers, CI runners), so the course's
# containers ask for none; crun fails on some hosts' cgroup layouts, runc works.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    $SUDO apt-get update
    # fuse-overlayfs/slirp4netns: rootless podman's storage and network; uidmap: its user namespaces;
    # netavark (+ iptables, which it drives): container networks.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        podman runc debootstrap uidmap fuse-overlayfs slirp4netns netavark aardvark-dns iptables
fi
CONF=/etc/containers/containers.conf
if [ "$(id -u)" -ne 0 ]; then
    CONF="$HOME/.config/containers/containers.conf"
fi
if ! grep -qs "default_ulimits" "$CONF"; then
    $SUDO mkdir -p "$(dirname "$CONF")"
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n\n[network]\nnetwork_backend = "netavark"\n' | $SUDO tee -a "$CONF" >/dev/null
fi
