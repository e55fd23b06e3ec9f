"""Consoles: results on stdout, progress and errors on stderr (so --json stays parseable)."""

import json
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def print_json(document: Any) -> None:
    """One JSON document on stdout, nothing else."""
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


def show_output(text: str) -> None:
    """Ansible's own output, with --verbose: on stderr, as it printed it."""
    err_console.print(text, markup=False, highlight=False)
