"""What an operator or CI asks for, once every check that needs no host has passed."""

from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.bundle.manifest import Manifest
from voicenote_ops.environments import Environment


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


@dataclass(frozen=True)
class RollbackRequest:
    environment: Environment
    # The kept release to serve again; None: the one before the live one.
    to: str | None = None
    lock_wait: int = 0
    # Downgrade the schema to what that release knows (its migrations' downgrades).
    downgrade: bool = False
    # Stop the color rolled away from once the switch is verified.
    stop_previous: bool = False
    take_over: bool = False


@dataclass(frozen=True)
class ProvisionRequest:
    environment: Environment
    # --check: read what would change; take no lock, change and record nothing.
    check: bool = False
    lock_wait: int = 0
    take_over: bool = False
    # Restart PostgreSQL or Redis for a setting they read only at start (their clients drop).
    allow_server_restart: bool = False
