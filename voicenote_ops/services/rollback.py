"""`rollback`: go back to the previous release (or a named kept one) with playbooks/rollback.yml."""

from collections.abc import Callable

from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.environments import Environment
from voicenote_ops.runner import Progress, RunResult, run_playbook
from voicenote_ops.services import requests


def prepare(environment: str, to: str | None) -> tuple[Environment, str | None]:
    if to is not None:
        check_release_version(to)
    env = requests.environment_with_vault(environment)
    if to is not None:
        requests.release_version(env, to)
    return env, to


def rollback(
    environment: Environment,
    to: str | None,
    lock_wait: int,
    downgrade: bool,
    on_progress: Callable[[Progress], None],
    stop_previous: bool = False,
    take_over: bool = False,
) -> RunResult:
    return run_playbook(
        environment.playbook_run(
            "rollback.yml",
            extravars={
                "voicenote_rollback_to": to or "",
                "voicenote_lock_wait": lock_wait,
                "voicenote_lock_take_over": take_over,
                "voicenote_allow_downgrade": downgrade,
                "voicenote_stop_previous": stop_previous,
                "voicenote_env_name": environment.name,
            },
            interruptible=True,
        ),
        on_progress=on_progress,
    )
