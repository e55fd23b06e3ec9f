"""Shared fixtures: the CLI as a user runs it, and a private state dir for the session."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _private_state(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Labs made by tests keep their keys and inventories apart from an operator's."""
    os.environ["VOICENOTE_OPS_STATE"] = str(tmp_path_factory.mktemp("state"))


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600):
    """Run `voicenote-ops ARGS` in a subprocess, exactly as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "voicenote_ops", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli():
    return run_cli
