#!/bin/sh
# Set up a fresh machine for asyncfc-agent: Debian packages, the Python package, and the
# sandbox image (built offline from Debian packages) when a Docker engine is reachable.
#
#   scripts/bootstrap.sh          what the demo and everyday use need
#   scripts/bootstrap.sh --dev    plus what the tests need (tmux, chromium, dev tools)
#
# Idempotent: what is already there is not installed or built again.
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-python3}

dev=no
[ "${1:-}" = "--dev" ] && dev=yes

packages="git ripgrep"
if docker info >/dev/null 2>&1; then
    packages="$packages debootstrap"
fi
if [ "$dev" = yes ]; then
    packages="$packages tmux chromium"
fi

missing=""
for pkg in $packages; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO=sudo
        echo "installing Debian packages:$missing"
        $SUDO apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
    else
        echo "warning: not a Debian system; install these yourself:$missing" >&2
    fi
fi

if [ "$dev" = yes ]; then
    $PY -m pip install -q -e '.[dev,batch]'
else
    $PY -m pip install -q -e .
fi

if docker info >/dev/null 2>&1; then
    $PY -m asyncfc_agent.cli sandbox build --offline
else
    echo "no Docker engine reachable: the local sandbox will be used (it does not isolate)"
fi
