#!/usr/bin/env bash
# The test command (README, .ci/run, `make test`): installs what it needs, then runs every
# test tier but the heavy one (load, stress, performance: `make test-heavy`).
# Test files run on VOICENOTE_TEST_WORKERS workers at once (pytest-xdist), a file on one worker
# (its module's labs and servers are that worker's alone; each molecule scenario is a unit of
# its own), the longest first (tests/scheduling.py), each worker with labs of its own; the ten
# slowest tests are listed at the end (docs/testing.md).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/voicenote-ops lab image --packages >/dev/null
exec .venv/bin/pytest -n "${VOICENOTE_TEST_WORKERS:-3}" --dist loadfile --durations=10 \
    -m "not load and not stress and not performance" "$@"
