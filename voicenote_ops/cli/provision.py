"""`voicenote-ops provision ENV`."""

import typer
from rich.table import Table

from voicenote_ops.cli.options import LOCK_WAIT, TAKE_OVER
from voicenote_ops.cli.output import console, print_json
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.cli.summary import show_fleet_if_interrupted
from voicenote_ops.environments import Environment, resolve
from voicenote_ops.models.results import RunResult
from voicenote_ops.services import requests
from voicenote_ops.services.provision import (
    failure_of_run,
    prepare,
    provision,
    restart_lines,
    summaries,
)

app = typer.Typer()


def _show(env: Environment, check: bool, result: RunResult) -> None:
    title = f"provision {env.name}" + (" (check: nothing was changed)" if check else "")
    table = Table(title=title, title_justify="left")
    for column in ("host", "ok", "changed", "failed", "unreachable", "failed task", "message"):
        table.add_column(column)
    for host in summaries(result):
        table.add_row(
            host.host,
            str(host.ok),
            str(host.changed),
            str(host.failed),
            str(host.unreachable),
            host.failed_task or "",
            host.message or "",
        )
    console.print(table)
    for line in restart_lines(result, check):
        console.print(line, markup=False, highlight=False)
    console.print(f"{result.status} in {result.duration:.1f}s")


@app.command("provision")
def provision_command(
    environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
    check: bool = typer.Option(
        False, "--check", help="Report what would change and change nothing (no confirmation)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    yes: bool = typer.Option(False, "--yes", help="Skip the confirmation prod asks for."),
    lock_wait: int = LOCK_WAIT,
    take_over: bool = TAKE_OVER,
    allow_server_restart: bool = typer.Option(
        False,
        "--allow-server-restart",
        help="Restart PostgreSQL or Redis for a setting they read only at start (their "
        "clients' connections drop); without it such a change is refused.",
    ),
) -> None:
    """Users, packages, PostgreSQL, Redis, nginx, env files and the app's unit on every host,
    under the deploy lock (--check takes none) and recorded in the audit trail."""
    env = resolve(environment)
    request = prepare(env, check, lock_wait, take_over, allow_server_restart)
    if not check:
        requests.consent(env, "Provision", yes, typer.confirm)
    with live_progress(f"provision {env.name}", "provision") as on_progress:
        result = provision(request, on_progress)
    if json_output:
        print_json({"environment": env.name, "check": check, **result.to_json()})
    else:
        _show(env, check, result)
    show_fleet_if_interrupted(env, result)
    error = failure_of_run(result)
    if error:
        raise error
