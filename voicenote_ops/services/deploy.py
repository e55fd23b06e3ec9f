"""`deploy`: validate everything on the controller, then run playbooks/deploy.yml."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.bundle.manifest import Manifest
from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.environments import Environment
from voicenote_ops.runner import PlaybookRun, Progress, RunResult, run_playbook
from voicenote_ops.services import requests


@dataclass(frozen=True)
class DeployRequest:
    environment: Environment
    version: str
    artifact: Path
    manifest: Manifest
    stop_previous: bool = False
    batch_size: int = 1
    lock_wait: int = 0
    verbosity: int = 0
    # The operator's recorded reason to deploy a release that never passed its promotion source.
    override_promotion: str = ""
    # The operator's recorded reason to deploy while a critical alert fires (docs/monitoring.md).
    ignore_alerts: str = ""
    # Seconds to watch the new color after the switch; None leaves it to the inventory.
    watch_seconds: int | None = None
    # Take another run's live deploy lock (recorded with its holder in the audit trail).
    take_over: bool = False
    # The image runtime: the release's image by digest ('' when there is none to name).
    image_digest: str = ""

    def playbook_run(self, playbook: str = "deploy.yml") -> PlaybookRun:
        """The documented variables of deploy.yml: what CI would pass with -e. The deploy
        itself stops at its next phase on Ctrl-C (its plan changes nothing)."""
        return self.environment.playbook_run(
            playbook,
            interruptible=playbook == "deploy.yml",
            extravars={
                "voicenote_version": self.version,
                "voicenote_artifact": str(self.artifact),
                "voicenote_batch_size": self.batch_size,
                "voicenote_stop_previous": self.stop_previous,
                "voicenote_lock_wait": self.lock_wait,
                "voicenote_lock_take_over": self.take_over,
                "voicenote_env_name": self.environment.name,
                **(
                    {"voicenote_promotion_override": self.override_promotion}
                    if self.override_promotion
                    else {}
                ),
                **(
                    {"voicenote_ignore_alerts_reason": self.ignore_alerts}
                    if self.ignore_alerts
                    else {}
                ),
                **({"voicenote_image_digest": self.image_digest} if self.image_digest else {}),
                **(
                    {"voicenote_watch_seconds": self.watch_seconds}
                    if self.watch_seconds is not None
                    else {}
                ),
            },
            verbosity=self.verbosity,
        )


def prepare(
    environment: str,
    version: str,
    artifact: Path | None,
    stop_previous: bool = False,
    batch_size: int = 1,
    lock_wait: int = 0,
    verbosity: int = 0,
) -> DeployRequest:
    """Every check that needs no host: refused input never reaches one."""
    check_release_version(version)
    env = requests.environment_with_vault(environment)
    requests.release_version(env, version)
    path, manifest = requests.bundle(env, version, artifact)
    return DeployRequest(
        env,
        version,
        path,
        manifest,
        stop_previous,
        batch_size,
        lock_wait,
        verbosity,
        image_digest=requests.image_digest(version, artifact),
    )


def deploy(
    request: DeployRequest,
    on_progress: Callable[[Progress], None],
    on_output: Callable[[str], None] | None = None,
) -> RunResult:
    return run_playbook(request.playbook_run(), on_progress=on_progress, on_output=on_output)
