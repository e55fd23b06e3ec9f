"""What a failed run of a changing playbook means for the fleet, as an exit code and a message.

Read from the run's record only (declared in playbooks/vars/record.yml, read by the one model of
models/record.py), never from the wording of a task, play or message: the playbooks give the
run's first failure (set_stats `voicenote_failure`: host, phase, task, message, outage, held) as
it happens (tasks/record-failure.yml, tasks/refuse.yml for the verify phase) and the outcome at
the end (`voicenote_outcome`, playbooks/report.yml). A failure in a phase before any host
switched is contained by construction; a failed run with no record, or one past the switch, or
a record in another shape, needs attention.
"""

from pydantic import BaseModel

from voicenote_ops import rules
from voicenote_ops.errors import (
    ContainedFailure,
    GuardRefused,
    InvalidInput,
    NeedsAttention,
    OpsError,
)
from voicenote_ops.models import record
from voicenote_ops.models.results import RunResult

# Phases (declared in playbooks/vars/phases.yml) in which no host has switched yet; whose refusal
# is a guard's (nothing was changed, on purpose); that checks the request on the controller,
# before any host is contacted; that takes the deploy lock.
BEFORE_SWITCH = rules.before_switch_phases()
GUARDS = rules.guard_phases()
CHECKS = rules.check_phase()
LOCK = rules.lock_phase()
SEE_WHAT_SERVES = (
    "Run `voicenote-ops status ENV` to see what each host serves, then deploy or roll back."
)


def interrupted(action: str, result: RunResult) -> OpsError | None:
    """The error of a run the operator interrupted (Ctrl-C, SIGTERM), or None."""
    if result.interrupts >= 2:
        return NeedsAttention(
            f"{action} was stopped at once (a second Ctrl-C or SIGTERM): a host may be part way "
            "through a step, and the deploy lock is still held by this run.",
            "See what each host serves above or with `voicenote-ops status ENV`, then run it "
            "again with --take-over (or break the lock: `voicenote-ops lock release ENV`).",
        )
    return None


def failure_of(action: str, result: RunResult) -> OpsError | None:
    """None when the run succeeded; else the error the CLI exits with."""
    if result.succeeded:
        return None
    stopped = interrupted(action, result)
    if stopped:
        return stopped
    try:
        run = record.read(result.reported)
    except record.UnreadableRecord as error:
        return NeedsAttention(
            f"{action} failed and its record could not be read ({error}): the fleet state is "
            "uncertain.",
            SEE_WHAT_SERVES,
        )
    failure = run.voicenote_failure
    if run.voicenote_outcome == "interrupted":
        return ContainedFailure(
            f"{action} stopped as asked, before phase {failure.phase if failure else 'unknown'}: "
            "every app host serves the release it served before and the deploy lock is released.",
            "Run it again when you are ready.",
        )
    if failure is None:
        detail = "; ".join(
            f"{host}: {o.message}"
            for host, o in sorted(result.hosts.items())
            if (o.failed or o.unreachable) and o.message
        )
        detail = detail or "no failure recorded"
        return NeedsAttention(
            f"{action} failed and the fleet state is uncertain ({detail}).", SEE_WHAT_SERVES
        )
    return _failed(action, failure, run)


def where(failure: BaseModel) -> str:
    """Where and why a run failed, from its record's failure: host, phase, task, message."""
    return f'{failure.host} in phase {failure.phase} at "{failure.task}": {failure.message}'


def _failed(action: str, failure: BaseModel, run: BaseModel) -> OpsError:
    """The error of a run whose record names its failure."""
    phase, message = failure.phase, failure.message
    if failure.outage:
        return NeedsAttention(
            f"{action} could not start: {message}",
            "Nothing changed. Bring it back (`voicenote-ops ping ENV`, `voicenote-ops health ENV`) "
            "and run it again.",
        )
    if phase == CHECKS:
        return InvalidInput(f"{action} was refused: {message}", "Nothing changed on any host.")
    if phase == LOCK and not failure.held:
        return NeedsAttention(
            f"{action} could not take the deploy lock: {message}",
            "Nothing changed. Check the db host with `voicenote-ops ping ENV`.",
        )
    if phase in GUARDS:
        hint = " Wait (--lock-wait SECONDS) or see `voicenote-ops lock status ENV`."
        return GuardRefused(
            f"{action} was refused: {message}",
            "Nothing changed." + (hint if phase == LOCK else ""),
        )
    failed_at = where(failure)
    if run.voicenote_not_switched_back:
        stuck = ", ".join(run.voicenote_not_switched_back)
        return NeedsAttention(
            f"{action} failed on {failed_at}; {stuck} could not be switched back and still serve "
            "the new release.",
            SEE_WHAT_SERVES,
        )
    if run.voicenote_outcome == "contained":
        return ContainedFailure(
            f"{action} failed on {failed_at}",
            "Every app host serves the release it served before.",
        )
    if phase in BEFORE_SWITCH:
        return ContainedFailure(
            f"{action} failed on {failed_at}",
            "No host had switched: every app host still serves its previous release.",
        )
    return NeedsAttention(
        f"{action} failed and the fleet state is uncertain ({failed_at}).", SEE_WHAT_SERVES
    )
