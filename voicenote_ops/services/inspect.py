"""Read-only views of an environment: what each host serves (status.yml) and how healthy it is
(health.yml). Both change nothing and are safe at any time."""

from collections.abc import Callable
from dataclasses import dataclass, field

from voicenote_ops.environments import Environment
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.runner import Progress, RunResult, run_playbook


@dataclass
class HostState:
    host: str
    live_color: str
    live_version: str | None
    idle_color: str
    idle_version: str | None
    idle_running: bool
    releases: list[str] = field(default_factory=list)


@dataclass
class Status:
    hosts: list[HostState]
    schema_head: list[str]

    def to_json(self) -> dict:
        return {"hosts": [vars(host) for host in self.hosts], "schema_head": self.schema_head}


def _unreachable(action: str, result: RunResult) -> None:
    lost = sorted(
        host for host, outcome in result.hosts.items() if outcome.unreachable or outcome.failed
    )
    if lost and not result.reported:
        raise NeedsAttention(
            f"{action} could not read {', '.join(lost)}.", "Check them with voicenote-ops ping ENV."
        )


def status(environment: Environment, on_progress: Callable[[Progress], None]) -> Status:
    result = run_playbook(environment.playbook_run("status.yml"), on_progress=on_progress)
    _unreachable("status", result)
    states = result.reported.get("voicenote_hosts") or {}
    hosts = []
    for host, state in sorted(states.items()):
        live, idle = state["colors"][state["live"]], state["colors"][state["idle"]]
        hosts.append(
            HostState(
                host=host,
                live_color=state["live"],
                live_version=live["version"] if live["active"] else None,
                idle_color=state["idle"],
                idle_version=idle["version"],
                idle_running=idle["active"],
                releases=list(state["releases"]),
            )
        )
    return Status(hosts, list(result.reported.get("voicenote_schema") or []))


def health(
    environment: Environment, on_progress: Callable[[Progress], None], smoke: bool = False
) -> tuple[dict[str, list[dict]], RunResult]:
    result = run_playbook(
        environment.playbook_run("health.yml", extravars={"voicenote_smoke": smoke}),
        on_progress=on_progress,
    )
    _unreachable("health", result)
    return result.reported.get("voicenote_health") or {}, result
