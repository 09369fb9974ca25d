# Sourced by the install scripts of the test tiers that need Debian's packages (tests/realmta,
# tests/egress, tests/console): installs what is missing of PACKAGES without starting any service.
#
# The caller sets TIER (its name in messages) and PACKAGES, may define before_install and
# after_install (each called with the missing packages as arguments), then calls
# install_missing_packages. Idempotent and quick when everything is there; installing needs root.
#
# The tests start their own instances from temporary config folders, so the system services are
# kept from starting during the install: policy-rc.d answers 101 (an existing policy is put back
# afterwards), and after_install disables what must not run (on a machine with systemd).

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

install_missing_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "$TIER: ${PACKAGES[*]} already installed"
        return 0
    fi

    if [ "$(id -u)" -ne 0 ]; then
        echo "$TIER: need root to install ${missing[*]}" >&2
        return 1
    fi

    export DEBIAN_FRONTEND=noninteractive

    # Global, not local: the EXIT trap puts the policy back after this function has returned.
    POLICY=/usr/sbin/policy-rc.d
    BACKUP=""
    if [ -e "$POLICY" ]; then
        BACKUP="$(mktemp)"
        cp -p "$POLICY" "$BACKUP"
    fi
    trap restore_policy EXIT
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"

    if declare -F before_install >/dev/null; then
        before_install "${missing[@]}"
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if declare -F after_install >/dev/null; then
        after_install "${missing[@]}"
    fi

    echo "$TIER: installed ${missing[*]}"
}

restore_policy() {
    if [ -n "$BACKUP" ]; then
        cp -p "$BACKUP" "$POLICY"
        rm -f "$BACKUP"
    else
        rm -f "$POLICY"
    fi
}
