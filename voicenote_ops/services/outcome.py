"""What a failed run of a changing playbook means for the fleet, as an exit code and a message.

The playbooks report their outcome (set_stats `voicenote_outcome`); a run that failed before any
host switched is contained by construction. Anything else is uncertain and needs attention.
"""

from voicenote_ops import rules
from voicenote_ops.errors import (
    ContainedFailure,
    GuardRefused,
    InvalidInput,
    NeedsAttention,
    OpsError,
)
from voicenote_ops.models.results import RunResult

# Phases (first word of a play's name, declared in playbooks/vars/phases.yml) in which no host
# has switched yet; whose refusal is a guard's (nothing was changed, on purpose); that checks the
# request on the controller, before any host is contacted.
BEFORE_SWITCH = rules.before_switch_phases()
GUARDS = rules.guard_phases()
CHECKS = rules.check_phase()
# How the lock module says that someone else holds the lease.
LOCK_HELD = "holds the deploy lock"
CONTROLLER = "localhost"


def phase(play: str | None) -> str:
    return (play or "").split(":", 1)[0].strip().lower() or "unknown"


def interrupted(action: str, result: RunResult) -> OpsError | None:
    """The error of a run the operator interrupted (Ctrl-C, SIGTERM), or None."""
    if result.interrupts >= 2:
        return NeedsAttention(
            f"{action} was stopped at once (a second Ctrl-C or SIGTERM): a host may be part way "
            "through a step, and the deploy lock is still held by this run.",
            "See what each host serves above or with `voicenote-ops status ENV`, then run it "
            "again with --take-over (or break the lock: `voicenote-ops lock release ENV`).",
        )
    if result.reported.get("voicenote_outcome") == "interrupted":
        where = (result.reported.get("voicenote_failure") or {}).get("phase", "unknown")
        return ContainedFailure(
            f"{action} stopped as asked, before phase {where}: every app host serves the "
            "release it served before and the deploy lock is released.",
            "Run it again when you are ready.",
        )
    return None


def failure_of(action: str, result: RunResult) -> OpsError | None:
    """None when the run succeeded; else the error the CLI exits with."""
    if result.succeeded:
        return None
    stopped = interrupted(action, result)
    if stopped:
        return stopped
    reported = result.reported.get("voicenote_failure") or {}
    if reported.get("outage"):
        return NeedsAttention(
            f"{action} could not start: {reported.get('message')}",
            "Nothing changed. Bring it back (`voicenote-ops ping ENV`, `voicenote-ops health ENV`) "
            "and run it again.",
        )
    failed = {
        host: outcome
        for host, outcome in result.hosts.items()
        if (outcome.failed_task or outcome.unreachable) and phase(outcome.failed_play) != "report"
    }
    invalid = [o.message for o in failed.values() if phase(o.failed_play) == CHECKS]
    if invalid:
        return InvalidInput(f"{action} was refused: {invalid[0]}", "Nothing changed on any host.")
    refused = [
        (phase(o.failed_play), o.message) for o in failed.values() if phase(o.failed_play) in GUARDS
    ]
    if reported.get("phase") in GUARDS:
        refused.insert(0, (reported["phase"], reported.get("message")))
    if refused:
        guard, message = refused[0]
        if guard == "lock" and LOCK_HELD not in (message or ""):
            return NeedsAttention(
                f"{action} could not take the deploy lock: {message}",
                "Nothing changed. Check the db host with `voicenote-ops ping ENV`.",
            )
        hint = " Wait (--lock-wait SECONDS) or see `voicenote-ops lock status ENV`."
        return GuardRefused(
            f"{action} was refused: {message}",
            "Nothing changed." + (hint if guard == "lock" else ""),
        )
    if reported and result.reported.get("voicenote_outcome") == "contained":
        return ContainedFailure(
            f"{action} failed on {reported.get('host')} in phase {reported.get('phase')} at "
            f'"{reported.get("task")}": {reported.get("message")}',
            "Every app host serves the release it served before.",
        )
    if failed and all(phase(o.failed_play) in BEFORE_SWITCH for o in failed.values()):
        host, outcome = next(iter(sorted(failed.items())))
        where = "unreachable" if outcome.unreachable else f'at "{outcome.failed_task}"'
        return ContainedFailure(
            f"{action} failed on {host} in phase {phase(outcome.failed_play)} {where}: "
            f"{outcome.message}",
            "No host had switched: every app host still serves its previous release.",
        )
    detail = "; ".join(
        f"{host} in phase {phase(o.failed_play)}: {o.message}" for host, o in sorted(failed.items())
    )
    return NeedsAttention(
        f"{action} failed and the fleet state is uncertain ({detail or 'no host reported'}).",
        "Run `voicenote-ops status ENV` to see what each host serves, then deploy or roll back.",
    )
