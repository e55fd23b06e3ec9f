"""requirements.txt and requirements-dev.txt never drift from pyproject.toml."""

import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from tests.conftest import PROJECT

pytestmark = pytest.mark.unit


def pins(name: str) -> dict[str, Requirement]:
    lines = (PROJECT / name).read_text(encoding="utf-8").splitlines()
    requirements = [Requirement(line) for line in lines if line and not line.startswith(("#", "-"))]
    return {requirement.name.lower(): requirement for requirement in requirements}


def test_the_files_are_what_the_generator_writes():
    done = subprocess.run(
        [sys.executable, "scripts/gen_requirements.py", "--check"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def declared(file: str) -> list[str]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if file == "requirements.txt":
        return project["dependencies"]
    return project["optional-dependencies"]["dev"]


@pytest.mark.parametrize("file", ["requirements.txt", "requirements-dev.txt"])
def test_every_dependency_is_pinned_within_its_range(file):
    pinned = pins(file)
    for spec in map(Requirement, declared(file)):
        pin = pinned.pop(spec.name.lower())
        (version,) = [s.version for s in pin.specifier if s.operator == "=="]
        assert spec.specifier.contains(version, prereleases=True), (spec, pin)
        assert pin.extras == spec.extras
    assert not pinned, f"{file} pins what pyproject.toml does not declare: {sorted(pinned)}"
