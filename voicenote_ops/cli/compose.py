"""`voicenote-ops compose up|down`: the example app's compose stack on this machine."""

import typer

from voicenote_ops.cli.output import console, err_console, print_json
from voicenote_ops.services import compose

app = typer.Typer(help="The example app with PostgreSQL and Redis in containers on this machine.")

PROJECT = typer.Option("voicenote", "--project", help="The compose project's name.")


def _progress(message: str) -> None:
    err_console.print(f"compose: {message}", markup=False, highlight=False)


@app.command()
def up(
    version: str = typer.Option("1.0.0", "--version", help="The app image's version."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    project: str = PROJECT,
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Start the stack (again: no change) and wait until the API's /ready answers."""
    health = compose.up(project, version, port, _progress)
    result = {"project": project, "url": f"http://127.0.0.1:{port}", "health": health}
    if json_output:
        print_json(result)
        return
    console.print(
        f"{project}: {result['url']} serves {health['version']} ({health['status']})",
        markup=False,
        highlight=False,
    )


@app.command()
def down(
    project: str = PROJECT,
    volumes: bool = typer.Option(False, "--volumes", help="Also delete the database volume."),
) -> None:
    """Remove the stack's containers (the database volume stays unless --volumes)."""
    compose.down(project, volumes=volumes)
