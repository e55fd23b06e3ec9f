"""Every molecule scenario, as `molecule test -s NAME` runs it: create (a lab of real hosts),
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
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "molecule"), "test", "--scenario-name", scenario],
        cwd=PROJECT,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
