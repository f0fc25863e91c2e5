#!/usr/bin/env bash
# CI, before pytest: the system packages the container tests need (Debian/Ubuntu, as root).
#   docker.io    the Docker daemon and client (the tests start a private dockerd when none answers)
#   debootstrap  builds the Debian base image locally: no image hub is needed
# The tests start and stop the daemon themselves; this script only installs.
set -euo pipefail
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "ci_docker.sh: run as root to install ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" iptables
fi
echo "docker: $(dockerd --version)"
