"""`lock status|release`: read or break an environment's deploy lease (playbooks/lock.yml)."""

from collections.abc import Callable

from voicenote_ops.environments import Environment
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.models.results import Progress
from voicenote_ops.runner import run_playbook


def lease(
    environment: Environment, action: str, on_progress: Callable[[Progress], None]
) -> dict | None:
    """The live lease (status) or the one broken (release); None when there is none."""
    result = run_playbook(
        environment.playbook_run("lock.yml", extravars={"voicenote_lock_action": action}),
        on_progress=on_progress,
    )
    if not result.succeeded:
        failed = next((o for o in result.hosts.values() if o.message), None)
        raise NeedsAttention(
            f"Could not {action} the deploy lock of {environment.name}: "
            f"{failed.message if failed else result.status}.",
            "Check the db host with voicenote-ops ping ENV.",
        )
    key = "voicenote_lease" if action == "status" else "voicenote_released_lease"
    return result.reported.get(key) or None
