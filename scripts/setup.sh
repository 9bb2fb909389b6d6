#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Python >= 3.11.
#   scripts/setup.sh            python packages only
#   scripts/setup.sh --servers  also the Debian packages of the real peers (needs root)
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
APT_PACKAGES=(chromium dovecot-imapd kamailio sip-tester tshark)

if [[ "${1:-}" == "--servers" ]]; then
    missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        if [[ $(id -u) -ne 0 ]]; then
            echo "setup: need root to install ${missing[*]} (or install them yourself)" >&2
            exit 2
        fi
        echo "setup: installing Debian packages: ${missing[*]}"
        # in the background, while pip installs the python packages (both are mostly
        # downloads); its status is checked below
        (
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" >/dev/null
        ) &
        apt_pid=$!
        trap 'kill "$apt_pid" 2>/dev/null || true' EXIT
    fi
fi

stamp=.setup-stamp
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    echo "setup: installing python packages (editable, with dev extras)"
    "$PY" -m pip install -q --disable-pip-version-check -e '.[dev]'
    touch "$stamp"
fi
if [[ -n ${apt_pid:-} ]]; then
    if ! wait "$apt_pid"; then
        echo "setup: installing the Debian packages failed" >&2
        exit 1
    fi
    trap - EXIT
fi
