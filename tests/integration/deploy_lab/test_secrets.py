"""Secrets hygiene: the lab vault's secrets (canaries: their values are known only through the
vault) appear nowhere after a deploy at the highest verbosity, and never in any process's argv
or environment on the controller or the hosts while it runs. A positive control finds them in
the host's env file, where they belong."""

import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.integration.deploy_lab.deploys import DEPLOY_LAB, deploy
from tests.integration.secret_scan import canaries, files_holding
from voicenote_ops.lab import podman

pytestmark = [pytest.mark.integration, pytest.mark.security]

HOSTS = ("lb1", "app1", "app2", "db1")
# Reads the secrets to look for on stdin, so they are in no argv of its own.
HOST_SCAN = "grep -l -F -f /dev/stdin /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null"


# Set in the deploy's environment: every process it starts inherits it, also those that leave
# its process tree (ssh's connection masters, which daemonize).
RUN_MARK = "VOICENOTE_SECRET_SCAN_RUN"


def _parent(pid: str) -> str:
    # /proc/PID/stat: "pid (name) state ppid ..."; the name may hold spaces and parentheses.
    return (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()[1]


def _descends(pid: str, ancestor: str) -> bool:
    try:
        while pid not in ("0", "1"):
            pid = _parent(pid)
            if pid == ancestor:
                return True
    except (OSError, IndexError):
        pass
    return False


def controller_scan(secrets: list[bytes], mark: bytes) -> list[str]:
    """The processes of this test's run: its children (the CLI, Ansible, ssh) and whatever
    carries the run's mark. Other test workers' processes on the machine are theirs: a test that
    hands a password to podman through its environment (test_provision.py) is not this run."""
    me = str(os.getpid())
    hits = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or proc.name == me:
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if mark not in environ.split(b"\0") and not _descends(proc.name, me):
            continue
        for part, data in (("cmdline", cmdline), ("environ", environ)):
            hits += [f"controller pid {proc.name} {part}" for s in secrets if s in data]
    return hits


def host_scan(secrets: list[bytes], host: str) -> list[str]:
    # grep takes one pattern a line: a multi-line secret is looked for by its lines.
    patterns = [secret for secret in secrets if b"\n" not in secret]
    _, out = podman.run(
        ["podman", "exec", "-i", f"vnops-{DEPLOY_LAB}-{host}", "sh", "-c", HOST_SCAN],
        stdin=b"\n".join(patterns) + b"\n",
        check=False,
    )
    return [f"{host} {line}" for line in out.split() if "/self/" not in line]


def test_no_secret_leaks_during_and_after_a_verbose_deploy(deploy_lab, tmp_path):
    secrets = canaries()
    run_tmp = tmp_path / "tmp"
    run_tmp.mkdir()
    found: list[str] = []
    done = threading.Event()
    mark = f"{RUN_MARK}={os.getpid()}-{tmp_path.name}"

    def sample() -> None:
        while not done.is_set():
            found.extend(controller_scan(secrets, mark.encode()))
            for host in HOSTS:
                found.extend(host_scan(secrets, host))
            # The runner's private data dir and every temp file, while they exist.
            found.extend(files_holding(secrets, run_tmp))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = deploy(
            deploy_lab("1.1.0"), "1.1.0", "-vvvv",
            env={"TMPDIR": str(run_tmp), RUN_MARK: mark.split("=", 1)[1]},
        )  # fmt: skip
    finally:
        done.set()
        sampler.join()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Loading collection" in result.stderr or "ESTABLISH SSH" in result.stderr, "not -vvvv"
    output = (result.stdout + result.stderr).encode()
    found += ["CLI output" for s in secrets if s in output]
    home = Path.home()
    found += files_holding(
        secrets, run_tmp, home / ".ansible", home / ".cache" / "voicenote-ops",
        Path(os.environ["VOICENOTE_OPS_STATE"]),
    )  # fmt: skip
    assert found == []


def test_positive_control_the_secrets_are_in_the_host_env_file(deploy_lab):
    secrets = canaries()
    _, env_file = podman.run(
        ["podman", "exec", f"vnops-{DEPLOY_LAB}-app1", "cat", "/opt/voicenote/shared/voicenote.env"]
    )
    assert any(secret in env_file.encode() for secret in secrets)
    _, mode = podman.run(
        ["podman", "exec", f"vnops-{DEPLOY_LAB}-app1", "stat", "-c", "%U:%G %a",
         "/opt/voicenote/shared/voicenote.env"]
    )  # fmt: skip
    assert mode.strip() == "root:voicenote 640"


def test_positive_control_the_controller_scan_finds_a_secret_in_its_runs_processes(tmp_path):
    """The scan is not blind: a child of this test, and a process outside its tree that carries
    the run's mark, each with a secret in its environment, are found; the same process without
    the mark, outside the tree, is another run's."""
    secret = canaries()[0].decode()
    mark = f"control-{tmp_path.name}"
    # A sleep no other process runs, so that it can be found and stopped by its arguments.
    seconds = f"{300 + os.getpid() % 1000}.{len(tmp_path.name)}"
    child = subprocess.Popen(["sleep", seconds], env={"X": secret})
    # setsid --fork: the process's parent exits at once, it is reparented outside this tree.
    for env in ({"X": secret, RUN_MARK: mark}, {"X": secret}):
        subprocess.run(["setsid", "--fork", "sleep", seconds], env=env, check=True)
    try:
        hits = controller_scan([secret.encode()], f"{RUN_MARK}={mark}".encode())
    finally:
        child.kill()
        subprocess.run(["pkill", "-x", "-f", f"sleep {seconds}"], check=False)
    assert f"controller pid {child.pid} environ" in hits
    assert len(hits) == 2, hits
