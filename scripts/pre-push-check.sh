#!/usr/bin/env bash
# Before a push: the checks CI's lint and security jobs run, then the fast tests (no hosts).
# Install as this checkout's pre-push hook with `make hooks`; skip once with `git push --no-verify`.
# Git runs hooks from the work tree's top, and passes refs on stdin, which these checks ignore.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

if [ ! -x .venv/bin/voicenote-ops ]; then
    echo "pre-push: no .venv here; run 'make venv' (or scripts/bootstrap.sh as root) first." >&2
    exit 2
fi
make --no-print-directory lint
make --no-print-directory test-quick
