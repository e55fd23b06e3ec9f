"""Every molecule scenario, as `make molecule SCENARIO=NAME` runs it: create (a lab of real hosts),
converge, idempotence, verify (testinfra across hosts), destroy."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.molecule

SCENARIOS = sorted(path.parent.name for path in (PROJECT / "molecule").glob("*/molecule.yml"))


# Releases of the example app a scenario deploys: the run's own bundles (built once per run),
# handed over in one folder rather than built again by the scenario's prepare step.
BUNDLES = {"deploy": ("1.0.0", "1.1.0")}


# What a task's failure prints: its lines come first in a failed scenario's message, since the
# tail alone is molecule's cleanup.
FAILURE = re.compile(r"fatal: \[|failed: \[|FAILED!|ERROR!")


def failure_excerpt(output: str, context: int = 12, tail: int = 3000) -> str:
    """The lines around each failed task, then the tail of the output."""
    lines = output.splitlines()
    shown: list[str] = []
    for index, line in enumerate(lines):
        if FAILURE.search(line):
            shown.extend(lines[max(0, index - 2) : index + context])
            shown.append("...")
    return "\n".join(shown)[-8000:] + "\n--- tail ---\n" + output[-tail:]


# Scenarios the stress tier runs; CI's molecule job (.github/workflows) runs every scenario on
# every change. Each scenario is one role's converge, idempotence and testinfra checks on baked
# hosts, a matrix over the roles: the default tier keeps the scenarios whose roles nothing else
# in it checks on their own (envfile: the secrets file; monitoring: its roles from bare hosts).
# The others' roles run on every provisioned lab of the default tier: test_provision.py
# provisions them from bare hosts and finds nothing to change or restart on a second (check)
# run, and the labs exercise them on every run (deploy: playbooks/deploy.yml on the deploy lab,
# each fault class once; nginx: every switch's check and reload, HTTPS through the load
# balancer; postgresql: every migration, the login rotation under load; redis: every /ready, the
# rotation refused by the lock; appunit: every color restart, the rotation's restart of every
# color; base: every lab's SSH as the deploy user; registry: the image lab's pushes, signatures
# and pulls, image_lab/).
STRESS_TIER = {"appunit", "base", "deploy", "nginx", "postgresql", "redis", "registry"}


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(name, marks=[pytest.mark.stress] if name in STRESS_TIER else [])
        for name in SCENARIOS
    ],
)
def test_scenario(scenario: str, release_bundle, tmp_path: Path) -> None:
    """`make molecule SCENARIO=NAME`, as CI's molecule jobs run it; molecule calls the venv's
    Ansible programs from PATH."""
    bin_dir = Path(sys.executable).parent
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    if scenario in BUNDLES:
        for version in BUNDLES[scenario]:
            bundle = release_bundle(version)
            for path in (bundle, bundle.with_name(bundle.name + ".sig")):
                shutil.copy(path, tmp_path)
        environment["VOICENOTE_MOLECULE_BUNDLES"] = str(tmp_path)
    result = subprocess.run(
        ["make", "--no-print-directory", "molecule", f"SCENARIO={scenario}", f"VENV={sys.prefix}"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, failure_excerpt(result.stdout + result.stderr)
