"""`voicenote-ops push ENV ARCHIVE`."""

from pathlib import Path

import typer

from voicenote_ops.cli.output import console, print_json
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.environments import resolve
from voicenote_ops.services.push import push


def register(app: typer.Typer) -> None:
    @app.command("push")
    def push_command(
        environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
        archive: Path = typer.Argument(..., help="An image archive of build --image."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Push an image archive to the environment's registry, checked by its digest; print
        the reference its hosts pull by (HOST:PORT/NAME@DIGEST)."""
        env = resolve(environment)
        with live_progress(f"push {env.name}") as on_progress:
            facts, pushed = push(env, archive, on_progress)
        result = {
            "environment": env.name,
            "image": f"{facts.name}:{facts.version}",
            "digest": facts.digest,
            "pull": pushed,
        }
        if json_output:
            print_json(result)
            return
        for key, value in result.items():
            console.print(f"{key}: {value}", markup=False, highlight=False, soft_wrap=True)
