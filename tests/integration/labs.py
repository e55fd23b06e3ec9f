"""Lab fixtures' building blocks: a named lab that is torn down even after a killed run."""

import json
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import run_cli
from voicenote_ops.lab import podman


def labelled(kind: str, lab: str) -> list[str]:
    """Names of podman objects of a kind (`ps -a`, `network ls`) carrying the lab's label."""
    argv = {"container": ["podman", "ps", "-a"], "network": ["podman", "network", "ls"]}[kind]
    fmt = "{{.Names}}" if kind == "container" else "{{.Name}}"
    _, out = podman.run([*argv, "--filter", f"label={podman.LABEL_LAB}={lab}", "--format", fmt])
    return out.split()


def lab_status(lab: str) -> dict:
    result = run_cli("lab", "status", "--name", lab, "--json")
    assert result.returncode == 0, result.stderr
    (status,) = json.loads(result.stdout)["labs"]
    return status


@contextmanager
def lab_up(lab: str, *options: str) -> Iterator[dict]:
    run_cli("lab", "down", "--name", lab)  # leftovers of a killed run, found by label
    result = run_cli("lab", "up", "--name", lab, *options, "--json")
    assert result.returncode == 0, result.stderr
    try:
        yield json.loads(result.stdout)
    finally:
        run_cli("lab", "down", "--name", lab)
