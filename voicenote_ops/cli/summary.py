"""The per-host summary table printed after a playbook run."""

from rich.table import Table

from voicenote_ops.cli.output import console
from voicenote_ops.runner import RunResult


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
