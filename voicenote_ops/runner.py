"""The one module that talks to ansible-runner.

Each run gets a fresh private data dir (0700) that is removed afterwards: the extra vars go
there as runner's `env/extravars`, every value `!unsafe` (extravars.py), so no text an operator
typed is ever templated; runner writes the process environment and every event beside them.
Progress comes from runner's event_handler as small `Progress` records; the outcome is a typed
`RunResult`. No secret is ever passed as extravars or envvars: secrets come from vault files,
decrypted on the hosts' side of Ansible.

A run that changes hosts (`interruptible`) takes Ctrl-C and SIGTERM as a request: ansible-playbook
runs in a session of its own (ansible-runner's pty), so the signal reaches only this process. The
first one creates the run's stop file, which the playbooks check each time they enter a phase
(playbooks/tasks/enter-phase.yml): the run stops there as failed, switches hosts back, records
and releases the lock. The second one stops ansible-playbook at once.
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from voicenote_ops.errors import InvalidInput
from voicenote_ops.extravars import write_vars_file
from voicenote_ops.models.results import HostOutcome, Progress, RunResult
from voicenote_ops.paths import project_dir

# Another ansible.cfg for every run of this process (the benchmark's stock-settings baseline).
ANSIBLE_CONFIG_ENV = "VOICENOTE_OPS_ANSIBLE_CONFIG"
# The extra var naming the file whose existence asks an interruptible run to stop.
STOP_FILE_VAR = "voicenote_stop_file"
STOPPING = (
    "Stopping at the next step: hosts go back to what they served, the run is recorded and the "
    "lock released (Ctrl-C again stops at once, leaving the lock held)."
)

_HOST_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


@dataclass(frozen=True)
class PlaybookRun:
    """What to run: a playbook of the project against inventories, with variables that are
    data (strings arrive as given, never templated)."""

    playbook: str
    inventories: tuple[Path, ...]
    extravars: Mapping[str, Any] = field(default_factory=dict)
    limit: str | None = None
    check: bool = False
    diff: bool = False
    vault_password_file: Path | None = None
    # Replaces ansible.cfg's ssh_args, e.g. to force fresh connections for a reachability check.
    ssh_args: str | None = None
    verbosity: int = 0
    # Ctrl-C and SIGTERM ask the playbook to stop at its next phase (it changes hosts).
    interruptible: bool = False

    def cmdline(self) -> str:
        words = []
        if self.check:
            words.append("--check")
        if self.diff:
            words.append("--diff")
        if self.vault_password_file:
            words += ["--vault-password-file", str(self.vault_password_file)]
        return " ".join(words)

    def envvars(self, project: Path) -> dict[str, str]:
        env = {
            # The project's tuned settings; `voicenote-ops bench` points this elsewhere to
            # measure the same playbooks with stock settings.
            "ANSIBLE_CONFIG": os.environ.get(ANSIBLE_CONFIG_ENV) or str(project / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            # This interpreter's ansible-playbook first, even when its venv is not activated.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
        if self.ssh_args is not None:
            env["ANSIBLE_SSH_ARGS"] = self.ssh_args
        return env


def _message(result: dict) -> str:
    # A failed command's own last words say more than Ansible's "non-zero return code".
    keys = ("stderr", "msg") if result.get("msg") == "non-zero return code" else ("msg", "stderr")
    for key in (*keys, "reason"):
        value = str(result.get(key) or "").strip()
        if value:
            return value.splitlines()[-1][:500]
    return "no message"


class _EventCollector:
    def __init__(
        self,
        on_progress: Callable[[Progress], None],
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.on_progress = on_progress
        self.on_output = on_output
        self.hosts: dict[str, HostOutcome] = {}
        self.reported: dict[str, Any] = {}
        self.play = ""
        # ansible-playbook's last words, for a run that dies before reaching any host.
        self.last_lines: deque[str] = deque(maxlen=3)

    def __call__(self, event: dict) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if self.on_output is not None and event.get("stdout"):
            self.on_output(event["stdout"])
        if kind in ("verbose", "error") and event.get("stdout", "").strip():
            self.last_lines.append(event["stdout"].strip())
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
        elif kind == "playbook_on_task_start":
            self.on_progress(Progress(self.play, data.get("task", "")))
        elif kind in _HOST_EVENTS:
            self._host_event(_HOST_EVENTS[kind], data)
        elif kind == "playbook_on_stats":
            self._stats(data)
        # Keep nothing on disk: events may carry task results.
        return False

    def _host_event(self, status: str, data: dict) -> None:
        host, task = data.get("host", ""), data.get("task", "")
        result = data.get("res") or {}
        outcome = self.hosts.setdefault(host, HostOutcome())
        if status == "ok" and result.get("changed"):
            status = "changed"
        if status in ("failed", "unreachable") and not data.get("ignore_errors"):
            outcome.failed_task = task
            outcome.message = _message(result)
        elif status == "ok" or status == "changed":
            outcome.results[task] = result
        self.on_progress(Progress(self.play, task, host, status))

    def _stats(self, data: dict) -> None:
        self.reported = data.get("artifact_data") or {}
        for field_name, key in (
            ("ok", "ok"),
            ("changed", "changed"),
            ("failed", "failures"),
            ("unreachable", "dark"),
            ("skipped", "skipped"),
        ):
            for host, count in (data.get(key) or {}).items():
                setattr(self.hosts.setdefault(host, HostOutcome()), field_name, count)


class _Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM during an interruptible run: the first creates the stop file,
    the second makes cancel() true, on which ansible-runner kills ansible-playbook."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, stop_file: Path, on_progress: Callable[[Progress], None]) -> None:
        self.stop_file = stop_file
        self.on_progress = on_progress
        self.count = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_Interrupts":
        # Signal handlers belong to the main thread; elsewhere signals keep their handlers.
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, _signum: int, _frame: object) -> None:
        self.count += 1
        if self.count == 1:
            self.stop_file.touch(mode=0o600)
            self.on_progress(Progress("", STOPPING, status="notice"))
        elif self.count == 2:
            self.on_progress(Progress("", "Stopping at once.", status="notice"))

    def cancel(self) -> bool:
        return self.count >= 2


def run_playbook(
    request: PlaybookRun,
    on_progress: Callable[[Progress], None] = lambda _: None,
    on_output: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the playbook; ansible's own output goes to on_output (e.g. with --verbose), if given."""
    project = project_dir()
    collector = _EventCollector(on_progress, on_output)
    private_dir = tempfile.mkdtemp(prefix="voicenote-ops-run-")
    os.chmod(private_dir, 0o700)
    started = time.monotonic()
    try:
        stop_file = Path(private_dir) / "stop"
        extravars = dict(request.extravars)
        if request.interruptible:
            extravars[STOP_FILE_VAR] = str(stop_file)
        # Runner hands its own env/extravars to ansible-playbook as `-e @FILE` (a dict given as
        # `extravars=` it would write as JSON, whose strings Ansible templates).
        write_vars_file(Path(private_dir) / "env" / "extravars", extravars)
        interrupts = _Interrupts(stop_file, on_progress)
        with interrupts if request.interruptible else nullcontext():
            runner = ansible_runner.run(
                private_data_dir=private_dir,
                project_dir=str(project),
                playbook=str(project / "playbooks" / request.playbook),
                inventory=[str(path) for path in request.inventories],
                limit=request.limit,
                cmdline=request.cmdline() or None,
                envvars=request.envvars(project),
                verbosity=request.verbosity or None,
                event_handler=collector,
                cancel_callback=interrupts.cancel,
                quiet=True,
            )
        if not collector.hosts and runner.rc != 0 and not interrupts.count:
            said = " ".join(collector.last_lines) or f"exit code {runner.rc}"
            raise InvalidInput(
                f"ansible-playbook stopped before reaching any host: {said}",
                "Fix the inventory, vault or playbook it names; no host was touched.",
            )
        return RunResult(
            status=runner.status,
            rc=runner.rc,
            duration=time.monotonic() - started,
            hosts=collector.hosts,
            reported=collector.reported,
            interrupts=interrupts.count,
        )
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)
