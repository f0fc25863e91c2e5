#!/usr/bin/env bash
# CI, before pytest: Debian's Chromium, which the report tests open every HTML report in (headless, WebGL on
# SwiftShader). Debian/Ubuntu, as root.
set -euo pipefail
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "ci_chromium.sh: run as root to install chromium" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
echo "chromium: $( { chromium --version || chromium-browser --version; } 2>/dev/null)"
