#!/usr/bin/env bash
# Installs the Debian packages the real-server tests (tests/realmta) need: postfix, postgrey,
# unbound. Idempotent and quick when everything is there already; run as root (CI, containers).
#
# The tests start their own instances on 127.0.0.70-73 from temporary config folders, so the
# system services are kept from starting during the install (policy-rc.d answers 101) and, on a
# machine that runs systemd, disabled afterwards: nothing of the system's should sit on :25,
# :53 or :10023 on the addresses the tests use (they listen on 127.0.0.1 at most anyway).
set -euo pipefail

PACKAGES=(postfix postgrey unbound)

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "realmta: ${PACKAGES[*]} already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "realmta: need root to install ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Keep invoke-rc.d / deb-systemd-invoke from starting the daemons while the packages install;
# an existing policy is put back afterwards.
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

# Without this, postfix's postinst asks which kind of mail server this is.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

if [ -d /run/systemd/system ]; then
    for pkg in "${missing[@]}"; do
        systemctl disable --now "$pkg" >/dev/null 2>&1 || true
    done
fi

echo "realmta: installed ${missing[*]}"
