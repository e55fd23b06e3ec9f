"""`voicenote-ops rollback ENV [--to X.Y.Z]`."""

import typer

from voicenote_ops.cli.options import LOCK_WAIT, TAKE_OVER
from voicenote_ops.cli.output import console, print_json
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.cli.summary import show_fleet_if_interrupted, show_run
from voicenote_ops.services import requests
from voicenote_ops.services import rollback as service
from voicenote_ops.services.outcome import failure_of

app = typer.Typer()


@app.command("rollback")
def rollback(
    environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
    to: str = typer.Option(None, "--to", help="A kept release (default: the previous one)."),
    lock_wait: int = LOCK_WAIT,
    downgrade: bool = typer.Option(
        False,
        "--downgrade",
        help="Downgrade a schema the target's code does not know (after a backup).",
    ),
    stop_previous: bool = typer.Option(
        False,
        "--stop-previous",
        help="Stop the color rolled away from once the switch is verified.",
    ),
    take_over: bool = TAKE_OVER,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Serve the previous release again: only a switch while its color still runs."""
    request = service.prepare(
        environment, to, lock_wait=lock_wait, downgrade=downgrade,
        stop_previous=stop_previous, take_over=take_over,
    )  # fmt: skip
    env, target = request.environment, request.to
    requests.consent(env, f"Roll back to {target or 'the previous release'}", yes, typer.confirm)
    with live_progress(f"rollback {env.name}", "rollback") as on_progress:
        result = service.rollback(request, on_progress)
    if json_output:
        print_json({"environment": env.name, "to": target, **result.to_json()})
    else:
        show_run(f"rollback {env.name}", result)
    show_fleet_if_interrupted(env, result)
    error = failure_of("The rollback", result)
    if error:
        raise error
    if not json_output:
        served = result.reported.get("voicenote_target_version", target)
        console.print(f"{env.name} serves {served} again.")
