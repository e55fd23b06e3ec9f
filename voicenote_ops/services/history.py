"""`history`: the environment's audit trail, from its lock host or the controller's copy."""

import json
from collections.abc import Callable
from pathlib import Path

from voicenote_ops.environments import Environment
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.paths import state_dir
from voicenote_ops.runner import Progress, run_playbook


def _local_file(environment: Environment) -> Path:
    return state_dir() / "audit" / f"{environment.name}.jsonl"


def local_history(environment: Environment, lines: int) -> list[dict]:
    """The controller's copy: runs made from this machine, and trails brought from the hosts."""
    path = _local_file(environment)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()[-lines:] if line.strip()]


def _keep_locally(environment: Environment, records: list[dict]) -> None:
    """Merge the host's records into the controller's copy, which the promotion guard reads."""
    path = _local_file(environment)
    known = path.read_text().splitlines() if path.is_file() else []
    fetched = [json.dumps(record, sort_keys=True) for record in records]
    merged = sorted(
        set(known) | set(fetched), key=lambda line: json.loads(line).get("finished_at", "")
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text("".join(line + "\n" for line in merged))
    path.chmod(0o600)


def host_history(
    environment: Environment, lines: int, on_progress: Callable[[Progress], None]
) -> list[dict]:
    """The lock host's trail: every run, from whichever machine or CI job made it. Kept in the
    controller's copy too, so a prod deploy can see what staging ran."""
    result = run_playbook(
        environment.playbook_run("history.yml", extravars={"voicenote_history_lines": lines}),
        on_progress=on_progress,
    )
    if not result.succeeded:
        raise NeedsAttention(
            f"Could not read the audit trail of {environment.name} from its db host.",
            "Check it with voicenote-ops ping ENV, or read this machine's copy with --local.",
        )
    records = list(result.reported.get("voicenote_history") or [])
    _keep_locally(environment, records)
    return records
