"""`ping`: every host reachable over a fresh SSH connection, its Python, and become."""

from collections.abc import Callable
from dataclasses import dataclass

from voicenote_ops.environments import Environment
from voicenote_ops.models.results import Progress, RunResult
from voicenote_ops.runner import run_playbook

# A reachability check must open new connections: a persisted ControlMaster socket would keep
# answering for a host whose sshd is already gone.
FRESH_CONNECTIONS = "-o ControlMaster=no -o ControlPath=none"
PYTHON_TASK = "Read the Python version as the connecting user"
BECOME_TASK = "Check that become works"


@dataclass
class HostPing:
    host: str
    reachable: bool
    python: str | None
    become: bool
    message: str | None

    @property
    def ok(self) -> bool:
        return self.reachable and self.become and self.python is not None


def ping(
    environment: Environment, on_progress: Callable[[Progress], None]
) -> tuple[list[HostPing], RunResult]:
    result = run_playbook(
        environment.playbook_run("ping.yml", ssh_args=FRESH_CONNECTIONS),
        on_progress=on_progress,
    )
    return [_host_ping(name, result) for name in sorted(result.hosts)], result


def _host_ping(name: str, result: RunResult) -> HostPing:
    outcome = result.hosts[name]
    facts = (outcome.results.get(PYTHON_TASK) or {}).get("ansible_facts") or {}
    version = (facts.get("ansible_python") or {}).get("version") or {}
    return HostPing(
        host=name,
        reachable=outcome.unreachable == 0,
        python="{major}.{minor}.{micro}".format(**version) if version else None,
        become=BECOME_TASK in outcome.results,
        message=outcome.message,
    )
