#!/usr/bin/env bash
# Installs promtool into .venv/bin (make promtool; scripts/bootstrap.sh calls it): the one binary
# of the distribution's prometheus package, which is not installed. On Debian 12 that is the
# Prometheus the monitoring hosts run (2.42), so the rules are tested by the version that loads
# them; elsewhere (CI's Ubuntu runners) the distribution's own, 2.42 or newer in 2.x
# (tests/unit/test_alert_rules.py). Reinstalled only when missing or older; a package list too old
# for the mirror is refreshed, with sudo unless run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
minimum=2.42

installed=$(.venv/bin/promtool --version 2>/dev/null | awk 'NR == 1 {print $3}' || true)
if [[ -z "$installed" ]] || [[ "$(printf '%s\n' "$minimum" "$installed" | sort -V | head -1)" != "$minimum" ]]; then
    echo "promtool: from the distribution's prometheus package into .venv/bin"
    download=$(mktemp -d)
    trap 'rm -rf "$download"' EXIT
    # apt-get downloads as its own user when run as root.
    if [ "$(id -u)" = 0 ]; then chown _apt "$download"; fi
    # An old package list may name a version the mirror no longer has.
    if ! (cd "$download" && apt-get download -q prometheus); then
        if [ "$(id -u)" = 0 ]; then apt-get update -q; else sudo apt-get update -q; fi
        (cd "$download" && apt-get download -q prometheus)
    fi
    dpkg-deb --fsys-tarfile "$download"/prometheus_*.deb | tar -x -C "$download" ./usr/bin/promtool
    install -m 0755 "$download/usr/bin/promtool" .venv/bin/promtool
fi

