"""`rollback`: go back to the previous release (or a named kept one) with playbooks/rollback.yml."""

from collections.abc import Callable

from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.models import playbook_vars
from voicenote_ops.models.requests import RollbackRequest
from voicenote_ops.models.results import Progress, RunResult
from voicenote_ops.runner import PlaybookRun, run_playbook
from voicenote_ops.services import requests


def prepare(
    environment: str,
    to: str | None,
    *,
    lock_wait: int = 0,
    downgrade: bool = False,
    stop_previous: bool = False,
    take_over: bool = False,
) -> RollbackRequest:
    """Every check that needs no host: refused input never reaches one."""
    requests.check_lock_wait(lock_wait)
    if to is not None:
        check_release_version(to)
    env = requests.environment_with_vault(environment)
    if to is not None:
        requests.release_version(env, to)
    return RollbackRequest(env, to, lock_wait, downgrade, stop_previous, take_over)


def rollback_run(request: RollbackRequest) -> PlaybookRun:
    """The documented variables of rollback.yml: what CI would pass with -e. Ctrl-C stops it at
    its next phase."""
    return request.environment.playbook_run(
        "rollback.yml",
        extravars=playbook_vars.extravars(
            rollback_to=request.to or "",
            lock_wait=request.lock_wait,
            take_over=request.take_over,
            downgrade=request.downgrade,
            stop_previous=request.stop_previous,
            env_name=request.environment.name,
        ),
        interruptible=True,
    )


def rollback(request: RollbackRequest, on_progress: Callable[[Progress], None]) -> RunResult:
    return run_playbook(rollback_run(request), on_progress=on_progress)
