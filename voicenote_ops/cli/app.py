"""The `voicenote-ops` entry point: one Typer app, one place that turns errors into exit codes."""

import sys

import typer

from voicenote_ops import __version__
from voicenote_ops.cli import (
    bench,
    build,
    ci,
    deploy,
    history,
    inspect,
    lab,
    load,
    lock,
    ping,
    provision,
    rollback,
)
from voicenote_ops.cli.output import err_console
from voicenote_ops.errors import OpsError

app = typer.Typer(
    name="voicenote-ops",
    help="Provision, deploy and roll back the VoiceNote API with Ansible.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(lab.app, name="lab")
app.add_typer(ci.app, name="ci")
app.add_typer(lock.app, name="lock")
ping.register(app)
provision.register(app)
build.register(app)
deploy.register(app)
rollback.register(app)
inspect.register(app)
history.register(app)
load.register(app)
bench.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Provision, deploy and roll back the VoiceNote API with Ansible."""


def main() -> None:
    """Run the CLI; the only place that turns errors into exit codes.

    Typer runs standalone, so usage mistakes exit 2 (invalid input) with its own message;
    errors of the tool's own are printed as one sentence with the fix, never a traceback.
    """
    try:
        app()
    except OpsError as error:
        err_console.print(f"error: {error.render()}", markup=False, highlight=False)
        sys.exit(int(error.code))
    except KeyboardInterrupt:
        err_console.print("interrupted.")
        sys.exit(130)
