#!/usr/bin/env bash
# CI, before pytest: the system packages the SLURM test needs (Debian/Ubuntu, as root).
#   slurm-wlm  slurmctld, slurmd and the client commands (sbatch, squeue, scontrol)
#   munge      the authentication daemon SLURM uses (the package makes its key)
# tests/cluster starts a one-node cluster on localhost in a temporary folder and stops it; this only installs.
set -euo pipefail
missing=()
command -v slurmctld >/dev/null || missing+=(slurm-wlm)
command -v munged >/dev/null || missing+=(munge)
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "ci_slurm.sh: run as root to install ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
echo "slurm: $(slurmctld -V)"
