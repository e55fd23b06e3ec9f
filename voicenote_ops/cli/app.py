"""The `voicenote-ops` entry point: one Typer app, one place that turns errors into exit codes."""

import os
import sys
from typing import NoReturn

import typer

from voicenote_ops import __version__
from voicenote_ops.cli import (
    bench,
    build,
    ci,
    compose,
    deploy,
    history,
    inspect,
    lab,
    load,
    lock,
    ping,
    provision,
    push,
    rollback,
    rotate,
)
from voicenote_ops.cli.output import err_console
from voicenote_ops.environments import VAULT_PASSWORD_FILE_ENV
from voicenote_ops.errors import DEBUG_ENV, InvalidInput, OpsError, from_exception
from voicenote_ops.paths import PROJECT_ENV

app = typer.Typer(
    name="voicenote-ops",
    help="Provision, deploy and roll back the VoiceNote API with Ansible.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Every command module holds one Typer app of its commands: a group's go under the group's name,
# the others' straight under voicenote-ops; the help lists them in this order.
for commands in (
    ping,
    provision,
    build,
    push,
    deploy,
    rollback,
    rotate,
    inspect,
    history,
    load,
    bench,
):
    app.add_typer(commands.app)
for group in (lab, ci, lock, compose):
    app.add_typer(group.app, name=group.__name__.rsplit(".", 1)[-1])


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


# The longest error line printed; longer ones (a huge value typed back) keep both ends.
MAX_ERROR_LENGTH = 2000
# Environment variables that name files for the operator, like words of the command line.
NAMING_VARIABLES = (PROJECT_ENV, VAULT_PASSWORD_FILE_ENV)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= MAX_ERROR_LENGTH:
        return line
    half = MAX_ERROR_LENGTH // 2
    return f"{line[:half]} [...] {line[-half:]}"


def _fail(error: OpsError) -> NoReturn:
    err_console.print(f"error: {_one_line(error.render())}", markup=False, highlight=False)
    sys.exit(int(error.code))


def main(args: list[str] | None = None) -> None:
    """Run the CLI; the only place that turns errors into exit codes.

    Every failure is one line on stderr and a code from the README's table, never a traceback:
    usage mistakes (Typer's) and the tool's own errors exit with theirs, and any other exception
    is said by errors.from_exception. VOICENOTE_OPS_DEBUG=1 shows the traceback instead.
    """
    words = sys.argv[1:] if args is None else list(args)
    try:
        if any("\0" in word for word in words):
            # No shell passes one; a word holding it was made by a program, and no path has it.
            raise InvalidInput("An argument holds a NUL byte.", "Pass arguments without it.")
        code = app(args=words, standalone_mode=False)
    except typer.TyperException as usage:
        # Typer's own click raises these; the help asked for by no arguments is already shown.
        if type(usage).__name__ == "NoArgsIsHelpError":
            sys.exit(usage.exit_code)
        context = getattr(usage, "ctx", None)
        message = usage.format_message().rstrip(".")
        _fail(
            InvalidInput(
                f"{message}.", f"See {context.command_path if context else app.info.name} --help."
            )
        )
    except OpsError as error:
        _fail(error)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted.")
        sys.exit(130)
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        named = [*words, *(os.environ.get(name, "") for name in NAMING_VARIABLES)]
        # --option=PATH names PATH too.
        named += [word.split("=", 1)[1] for word in named if word.startswith("--") and "=" in word]
        _fail(from_exception(error, named))
    sys.exit(code if isinstance(code, int) else 0)
