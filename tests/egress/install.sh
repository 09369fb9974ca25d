#!/usr/bin/env bash
# Installs the SOCKS proxies the egress tests (tests/egress) run on loopback: Dante (danted,
# SOCKS4 and SOCKS5 with username auth) and microsocks. Idempotent and quick when they are there;
# run as root (CI, containers).
#
# The tests start their own instances on 127.0.0.3x from temporary config folders. Debian's
# danted service does not start without `internal:`/`external:` lines in /etc/danted.conf, and
# policy-rc.d keeps it from trying during the install; on systemd machines it is disabled after.
set -euo pipefail

PACKAGES=(dante-server microsocks)

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "egress: ${PACKAGES[*]} already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "egress: need root to install ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

POLICY=/usr/sbin/policy-rc.d
BACKUP=""
if [ -e "$POLICY" ]; then
    BACKUP="$(mktemp)"
    cp -p "$POLICY" "$BACKUP"
fi
restore_policy() {
    if [ -n "$BACKUP" ]; then
        cp -p "$BACKUP" "$POLICY"
        rm -f "$BACKUP"
    else
        rm -f "$POLICY"
    fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' >"$POLICY"
chmod 755 "$POLICY"

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

if [ -d /run/systemd/system ]; then
    systemctl disable --now danted >/dev/null 2>&1 || true
fi

echo "egress: installed ${missing[*]}"
