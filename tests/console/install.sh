#!/usr/bin/env bash
# Installs what the console's browser tests (tests/console) drive: Chromium and its driver from
# Debian's packages. Playwright (the `browser` extra) talks to this Chromium; it never downloads
# a browser of its own. Idempotent and quick when they are there; run as root (CI, containers).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../debian_packages.sh"

TIER=console
PACKAGES=(chromium chromium-driver)

install_missing_packages
