"""`make test-quick`, CI's unit job and the pre-push hook: the unit tier passes on its own, with
no lab: podman, when called, only records that it was."""

import os
import time

import pytest

from tests.conftest import run_make

pytestmark = pytest.mark.integration


def test_make_test_quick_needs_no_lab(tmp_path):
    calls = tmp_path / "podman-calls"
    fake = tmp_path / "bin" / "podman"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexit 1\n')
    fake.chmod(0o755)
    path = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
    started = time.monotonic()
    done = run_make("test-quick", env={"PATH": path, "VOICENOTE_OPS_STATE": str(tmp_path)})
    print(f"make test-quick: {time.monotonic() - started:.0f} s")
    assert done.returncode == 0, done.stdout[-3000:]
    assert not calls.exists(), calls.read_text()
