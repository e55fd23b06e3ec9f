#!/usr/bin/env bash
# The main job on its embedded default: a prod-shaped lab of real hosts on this machine,
# provisioned, then the example app deployed as release 1.0.0 and upgraded to 1.1.0 (a real
# schema migration) with a blue/green switch. Installs what it needs first. Prints the URL.
# Take the lab down afterwards with: .venv/bin/voicenote-ops lab down
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
ops=.venv/bin/voicenote-ops

$ops lab up --topology prod
$ops provision lab --yes
for version in 1.0.0 1.1.0; do
    .venv/bin/python examples/voicenote-api/releases/build_release.py "$version" --out dist
done
$ops deploy lab --version 1.0.0 --yes
$ops deploy lab --version 1.1.0 --yes
$ops status lab
port=$($ops lab status --name lab --json | .venv/bin/python -c \
    'import json, sys; print(next(h["https_port"] for h in json.load(sys.stdin)["labs"][0]["hosts"] if "lb" in h["groups"]))')
echo
echo "The lab serves the VoiceNote API at https://127.0.0.1:${port}/ (self-signed certificate):"
echo "  curl -k https://127.0.0.1:${port}/health"
echo "  curl -k -X POST https://127.0.0.1:${port}/notes -H 'content-type: application/json' -d '{\"title\": \"hi\", \"duration_seconds\": 3}'"
echo "Roll back with: $ops rollback lab    Take it down with: $ops lab down"
