"""`voicenote-ops ping ENV`."""

import typer
from rich.table import Table

from voicenote_ops.cli.output import console, print_json
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.environments import resolve
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.services.ping import ping

app = typer.Typer()


@app.command("ping")
def ping_command(
    environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Per host: reachable over SSH, Python version, become works."""
    env = resolve(environment)
    with live_progress(f"ping {env.name}") as on_progress:
        hosts, _ = ping(env, on_progress)
    if json_output:
        print_json({"environment": env.name, "hosts": [vars(h) | {"ok": h.ok} for h in hosts]})
    else:
        table = Table(title=f"ping {env.name}", title_justify="left")
        for column in ("host", "reachable", "python", "become", "message"):
            table.add_column(column)
        for host in hosts:
            table.add_row(
                host.host,
                "yes" if host.reachable else "NO",
                host.python or "-",
                "yes" if host.become else "NO",
                host.message or "",
            )
        console.print(table)
    failing = [host.host for host in hosts if not host.ok]
    if failing or not hosts:
        raise NeedsAttention(
            f"{len(failing)} of {len(hosts)} hosts failed the check: {', '.join(failing)}.",
            "Look at the message column; `voicenote-ops lab status` shows lab hosts' states.",
        )
