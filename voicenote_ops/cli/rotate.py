"""`voicenote-ops rotate ENV SECRET`."""

import sys

import typer

from voicenote_ops.cli.options import LOCK_WAIT
from voicenote_ops.cli.output import console, print_json
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.cli.summary import show_fleet_if_interrupted, show_run
from voicenote_ops.environments import Kind
from voicenote_ops.services import requests
from voicenote_ops.services import rotate as service
from voicenote_ops.services.outcome import failure_of

app = typer.Typer()


def _given(secret: str) -> str | None:
    """A value only the operator has (a webhook URL): asked for at a terminal, else one line of
    stdin; never an argument, which other users and shell history can read."""
    if not service.SECRETS[secret].given:
        return None
    if sys.stdin.isatty():
        return typer.prompt(f"New {secret} (not shown)", hide_input=True)
    return sys.stdin.readline()


@app.command("rotate")
def rotate(
    environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
    secret: str = typer.Argument(
        ..., help=f"One of: {', '.join(service.SECRETS)} (the URL is read from stdin)."
    ),
    lock_wait: int = LOCK_WAIT,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """A new secret: the server takes it beside the old one, the app rolls onto it host by
    host, the old one is revoked; the environment's vault gets the new value."""
    env, secret = service.prepare(environment, secret, lock_wait)
    given = service.check_given(secret, _given(secret))
    requests.consent(env, f"Rotate {secret}", yes, typer.confirm)
    rotation = service.begin(env, secret, given)
    with live_progress(f"rotate {secret} on {env.name}", "rotate") as on_progress:
        result = service.rotate(rotation, lock_wait, on_progress)
    if json_output:
        print_json(
            {"environment": env.name, "secret": secret, "resumed": rotation.resumed,
             "vault": str(rotation.vault), **result.to_json()}
        )  # fmt: skip
    else:
        show_run(f"rotate {secret} on {env.name}", result)
    show_fleet_if_interrupted(env, result)
    error = failure_of(f"The rotation of {secret}", result)
    if error:
        if service.never_started(rotation, given, error):
            service.abandon(rotation)
            kept = f"The vault ({rotation.vault}) keeps the value in use."
        else:
            kept = (
                f"The vault ({rotation.vault}) holds the new value and the one in use: run "
                "rotate again to finish this rotation."
            )
        error.fix = f"{error.fix or ''} {kept}".strip()
        raise error
    service.finish(rotation)
    if not json_output:
        where = (
            "the lab's own copy; the committed test vault is unchanged"
            if env.kind is Kind.LAB
            else "encrypted: commit it"
        )
        revoked = (
            "revoke the old one at its provider" if given is not None else "the old one is revoked"
        )
        console.print(
            f"{env.name} uses the new {secret}; {revoked}. The new value is in "
            f"{rotation.vault} ({where}).",
            markup=False,
            highlight=False,
        )
