"""`deploy`: validate everything on the controller, then run playbooks/deploy.yml."""

from collections.abc import Callable
from pathlib import Path

from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.models import playbook_vars
from voicenote_ops.models.requests import DeployRequest
from voicenote_ops.models.results import Progress, RunResult
from voicenote_ops.runner import PlaybookRun, run_playbook
from voicenote_ops.services import requests


def deploy_run(request: DeployRequest, playbook: str = "deploy.yml") -> PlaybookRun:
    """The documented variables of deploy.yml: what CI would pass with -e. The deploy
    itself stops at its next phase on Ctrl-C (its plan changes nothing)."""
    return request.environment.playbook_run(
        playbook,
        interruptible=playbook == "deploy.yml",
        extravars=playbook_vars.extravars(
            version=request.version,
            artifact=str(request.artifact),
            batch_size=request.batch_size,
            stop_previous=request.stop_previous,
            lock_wait=request.lock_wait,
            take_over=request.take_over,
            env_name=request.environment.name,
            # Not passed when not asked for: the inventory's value or the playbook's default.
            override_promotion=request.override_promotion or None,
            ignore_alerts=request.ignore_alerts or None,
            image_digest=request.image_digest or None,
            watch_seconds=request.watch_seconds,
        ),
        verbosity=request.verbosity,
    )


def prepare(
    environment: str,
    version: str,
    artifact: Path | None,
    *,
    stop_previous: bool = False,
    batch_size: int = 1,
    lock_wait: int = 0,
    verbosity: int = 0,
    override_promotion: str = "",
    ignore_alerts: str = "",
    watch_seconds: int | None = None,
    take_over: bool = False,
) -> DeployRequest:
    """Every check that needs no host: refused input never reaches one."""
    requests.check_lock_wait(lock_wait)
    requests.check_rollout(batch_size, watch_seconds)
    check_release_version(version)
    env = requests.environment_with_vault(environment)
    requests.release_version(env, version)
    path, manifest = requests.bundle(env, version, artifact)
    return DeployRequest(
        env,
        version,
        path,
        manifest,
        stop_previous=stop_previous,
        batch_size=batch_size,
        lock_wait=lock_wait,
        verbosity=verbosity,
        override_promotion=override_promotion,
        ignore_alerts=ignore_alerts,
        watch_seconds=watch_seconds,
        take_over=take_over,
        image_digest=requests.image_digest(version, artifact),
    )


def deploy(
    request: DeployRequest,
    on_progress: Callable[[Progress], None],
    on_output: Callable[[str], None] | None = None,
) -> RunResult:
    return run_playbook(deploy_run(request), on_progress=on_progress, on_output=on_output)
