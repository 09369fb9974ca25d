#!/usr/bin/env bash
# Installs the Debian packages the real-server tests (tests/realmta) need: postfix, postgrey,
# unbound. Idempotent and quick when everything is there already; run as root (CI, containers).
#
# The tests start their own instances on 127.0.0.70-73 from temporary config folders, so the
# system services are kept from starting during the install (policy-rc.d answers 101) and, on a
# machine that runs systemd, disabled afterwards: nothing of the system's should sit on :25,
# :53 or :10023 on the addresses the tests use (they listen on 127.0.0.1 at most anyway).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../debian_packages.sh"

TIER=realmta
PACKAGES=(postfix postgrey unbound)

before_install() {
    # Without this, postfix's postinst asks which kind of mail server this is.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
}

after_install() {
    # Only what this script installed: a resolver or MTA the machine already ran stays as it is.
    if [ -d /run/systemd/system ]; then
        for pkg in "$@"; do
            systemctl disable --now "$pkg" >/dev/null 2>&1 || true
        done
    fi
}

install_missing_packages
