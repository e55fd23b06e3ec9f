#!/usr/bin/env bash
# The test command (README, .ci/run, `make test`): installs what it needs, then runs every
# test tier but the heavy one (load, stress, performance: `make test-heavy`).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/voicenote-ops lab image >/dev/null
exec .venv/bin/pytest -m "not load and not stress and not performance" "$@"
