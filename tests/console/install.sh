#!/usr/bin/env bash
# Installs what the console's browser tests (tests/console) drive: Chromium and its driver from
# Debian's packages. Playwright (the `browser` extra) talks to this Chromium; it never downloads
# a browser of its own. Idempotent and quick when they are there; run as root (CI, containers).
set -euo pipefail

PACKAGES=(chromium chromium-driver)

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "console: ${PACKAGES[*]} already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "console: need root to install ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "console: installed ${missing[*]}"
