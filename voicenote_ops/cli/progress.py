"""Live progress of a playbook run: a status line on a terminal, plain lines elsewhere.

Everything goes to stderr so that `--json` output on stdout stays one clean document.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.live import Live
from rich.text import Text

from voicenote_ops import rules
from voicenote_ops.cli.output import err_console
from voicenote_ops.models.results import Progress

# Shown as lines of their own (a notice: what the run does about a Ctrl-C).
_SHOWN_STATUSES = {"changed", "failed", "unreachable", "notice"}


def _label(play: str) -> str:
    """The line's label: a play's name starts with its phase ("Upload: install ..."). For the
    display only; what a run's outcome is comes from its record (services/outcome.py)."""
    return play.split(":", 1)[0].strip().lower()


def _line(started: float, step: Progress, phases: tuple[str, ...] = ()) -> str:
    # The phase is enough here, and the bracket says where it stands among the operation's phases
    # (playbooks/vars/phases.yml): "[  12.3s  5/13] upload: ...". A line of a phase starts
    # "] PHASE: " whatever its place.
    name = _label(step.play) if step.play else ""
    place = f" {phases.index(name) + 1:2d}/{len(phases)}" if name in phases else ""
    where = f"{name}: {step.task}" if step.play else step.task
    head = f"[{time.monotonic() - started:6.1f}s{place}]"
    return f"{head} {where}" + (f"  {step.host}: {step.status}" if step.host else "")


@contextmanager
def live_progress(label: str, operation: str | None = None) -> Iterator[Callable[[Progress], None]]:
    """operation: deploy, rollback, provision or rotate, whose phases the lines count."""
    started = time.monotonic()
    phases = rules.phases(operation) if operation else ()
    if not err_console.is_terminal:

        def plain(step: Progress) -> None:
            if step.host is None or step.status in _SHOWN_STATUSES:
                err_console.print(_line(started, step, phases), markup=False, highlight=False)

        yield plain
        return
    with Live(Text(label), console=err_console, transient=True, refresh_per_second=8) as live:

        def update(step: Progress) -> None:
            if step.status in _SHOWN_STATUSES:
                live.console.print(_line(started, step, phases), markup=False, highlight=False)
            live.update(Text(_line(started, step, phases)))

        yield update
