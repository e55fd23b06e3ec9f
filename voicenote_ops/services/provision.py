"""`provision`: users, packages, PostgreSQL, Redis, nginx, env files and the app's unit on every
host of an environment, with playbooks/provision.yml, under the environment's deploy lock and
recorded in its audit trail. Runs again without changing anything."""

from collections.abc import Callable
from dataclasses import dataclass

from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import ContainedFailure, InvalidInput, NeedsAttention, OpsError
from voicenote_ops.models import playbook_vars, record
from voicenote_ops.models.requests import ProvisionRequest
from voicenote_ops.models.results import Progress, RunResult
from voicenote_ops.runner import PlaybookRun, run_playbook
from voicenote_ops.services import requests
from voicenote_ops.services.outcome import CHECKS, GUARDS, failure_of, where

PLAYBOOK = "provision.yml"


@dataclass(frozen=True)
class HostSummary:
    host: str
    ok: int
    changed: int
    failed: int
    unreachable: int
    failed_task: str | None
    message: str | None

    @property
    def succeeded(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


def prepare(
    environment: Environment,
    check: bool,
    lock_wait: int = 0,
    take_over: bool = False,
    allow_server_restart: bool = False,
) -> ProvisionRequest:
    """Every check that needs no host: the lock wait, and the environment's secrets there and
    opening with its vault password."""
    requests.check_lock_wait(lock_wait)
    requests.vault_password(environment)
    vault = environment.vault_file
    if environment.kind is Kind.INVENTORY and not vault.is_file():
        raise InvalidInput(
            f"{environment.name} has no secrets file ({vault}).",
            "Copy vault.yml.example next to it, fill it in and encrypt it (docs/secrets.md).",
        )
    return ProvisionRequest(environment, check, lock_wait, take_over, allow_server_restart)


def provision_run(request: ProvisionRequest) -> PlaybookRun:
    """The documented variables of provision.yml: what CI would pass with -e. Ctrl-C stops it at
    its next step; --check changes nothing to stop."""
    return request.environment.playbook_run(
        PLAYBOOK,
        extravars=playbook_vars.extravars(
            lock_wait=request.lock_wait,
            take_over=request.take_over,
            env_name=request.environment.name,
            allow_server_restart=request.allow_server_restart,
        ),
        check=request.check,
        interruptible=not request.check,
    )


def provision(request: ProvisionRequest, on_progress: Callable[[Progress], None]) -> RunResult:
    """Run a request of prepare (made first, so the CLI can confirm in between)."""
    return run_playbook(provision_run(request), on_progress=on_progress)


def summaries(result: RunResult) -> list[HostSummary]:
    return [
        HostSummary(
            host=name,
            ok=outcome.ok,
            changed=outcome.changed,
            failed=outcome.failed,
            unreachable=outcome.unreachable,
            failed_task=outcome.failed_task,
            message=outcome.message,
        )
        for name, outcome in sorted(result.hosts.items())
    ]


def restart_lines(result: RunResult, check: bool) -> list[str]:
    """Per app host, the colors the restart phase restarted (or, under --check, would restart)
    and the files that made it; per db host, the servers restarted: from the run's record
    (voicenote_restarts, voicenote_server_restarts)."""
    verb = "would restart" if check else "restarted"
    try:
        run = record.read(result.reported)
    except record.UnreadableRecord as error:
        return [f"The run's record of what {verb} could not be read ({error})."]
    lines = []
    for host, colors in sorted(run.voicenote_restarts.items()):
        if colors:
            said = "; ".join(
                f"voicenote@{color} ({', '.join(files)})" for color, files in sorted(colors.items())
            )
            lines.append(f"{host} {verb}, one color at a time: {said}")
    for host, servers in sorted(run.voicenote_server_restarts.items()):
        if servers:
            lines.append(f"{host} {verb} {' and '.join(servers)} (its connections dropped)")
    return lines


def failure_of_run(result: RunResult) -> OpsError | None:
    """None when the run succeeded; a refusal by the lock as a deploy's (exit 3, naming the
    holder); a color that failed on its new configuration and got the previous files back
    (exit 4); any other failure, with the host, phase and task it failed at (exit 5)."""
    if result.succeeded:
        return None
    try:
        run = record.read(result.reported)
    except record.UnreadableRecord:
        return failure_of("Provisioning", result)
    failure = run.voicenote_failure
    # The request refused, the lock held or not taken, a dependency down, an interrupt: as a
    # deploy's.
    if (failure and (failure.phase in GUARDS | {CHECKS} or failure.outage)) or result.interrupts:
        return failure_of("Provisioning", result)
    if failure:
        said = f"Provisioning failed on {where(failure)}"
        if run.voicenote_outcome == "contained":
            return ContainedFailure(said, "Every app host serves as it did before the run.")
    else:
        said = failure_report(result) or "Provisioning failed."
    return NeedsAttention(
        said,
        "Fix what the failed task's message says and run provision again: "
        "it changes only what differs.",
    )


def failure_report(result: RunResult) -> str | None:
    """One sentence naming each failed host and its task, or None when the run succeeded."""
    failing = [summary for summary in summaries(result) if not summary.succeeded]
    if result.succeeded and not failing:
        return None
    if not failing:
        return f"Provisioning stopped ({result.status}, exit code {result.rc}) with no failed host."
    named = ", ".join(
        f"{s.host} (unreachable)" if s.unreachable else f"{s.host} (task {s.failed_task!r})"
        for s in failing
    )
    return f"Provisioning failed on {len(failing)} host(s): {named}."
