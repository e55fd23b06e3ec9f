"""Shared fixtures: the CLI as a user runs it, and a private state dir for the session."""

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

# How the test command's workers share the tests (hooks pytest and pytest-xdist look up here).
from tests.scheduling import (  # noqa: F401
    pytest_collection_modifyitems,
    pytest_xdist_make_scheduler,
)

PROJECT = Path(__file__).resolve().parent.parent
# The lab's committed, test-only secrets (inventories/ENV.vault.yml, beside the inventory folder).
LAB_VAULT = PROJECT / "inventories" / "lab.vault.yml"
# Test labs are named PREFIX-purpose; another prefix lets two test sessions run side by side,
# and each of a session's workers (pytest-xdist, scripts/test.sh) has labs of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
LAB_PREFIX = "-".join(filter(None, [os.environ.get("VOICENOTE_TEST_LAB_PREFIX", "it"), WORKER]))


def lab_name(purpose: str) -> str:
    return f"{LAB_PREFIX}-{purpose}"


def _import(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def role_plugin(role: str, kind: str, name: str):
    """A role's module or plugin (roles/ROLE/KIND/NAME.py) imported, to test its functions, with
    the role's module_utils where Ansible puts them (ansible.module_utils.NAME)."""
    for shared in sorted((PROJECT / "roles" / role / "module_utils").glob("*.py")):
        sys.modules[f"ansible.module_utils.{shared.stem}"] = _import(shared.stem, shared)
    return _import(name, PROJECT / "roles" / role / kind / f"{name}.py")


def shared_temp(factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder every worker of this run shares (the session's own without xdist)."""
    base = factory.getbasetemp()
    folder = (base.parent if WORKER else base) / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session", autouse=True)
def _private_state(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Labs made by tests keep their keys and inventories apart from an operator's, and Ansible's
    fact cache apart from other sessions' and workers' (every lab names its hosts lb1, app1...)."""
    os.environ["VOICENOTE_OPS_STATE"] = str(tmp_path_factory.mktemp("state"))
    os.environ["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(tmp_path_factory.mktemp("facts"))


@pytest.fixture(scope="session")
def _recording_podman(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a `podman` that only records its arguments (in the file
    $VOICENOTE_TEST_PODMAN_CALLS) and fails."""
    folder = tmp_path_factory.mktemp("recording-podman")
    podman = folder / "podman"
    podman.write_text('#!/bin/sh\necho "$*" >> "$VOICENOTE_TEST_PODMAN_CALLS"\nexit 1\n')
    podman.chmod(0o755)
    return folder


@pytest.fixture(autouse=True)
def _no_lab_in_the_unit_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The unit tier (`make test-quick`: CI's unit job, the pre-push hook) needs no lab: in every
    run, each unit test finds first on PATH a podman that only records being called, and an error
    is reported for the test that called it. Yields the record's path (None for other tiers)."""
    if request.node.get_closest_marker("unit") is None:
        yield None
        return
    # One record per worker: its tests run one at a time.
    folder = request.getfixturevalue("_recording_podman")
    calls = folder / "calls"
    calls.unlink(missing_ok=True)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("VOICENOTE_TEST_PODMAN_CALLS", str(calls))
    yield calls
    if calls.exists():
        pytest.fail(f"a unit test called podman (the unit tier has no lab): {calls.read_text()}")


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600, input: str | None = None
):
    """Run `voicenote-ops ARGS` in a subprocess, exactly as a user would (input: its stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "voicenote_ops", *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={**own_environment(), **(env or {})},
        timeout=timeout,
        check=False,
    )


# Variables a calling make hands its children (`make VENV=... test-quick` runs these tests).
MAKE_INHERITED = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VENV"}


def own_environment() -> dict[str, str]:
    """This process's environment without what a calling make passed down, so a make run here
    reads the Makefile's own defaults."""
    return {name: value for name, value in os.environ.items() if name not in MAKE_INHERITED}


def run_make(*args: str, env: dict[str, str] | None = None, timeout: float = 1800):
    """`make ARGS` in the project, as CI's workflows run it, with this interpreter's venv
    (unless ARGS name another VENV=)."""
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={sys.prefix}", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={**own_environment(), **(env or {})},
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli():
    return run_cli


BUILD_RELEASE = PROJECT / "examples" / "voicenote-api" / "releases" / "build_release.py"


@pytest.fixture(scope="session")
def release_bundle(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build a release of the example app once per run (whichever worker asks first): 1.0.0,
    1.1.0, broken-start, ..., signed (BUNDLE.tar.gz.sig beside it) with the lab's test-only key,
    the one labs trust."""
    root = shared_temp(tmp_path_factory, "bundles")
    # One download cache for the run's builds; the reproducibility test builds without one.
    environment = {**os.environ, "PIP_CACHE_DIR": str(root / "pip-cache")}

    def bundle(name: str) -> Path:
        record = root / f"{name}.built"
        with (root / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not record.is_file():
                done = subprocess.run(
                    [sys.executable, str(BUILD_RELEASE), name, "--out", str(root / name)],
                    capture_output=True,
                    text=True,
                    env=environment,
                    check=True,
                )
                record.write_text(done.stdout.strip())
            return Path(record.read_text())

    return bundle


@pytest.fixture(scope="session")
def image_archive(
    tmp_path_factory: pytest.TempPathFactory, release_bundle
) -> Callable[[str], Path]:
    """The OCI image archive of a release (voicenote-ops build --image), built once per run from
    its bundle (whichever worker asks first)."""
    from voicenote_ops.image.build import build_image

    root = shared_temp(tmp_path_factory, "images")

    def archive(name: str) -> Path:
        record = root / f"{name}.built"
        with (root / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not record.is_file():
                built = build_image(release_bundle(name), root / name)
                record.write_text(str(built.archive.path))
            return Path(record.read_text())

    return archive


def scratch_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbooks: dict[str, str],
                    inventory: str) -> Path:  # fmt: skip
    """A project of its own (the real ansible.cfg and plugins, these playbooks and hosts.yml)
    that the CLI's runner finds, with the runner's private folders under tmp_path."""
    root = tmp_path / "project"
    (root / "playbooks").mkdir(parents=True)
    shutil.copy(PROJECT / "ansible.cfg", root / "ansible.cfg")
    shutil.copytree(PROJECT / "plugins", root / "plugins")
    for name, text in playbooks.items():
        (root / "playbooks" / name).write_text(text)
    (root / "hosts.yml").write_text(inventory)
    monkeypatch.setenv("VOICENOTE_OPS_PROJECT", str(root))
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))
    return root
