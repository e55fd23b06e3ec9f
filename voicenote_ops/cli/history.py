"""`voicenote-ops history ENV`."""

import typer

from voicenote_ops.cli.output import print_json, table
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.services import history as service
from voicenote_ops.services.requests import environment_with_vault

app = typer.Typer()


@app.command("history")
def history(
    environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
    lines: int = typer.Option(20, "--lines", min=1, max=10000, help="How many records."),
    local: bool = typer.Option(
        False, "--local", help="This machine's copy only (no host is contacted)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Deploys, rollbacks and lock releases: who, what, result, phase reached, duration."""
    env = environment_with_vault(environment)
    if local:
        records = service.local_history(env, lines)
    else:
        with live_progress(f"history {env.name}") as on_progress:
            records = service.host_history(env, lines, on_progress)
    if json_output:
        print_json({"environment": env.name, "format": 1, "records": records})
        return
    table(
        f"history {env.name}",
        ("finished", "operation", "to", "result", "phase", "who", "seconds"),
        [
            (r.get("finished_at"), r.get("operation"), r.get("to"), r.get("result"),
             r.get("phase"), r.get("who"), r.get("duration_seconds"))
            for r in records
        ],
    )  # fmt: skip
