#!/usr/bin/env bash
# Installs the SOCKS proxies the egress tests (tests/egress) run on loopback: Dante (danted,
# SOCKS4 and SOCKS5 with username auth) and microsocks. Idempotent and quick when they are there;
# run as root (CI, containers).
#
# The tests start their own instances on 127.0.0.3x from temporary config folders. Debian's
# danted service does not start without `internal:`/`external:` lines in /etc/danted.conf, and
# policy-rc.d keeps it from trying during the install; on systemd machines it is disabled after.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../debian_packages.sh"

TIER=egress
PACKAGES=(dante-server microsocks)

after_install() {
    if [ -d /run/systemd/system ]; then
        systemctl disable --now danted >/dev/null 2>&1 || true
    fi
}

install_missing_packages
