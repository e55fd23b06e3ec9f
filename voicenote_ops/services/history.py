"""`history`: the environment's audit trail, from its lock host or the controller's copy."""

import json
from collections.abc import Callable

from voicenote_ops.environments import Environment
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.paths import state_dir
from voicenote_ops.runner import Progress, run_playbook


def local_history(environment: Environment, lines: int) -> list[dict]:
    """The controller's copy: the runs made from this machine."""
    path = state_dir() / "audit" / f"{environment.name}.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()[-lines:] if line.strip()]


def host_history(
    environment: Environment, lines: int, on_progress: Callable[[Progress], None]
) -> list[dict]:
    """The lock host's trail: every run, from whichever machine or CI job made it."""
    result = run_playbook(
        environment.playbook_run("history.yml", extravars={"voicenote_history_lines": lines}),
        on_progress=on_progress,
    )
    if not result.succeeded:
        raise NeedsAttention(
            f"Could not read the audit trail of {environment.name} from its db host.",
            "Check it with voicenote-ops ping ENV, or read this machine's copy with --local.",
        )
    return list(result.reported.get("voicenote_history") or [])
