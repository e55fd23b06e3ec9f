"""How a failed run maps to the exit code table: refused (3), contained (4), attention (5)."""

import pytest

from voicenote_ops.errors import ExitCode
from voicenote_ops.models.results import HostOutcome, RunResult
from voicenote_ops.services.outcome import failure_of

pytestmark = pytest.mark.unit


def run(hosts: dict[str, HostOutcome], reported: dict | None = None) -> RunResult:
    return RunResult("failed", 2, 1.0, hosts, reported or {})


def failed(play: str, task: str = "a task", message: str = "it broke", **kw) -> HostOutcome:
    return HostOutcome(failed=1, failed_play=play, failed_task=task, message=message, **kw)


def test_success_is_no_error():
    assert failure_of("Deploy", RunResult("successful", 0, 1.0)) is None


def test_a_held_lock_is_refused_naming_the_holder():
    error = failure_of(
        "Deploy",
        run({"localhost": failed("Lock: take", message="x by ci:7 holds the deploy lock since t")}),
    )
    assert (
        error.code == ExitCode.REFUSED
        and "ci:7" in error.render()
        and "--lock-wait" in error.render()
    )


def test_a_lock_that_cannot_be_read_needs_attention():
    error = failure_of(
        "Deploy", run({"localhost": failed("Lock: take", message="db1 unreachable")})
    )
    assert error.code == ExitCode.ATTENTION


def test_the_schema_guard_refuses_with_its_reason():
    reported = {
        "voicenote_outcome": "contained",
        "voicenote_failure": {"phase": "guard", "host": "app1", "task": "t", "message": "0003"},
    }
    error = failure_of("Rollback", run({"localhost": failed("Report: x")}, reported))
    assert error.code == ExitCode.REFUSED and "0003" in error.render()


def test_a_failed_check_on_the_controller_is_invalid_input():
    error = failure_of("Deploy", run({"localhost": failed("Verify: bundle", message="cp312")}))
    assert error.code == ExitCode.INVALID and "Nothing changed on any host" in error.render()


def test_a_failure_before_the_switch_is_contained():
    error = failure_of(
        "Deploy", run({"app2": HostOutcome(unreachable=1, failed_play="Upload: x", message="gone")})
    )
    assert (
        error.code == ExitCode.CONTAINED and "app2" in error.render() and "upload" in error.render()
    )


def test_a_reported_switch_failure_is_contained_naming_phase_and_host():
    reported = {
        "voicenote_outcome": "contained",
        "voicenote_failure": {"phase": "switch", "host": "app1", "task": "Gate", "message": "503"},
    }
    error = failure_of("Deploy", run({"localhost": failed("Report: x")}, reported))
    assert (
        error.code == ExitCode.CONTAINED
        and "phase switch" in error.render()
        and "app1" in error.render()
    )


def test_a_failure_while_switching_back_needs_attention():
    error = failure_of("Deploy", run({"app1": failed("Revert: x", message="nginx -t failed")}))
    assert error.code == ExitCode.ATTENTION and "voicenote-ops status" in error.render()


def test_a_run_stopped_as_asked_is_contained_and_says_the_lock_is_released():
    reported = {
        "voicenote_outcome": "interrupted",
        "voicenote_failure": {"phase": "switch", "host": "app2", "task": "interrupted"},
    }
    result = run({"localhost": failed("Report: x")}, reported)
    result.interrupts = 1
    error = failure_of("The deploy of 1.1.0", result)
    assert error.code == ExitCode.CONTAINED
    assert "stopped as asked, before phase switch" in error.render()
    assert "lock is released" in error.render()


def test_a_run_stopped_at_once_needs_attention_and_says_what_to_run():
    result = run({"app1": failed("Switch: x", message="killed")})
    result.interrupts = 2
    error = failure_of("The rollback", result)
    assert error.code == ExitCode.ATTENTION
    assert "still held by this run" in error.render()
    assert "--take-over" in error.render() and "voicenote-ops status ENV" in error.render()


def test_a_dependency_that_did_not_answer_needs_attention_naming_it():
    reported = {
        "voicenote_outcome": "refused",
        "voicenote_failure": {
            "phase": "guard", "host": "app1", "task": "Stop when the database cannot be read",
            "message": "PostgreSQL on db1 did not answer (psql: connection refused).",
            "outage": True,
        },
    }  # fmt: skip
    error = failure_of("The deploy of 1.1.0", run({"localhost": failed("Report: x")}, reported))
    assert error.code == ExitCode.ATTENTION
    assert "could not start: PostgreSQL on db1 did not answer" in error.render()
    assert "Nothing changed." in error.render()
