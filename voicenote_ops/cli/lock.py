"""`voicenote-ops lock status|release ENV`."""

import typer

from voicenote_ops.cli.output import console, print_json
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.services import lock as service
from voicenote_ops.services import requests

app = typer.Typer(help="The deploy lock: one deploy, rollback or provision at a time.")
ENVIRONMENT = typer.Argument(..., help="dev, staging, prod, or a lab's name.")
JSON = typer.Option(False, "--json", help="Print one JSON document.")


def _describe(lease: dict) -> str:
    return (
        f"{lease['operation']}{' of ' + lease['version'] if lease['version'] else ''} by "
        f"{lease['holder']}, since "
        f"{lease['acquired_at']}, until {lease['expires_at']} unless renewed"
    )


@app.command("status")
def status(environment: str = ENVIRONMENT, json_output: bool = JSON) -> None:
    """Who holds the lock, for what, and until when."""
    env = requests.environment_with_vault(environment)
    with live_progress(f"lock status {env.name}") as on_progress:
        lease = service.lease(env, "status", on_progress)
    if json_output:
        print_json({"environment": env.name, "lease": lease})
    else:
        console.print(f"{env.name}: " + (f"locked: {_describe(lease)}." if lease else "free."))


@app.command("release")
def release(
    environment: str = ENVIRONMENT,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    json_output: bool = JSON,
) -> None:
    """Break the lock whoever holds it (after a killed run); recorded in the audit trail."""
    env = requests.environment_with_vault(environment)
    requests.consent(env, "Break the deploy lock", yes, typer.confirm)
    with live_progress(f"lock release {env.name}") as on_progress:
        lease = service.lease(env, "release", on_progress)
    if json_output:
        print_json({"environment": env.name, "released": lease})
    else:
        console.print(f"{env.name}: " + (f"released {_describe(lease)}." if lease else "was free."))
