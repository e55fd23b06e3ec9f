"""`voicenote-ops ci ...`: what CI needs from the tool, so workflows hold no logic of their own."""

import os
from pathlib import Path

import typer

from voicenote_ops.cli.output import console, print_json
from voicenote_ops.paths import project_dir
from voicenote_ops.services import ci

app = typer.Typer(help="What CI workflows ask the tool: which deploy a ref triggers, secrets.")


@app.command("resolve")
def resolve(
    ref: str = typer.Option(..., "--ref", help="The pushed ref, e.g. refs/heads/develop."),
    run_number: int = typer.Option(
        None, "--run-number", min=1, help="The CI run number: N of dev and staging X.Y.Z-rc.N."
    ),
    last_release: str = typer.Option(
        None,
        "--last-release",
        help="The newest release X.Y.Z (default: the newest vX.Y.Z tag of the checkout).",
    ),
    github_output: Path = typer.Option(
        None,
        "--github-output",
        dir_okay=False,
        help="Also append environment= and version= lines here (GitHub: $GITHUB_OUTPUT).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Which environment a ref deploys and at which version; other refs: none, and why."""
    # A typed --last-release is checked before anything else, even when this ref needs none.
    given = ci.parse_release(last_release) if last_release is not None else None
    resolution = ci.resolve_ref(
        ref,
        run_number,
        lambda: given if given is not None else ci.newest_release(ci.git_tags(project_dir())),
    )
    if github_output is not None:
        with github_output.open("a", encoding="utf-8") as outputs:
            outputs.write(ci.github_outputs(resolution))
    if json_output:
        print_json(resolution.to_json())
        return
    deploys = f"{resolution.environment} {resolution.version}" if resolution.environment else None
    console.print(
        f"{deploys or 'no deploy'}: {resolution.reason}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command("write-secret")
def write_secret(
    variable: str = typer.Argument(..., help="The environment variable holding the secret."),
    destination: Path = typer.Argument(..., dir_okay=False, help="The file to write (0600)."),
) -> None:
    """Write a secret from an environment variable to a private file (never via argv)."""
    ci.write_secret(os.environ.get(variable), variable, destination)
    console.print(f"wrote {variable} to {destination} (0600).", markup=False, highlight=False)
