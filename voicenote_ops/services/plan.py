"""`deploy --plan`: what a deploy would change, read from the hosts by playbooks/plan.yml and the
bundle's manifest, touching nothing."""

from collections.abc import Callable
from dataclasses import dataclass, field

from voicenote_ops.bundle.manifest import Manifest
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.models.requests import DeployRequest
from voicenote_ops.models.results import Progress
from voicenote_ops.runner import run_playbook
from voicenote_ops.services.deploy import deploy_run


@dataclass
class HostPlan:
    host: str
    serves: str | None
    to: str
    action: str  # none, switch (the idle color runs it already) or start
    env_added: list[str] = field(default_factory=list)
    env_changed: list[str] = field(default_factory=list)
    env_removed: list[str] = field(default_factory=list)


@dataclass
class Plan:
    environment: str
    version: str
    hosts: list[HostPlan]
    schema_current: list[str]
    schema_decision: str
    schema_message: str
    # The migrations the deploy would run, oldest first, with their compatibility.
    pending: list[dict]

    def to_json(self) -> dict:
        return {**vars(self), "hosts": [vars(host) for host in self.hosts]}


def pending_migrations(manifest: Manifest, current: list[str]) -> list[dict]:
    """Migrations of the release between the database's revisions and the release's heads."""
    by_revision = {m.revision: m for m in manifest.migrations}
    pending, stack = [], list(manifest.alembic_heads)
    while stack:
        revision = stack.pop()
        if revision in current or revision not in by_revision or revision in pending:
            continue
        pending.append(revision)
        stack.extend(by_revision[revision].down_revisions)
    return [
        {"revision": r, "backward_compatible": by_revision[r].backward_compatible}
        for r in reversed(pending)
    ]


def _host_plan(host: str, state: dict, version: str) -> HostPlan:
    """A host as plan.yml reported it: what it serves and what the deploy will do there (the
    bluegreen role's own decision, reported by the playbook: none, switch or start)."""
    env = state.get("env") or {}
    return HostPlan(host, state.get("serves"), version, state["action"], env.get("added", []),
                    env.get("changed", []), env.get("removed", []))  # fmt: skip


def plan(request: DeployRequest, on_progress: Callable[[Progress], None]) -> Plan:
    result = run_playbook(deploy_run(request, "plan.yml"), on_progress=on_progress)
    hosts = result.reported.get("voicenote_plan_hosts") or {}
    schema = result.reported.get("voicenote_plan_schema") or {}
    if not result.succeeded or not hosts:
        lost = sorted(h for h, o in result.hosts.items() if o.failed or o.unreachable)
        raise NeedsAttention(
            f"The plan could not read {', '.join(lost) or 'the hosts'}.",
            "Check them with voicenote-ops ping ENV.",
        )
    current = list(schema.get("current") or [])
    decision = schema.get("decision", "unknown")
    return Plan(
        environment=request.environment.name,
        version=request.version,
        hosts=[_host_plan(host, state, request.version) for host, state in sorted(hosts.items())],
        schema_current=current,
        schema_decision=decision,
        schema_message=schema.get("message", ""),
        pending=pending_migrations(request.manifest, current) if decision == "upgrade" else [],
    )
