"""The Python code passes ruff (lint and format) as configured in pyproject.toml."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.unit

RUFF = str(Path(sys.executable).parent / "ruff")
CHECKED = ["voicenote_ops", "tests", "examples", "plugins", "scripts", "molecule", "roles"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command):
    result = subprocess.run(
        [RUFF, *command, *CHECKED], cwd=PROJECT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
