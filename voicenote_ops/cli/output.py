"""Consoles: results on stdout, progress and errors on stderr (so --json stays parseable); the
one way results are shown as a table."""

import json
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def print_json(document: Any) -> None:
    """One JSON document on stdout, nothing else."""
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


def show_output(text: str) -> None:
    """Ansible's own output, with --verbose: on stderr, as it printed it."""
    err_console.print(text, markup=False, highlight=False)


def table(title: str, columns: tuple[str, ...], rows: list[tuple], out: Console = console) -> None:
    """Rows under a title, one column each; None shows as -."""
    shown = Table(title=title, title_justify="left")
    for column in columns:
        shown.add_column(column)
    for row in rows:
        shown.add_row(*(str(value) if value is not None else "-" for value in row))
    out.print(shown)
