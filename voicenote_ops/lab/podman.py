"""Talking to podman: pure argv builders plus one function that runs them.

Every podman call goes through `run` so each one gets the lab's containers.conf (runc,
cgroupfs, ulimits this machine allows) without touching the machine's own configuration.
"""

import os
import resource
import subprocess
from pathlib import Path

from voicenote_ops.errors import NeedsAttention
from voicenote_ops.paths import state_dir

LABEL_LAB = "io.voicenote-ops.lab"
LABEL_HOST = "io.voicenote-ops.host"
LABEL_GROUPS = "io.voicenote-ops.groups"
LABEL_IMAGE = "io.voicenote-ops.image-recipe"

# podman's default nofile limit (1048576) fails here without CAP_SYS_RESOURCE; use the
# inherited hard limits, capped at what a lab host needs.
_WANTED_LIMIT = 16384


def _limit(kind: int) -> int:
    hard = resource.getrlimit(kind)[1]
    return _WANTED_LIMIT if hard == resource.RLIM_INFINITY else min(_WANTED_LIMIT, hard)


def containers_conf_text() -> str:
    nofile, nproc = _limit(resource.RLIMIT_NOFILE), _limit(resource.RLIMIT_NPROC)
    return (
        "# Written by voicenote-ops for its lab; passed to podman as CONTAINERS_CONF.\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        "# crun 1.8 refuses this kernel's hybrid cgroup layout; runc does not.\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
    )


def containers_conf() -> Path:
    """The file under the current state folder, written when missing or stale (checked on every
    call: the state folder can change or be removed within one process)."""
    path = state_dir() / "containers.conf"
    text = containers_conf_text()
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def podman_env() -> dict[str, str]:
    """The environment every podman (and molecule) call gets."""
    return {**os.environ, "CONTAINERS_CONF": str(containers_conf())}


def run(argv: list[str], *, stdin: bytes | None = None, check: bool = True) -> tuple[int, str]:
    """Run one podman argv; return (exit code, stdout). On failure raise podman's own message."""
    result = subprocess.run(argv, input=stdin, capture_output=True, env=podman_env(), check=False)
    stdout = result.stdout.decode(errors="replace")
    if check and result.returncode != 0:
        detail = (result.stderr.decode(errors="replace") or stdout).strip().splitlines()
        raise NeedsAttention(
            f"podman failed ({' '.join(argv[:3])}): {detail[-1] if detail else 'no output'}.",
            "Check `podman ps -a --filter label=" + LABEL_LAB + "` and `voicenote-ops lab status`.",
        )
    return result.returncode, stdout
