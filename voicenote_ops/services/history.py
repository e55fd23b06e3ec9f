"""`history`: the environment's audit trail, from its lock host or the controller's copy."""

import json
from collections.abc import Callable
from pathlib import Path

from voicenote_ops.environments import Environment
from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.files import read_text
from voicenote_ops.models.results import Progress
from voicenote_ops.paths import state_dir
from voicenote_ops.runner import run_playbook


def _local_file(environment: Environment) -> Path:
    return state_dir() / "audit" / f"{environment.name}.jsonl"


def _local_lines(environment: Environment) -> list[str]:
    """The controller's copy, one JSON record a line; a damaged line is refused by number."""
    path = _local_file(environment)
    if not path.exists():
        return []
    fix = "Fix or remove that line; the hosts keep the whole trail (voicenote-ops history ENV)."
    lines = [
        line
        for line in read_text(path, "the audit copy", fix, own=True).splitlines()
        if line.strip()
    ]
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            raise InvalidInput(f"Line {number} of the audit copy {path} is not a JSON record.", fix)
    return lines


def local_history(environment: Environment, lines: int) -> list[dict]:
    """The controller's copy: runs made from this machine, and trails brought from the hosts."""
    return [json.loads(line) for line in _local_lines(environment)[-lines:]]


def _keep_locally(environment: Environment, records: list[dict]) -> None:
    """Merge the host's records into the controller's copy, which the promotion guard reads."""
    path = _local_file(environment)
    known = _local_lines(environment)
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
