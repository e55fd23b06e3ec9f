"""How a failed run maps to the exit code table: invalid (2), refused (3), contained (4),
attention (5), read from the run's record (set_stats voicenote_failure and voicenote_outcome),
never from the wording of its plays, tasks or messages."""

import pytest

from voicenote_ops.errors import ExitCode
from voicenote_ops.models.results import HostOutcome, RunResult
from voicenote_ops.services.outcome import failure_of

pytestmark = pytest.mark.unit


def run(
    failure: dict | None = None, outcome: str | None = None, hosts: dict | None = None
) -> RunResult:
    reported = {"voicenote_failure": failure} if failure else {}
    if outcome:
        reported["voicenote_outcome"] = outcome
    failed = hosts or {"localhost": HostOutcome(failed=1, failed_task="x", message="it broke")}
    return RunResult("failed", 2, 1.0, failed, reported)


def record(phase: str, message: str = "it broke", host: str = "app1", **more) -> dict:
    return {"host": host, "phase": phase, "task": "a task", "message": message, **more}


def test_success_is_no_error():
    assert failure_of("Deploy", RunResult("successful", 0, 1.0)) is None


def test_a_held_lock_is_refused_naming_the_holder():
    held = record("lock", "x by ci:7 holds the deploy lock since t", "localhost", held=True)
    error = failure_of("Deploy", run(held))
    assert (
        error.code == ExitCode.REFUSED
        and "ci:7" in error.render()
        and "--lock-wait" in error.render()
    )


def test_a_lock_that_cannot_be_read_needs_attention():
    error = failure_of("Deploy", run(record("lock", "db1 unreachable", "localhost", held=False)))
    assert error.code == ExitCode.ATTENTION and "could not take the deploy lock" in error.render()


def test_the_schema_guard_refuses_with_its_reason():
    error = failure_of("Rollback", run(record("guard", "0003"), "refused"))
    assert error.code == ExitCode.REFUSED and "0003" in error.render()


def test_a_failed_check_on_the_controller_is_invalid_input():
    error = failure_of("Deploy", run(record("verify", "cp312", "localhost")))
    assert error.code == ExitCode.INVALID and "Nothing changed on any host" in error.render()


def test_a_failure_before_the_switch_is_contained():
    lost = record("upload", "app2 became unreachable during the run.", "app2")
    error = failure_of("Deploy", run(lost))
    assert (
        error.code == ExitCode.CONTAINED and "app2" in error.render() and "upload" in error.render()
    )


def test_a_reported_switch_failure_is_contained_naming_phase_and_host():
    error = failure_of("Deploy", run(record("switch", "503"), "contained"))
    assert (
        error.code == ExitCode.CONTAINED
        and "phase switch" in error.render()
        and "app1" in error.render()
    )


def test_a_failure_past_the_switch_without_the_outcome_needs_attention():
    error = failure_of("Deploy", run(record("switch", "nginx -t failed")))
    assert error.code == ExitCode.ATTENTION and "voicenote-ops status" in error.render()


def test_a_failed_run_without_a_record_needs_attention_whatever_its_words():
    """No play name, task name or message decides: a host that failed in a play named like the
    checks, with words like a held lock's, and no record, is an uncertain fleet."""
    host = HostOutcome(failed=1, failed_task="Verify: x", message="ci:7 holds the deploy lock")
    error = failure_of("Deploy", run(hosts={"localhost": host}))
    assert error.code == ExitCode.ATTENTION and "holds the deploy lock" in error.render()


def test_a_run_stopped_as_asked_is_contained_and_says_the_lock_is_released():
    stopped = {"phase": "switch", "host": "app2", "task": "interrupted"}
    result = run(stopped, "interrupted")
    result.interrupts = 1
    error = failure_of("The deploy of 1.1.0", result)
    assert error.code == ExitCode.CONTAINED
    assert "stopped as asked, before phase switch" in error.render()
    assert "lock is released" in error.render()


def test_a_run_stopped_at_once_needs_attention_and_says_what_to_run():
    result = run()
    result.interrupts = 2
    error = failure_of("The rollback", result)
    assert error.code == ExitCode.ATTENTION
    assert "still held by this run" in error.render()
    assert "--take-over" in error.render() and "voicenote-ops status ENV" in error.render()


def test_a_dependency_that_did_not_answer_needs_attention_naming_it():
    down = record(
        "guard", "PostgreSQL on db1 did not answer (psql: connection refused).", outage=True
    )
    error = failure_of("The deploy of 1.1.0", run(down, "refused"))
    assert error.code == ExitCode.ATTENTION
    assert "could not start: PostgreSQL on db1 did not answer" in error.render()
    assert "Nothing changed." in error.render()


def test_a_host_that_could_not_be_switched_back_needs_attention_naming_it():
    result = run(record("switch", "the hook failed"), "failed")
    result.reported["voicenote_not_switched_back"] = ["app1"]
    error = failure_of("The deploy of 1.0.0", result)
    assert error.code == ExitCode.ATTENTION
    assert "app1 could not be switched back" in error.render()
    assert "voicenote-ops status ENV" in error.render()
