"""Every molecule scenario, as `make molecule SCENARIO=NAME` runs it: create (a lab of real hosts),
converge, idempotence, verify (testinfra across hosts), destroy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.molecule

SCENARIOS = sorted(path.parent.name for path in (PROJECT / "molecule").glob("*/molecule.yml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str) -> None:
    """`make molecule SCENARIO=NAME`, as CI's molecule jobs run it; molecule calls the venv's
    Ansible programs from PATH."""
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        ["make", "--no-print-directory", "molecule", f"SCENARIO={scenario}", f"VENV={sys.prefix}"],
        cwd=PROJECT,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
