"""`push`: an image archive into the environment's registry (playbooks/push.yml)."""

from collections.abc import Callable
from pathlib import Path

from voicenote_ops.environments import Environment
from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.image.archive import ArchiveFacts, read_archive
from voicenote_ops.inventory import REGISTRY_GROUP
from voicenote_ops.runner import Progress, run_playbook


def push(
    environment: Environment, archive: Path, on_progress: Callable[[Progress], None]
) -> tuple[ArchiveFacts, str]:
    """The archive's facts and the reference hosts pull it by (HOST:PORT/NAME@DIGEST)."""
    facts = read_archive(archive)
    if not environment.registry:
        raise InvalidInput(
            f"{environment.name} has no registry host to push to.",
            f"List one under the {REGISTRY_GROUP!r} group of its inventory "
            "(a lab: voicenote-ops lab up --name NAME --registry).",
        )
    result = run_playbook(
        environment.playbook_run(
            "push.yml", extravars={"voicenote_image_archive": str(archive.resolve())}
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
    return facts, pushed
