"""The per-host summary table printed after a playbook run, and the fleet after an interrupt."""

from rich.table import Table

from voicenote_ops.cli.inspect import show_status
from voicenote_ops.cli.output import console, err_console
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.environments import Environment
from voicenote_ops.errors import OpsError
from voicenote_ops.models.results import RunResult
from voicenote_ops.services import inspect


def show_run(title: str, result: RunResult) -> None:
    table = Table(title=f"{title} ({result.duration:.1f} s)", title_justify="left")
    for column in ("host", "ok", "changed", "failed", "unreachable", "failed task"):
        table.add_column(column)
    for name, host in sorted(result.hosts.items()):
        table.add_row(
            name,
            str(host.ok),
            str(host.changed),
            str(host.failed),
            str(host.unreachable),
            host.failed_task or "",
        )
    console.print(table)


def show_fleet_if_interrupted(environment: Environment, result: RunResult) -> None:
    """After a Ctrl-C or SIGTERM: what each host serves now, read from the hosts (on stderr, so
    that --json output stays one document)."""
    if not result.interrupts:
        return
    try:
        with live_progress(f"status {environment.name}") as on_progress:
            report = inspect.status(environment, on_progress)
    except OpsError as error:
        err_console.print(f"the fleet could not be read: {error.render()}", markup=False)
        return
    show_status(environment.name, report, err_console)
