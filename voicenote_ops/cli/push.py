"""`voicenote-ops push ENV ARCHIVE`."""

from pathlib import Path

import typer

from voicenote_ops.cli.output import console, print_json
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.environments import resolve
from voicenote_ops.services.push import SIGNING_KEY_ENV, push

app = typer.Typer()


@app.command("push")
def push_command(
    environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
    archive: Path = typer.Argument(..., help="An image archive of build --image."),
    signing_key: Path | None = typer.Option(
        None,
        "--signing-key",
        envvar=SIGNING_KEY_ENV,
        help="Armored GPG secret key (no passphrase) to sign the image with; without one "
        "it is pushed unsigned.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Push an image archive to the environment's registry, checked by its digest, and sign
    it with --signing-key; print the reference its hosts pull by (HOST:PORT/NAME@DIGEST)."""
    env = resolve(environment)
    with live_progress(f"push {env.name}") as on_progress:
        pushed = push(env, archive, on_progress, signing_key)
    result = {
        "environment": env.name,
        "image": f"{pushed.facts.name}:{pushed.facts.version}",
        "digest": pushed.facts.digest,
        "pull": pushed.pull,
        "signed_by": pushed.signed_by or None,
    }
    if json_output:
        print_json(result)
        return
    for key, value in result.items():
        console.print(f"{key}: {value}", markup=False, highlight=False, soft_wrap=True)
