"""`push`: an image archive into the environment's registry (playbooks/push.yml)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.environments import Environment
from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.files import read_text
from voicenote_ops.image.archive import ArchiveFacts, read_archive
from voicenote_ops.inventory import REGISTRY_GROUP
from voicenote_ops.models.results import Progress
from voicenote_ops.runner import run_playbook

SIGNING_KEY_ENV = "VOICENOTE_IMAGE_SIGNING_KEY_FILE"
# The armor's first line, not a secret.
_SECRET_KEY = "-----BEGIN PGP PRIVATE KEY BLOCK-----"  # noqa: S105 # nosec B105


@dataclass(frozen=True)
class Pushed:
    facts: ArchiveFacts
    # HOST:PORT/NAME@DIGEST, the reference hosts pull by.
    pull: str
    # The signing key's fingerprint; empty when the push was not signed.
    signed_by: str


def check_signing_key(path: Path) -> Path:
    """An armored GPG secret key, refused (exit 2) before any host when it is not one."""
    fix = (
        "Give an armored GPG secret key without a passphrase "
        f"(--signing-key or ${SIGNING_KEY_ENV})."
    )
    if not read_text(path, "the image signing key", fix).lstrip().startswith(_SECRET_KEY):
        raise InvalidInput(f"{path} is not an armored GPG secret key.", fix)
    return path.resolve()


def push(
    environment: Environment,
    archive: Path,
    on_progress: Callable[[Progress], None],
    signing_key: Path | None = None,
) -> Pushed:
    """Push the archive (signed with signing_key when given) to the environment's registry."""
    facts = read_archive(archive)
    key = check_signing_key(signing_key) if signing_key is not None else None
    if not environment.registry:
        raise InvalidInput(
            f"{environment.name} has no registry host to push to.",
            f"List one under the {REGISTRY_GROUP!r} group of its inventory "
            "(a lab: voicenote-ops lab up --name NAME --registry).",
        )
    result = run_playbook(
        environment.playbook_run(
            "push.yml",
            extravars={
                "voicenote_image_archive": str(archive.resolve()),
                "voicenote_image_signing_key": str(key or ""),
            },
        ),
        on_progress=on_progress,
    )
    pushed = result.reported.get("voicenote_image_pushed")
    if not result.succeeded or not pushed:
        failed = next((o for o in result.hosts.values() if o.message), None)
        raise NeedsAttention(
            f"Pushing {archive.name} to {environment.name}'s registry failed: "
            f"{failed.message if failed else result.status}.",
            "Check the registry host with voicenote-ops ping ENV.",
        )
    return Pushed(facts, pushed, result.reported.get("voicenote_image_signed_by") or "")
