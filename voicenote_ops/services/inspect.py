"""Read-only views of an environment: what each host serves (status.yml), how healthy it is
(health.yml) and which alerts fire (alerts.yml). They change nothing and are safe at any time."""

from collections.abc import Callable
from dataclasses import dataclass, field

from voicenote_ops.environments import Environment
from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.models.results import Progress, RunResult
from voicenote_ops.runner import run_playbook


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
class Alert:
    """One alert that fires (docs/monitoring.md): its name, severity, host (empty for an
    environment's), summary and when it started (ISO 8601)."""

    name: str
    severity: str
    host: str
    summary: str
    since: str


@dataclass
class Status:
    hosts: list[HostState]
    schema_head: list[str]
    # None: the environment has no monitoring host, or its Alertmanager did not answer.
    alerts: list[Alert] | None = None

    def to_json(self) -> dict:
        return {
            "hosts": [vars(host) for host in self.hosts],
            "schema_head": self.schema_head,
            "alerts": None if self.alerts is None else [vars(alert) for alert in self.alerts],
        }


def _alerts(reported: dict) -> list[Alert] | None:
    found = reported.get("voicenote_alerts")
    return None if found is None else [Alert(**alert) for alert in found]


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
    return status_from(result)


def status_from(result: RunResult) -> Status:
    """The status a run of status.yml reported. The app hosts and the database are read at the
    same time: a database that could not be read is said, never shown as a schema of none."""
    _unreachable("status", result)
    if "voicenote_schema" not in result.reported:
        why = next(
            (o.message for o in result.hosts.values() if (o.failed or o.unreachable) and o.message),
            "no host answered",
        )
        raise NeedsAttention(
            f"status could not read the schema head: {why}",
            "Check the database host with voicenote-ops ping ENV.",
        )
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
    schema = list(result.reported.get("voicenote_schema") or [])
    return Status(hosts, schema, _alerts(result.reported))


def alerts(environment: Environment, on_progress: Callable[[Progress], None]) -> list[Alert]:
    """The alerts that fire now in the environment, oldest first."""
    if not environment.monitored:
        raise InvalidInput(
            f"{environment.name} has no monitoring host, so nothing watches it for alerts.",
            "Add a host to the inventory's monitoring group and provision "
            "(lab up --monitoring for a lab; docs/monitoring.md).",
        )
    result = run_playbook(environment.playbook_run("alerts.yml"), on_progress=on_progress)
    if not result.succeeded:
        why = next((o.message for o in result.hosts.values() if o.message), "no host answered")
        raise NeedsAttention(
            f"The alerts of {environment.name} could not be read: {why}",
            "Check the monitoring host with voicenote-ops ping ENV.",
        )
    return _alerts(result.reported) or []


def health(
    environment: Environment, on_progress: Callable[[Progress], None], smoke: bool = False
) -> tuple[dict[str, list[dict]], RunResult]:
    result = run_playbook(
        environment.playbook_run("health.yml", extravars={"voicenote_smoke": smoke}),
        on_progress=on_progress,
    )
    _unreachable("health", result)
    return result.reported.get("voicenote_health") or {}, result
