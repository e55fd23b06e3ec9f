#!/usr/bin/env bash
# The main job on its embedded default: a prod-shaped lab of real hosts on this machine,
# reached over SSH. Installs what it needs first. Take the lab down with
# `.venv/bin/voicenote-ops lab down`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
ops=.venv/bin/voicenote-ops
$ops lab up --topology prod
$ops ping lab
