"""`voicenote-ops load LAB`: a bounded, fixed-rate load on a lab's load balancer, with figures."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from voicenote_ops.cli.output import console, err_console, print_json, table
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.load import generator
from voicenote_ops.load.report import summarize
from voicenote_ops.load.target import lab_target

app = typer.Typer()


@contextmanager
def _stopped_by_signals() -> Iterator[threading.Event]:
    """Ctrl-C or SIGTERM ends the load early, with the figures of what was sent."""
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _show_progress(progress: generator.Progress) -> None:
    err_console.print(
        f"[{progress.elapsed:6.1f}s] {progress.requests} requests, "
        f"{progress.failures} non-2xx or socket errors",
        markup=False,
        highlight=False,
    )


def _show(summary: dict) -> None:
    table(
        f"load on {summary['target']}: {summary['requests']} requests in "
        f"{summary['duration_s']} s ({summary['achieved_rate']}/s of {summary['rate']:g}/s)",
        ("kind", "requests", "non-2xx", "socket errors", "p50 ms", "p99 ms", "max ms"),
        [
            (kind, k["requests"], k["non_2xx"], k["socket_errors"], k["p50_ms"], k["p99_ms"],
             k["max_ms"])
            for kind, k in summary["kinds"].items()
        ],
    )  # fmt: skip
    versions = ", ".join(f"{v} ({n} answers)" for v, n in summary["versions"].items())
    long = summary["long"]
    console.print(f"versions seen on /health: {versions or 'none'}")
    console.print(
        f"long requests ({long['seconds']:g} s): {long['completed']} of {long['started']} "
        "completed with 2xx"
    )
    if summary["errors"]:
        console.print(f"socket errors: {summary['errors']}")
    console.print(f"statuses: {summary['statuses']}; largest send lag {summary['max_lag_ms']} ms")


@app.command("load")
def load(
    environment: str = typer.Argument(..., help="A running lab's name (only labs)."),
    rate: float = typer.Option(
        100, "--rate", help=f"Requests per second (at most {generator.MAX_RATE})."
    ),
    requests: int = typer.Option(
        20_000, "--requests", help=f"Requests at most (at most {generator.MAX_REQUESTS})."
    ),
    duration: float = typer.Option(
        300, "--duration", help=f"Seconds at most (at most {generator.MAX_DURATION})."
    ),
    long: int = typer.Option(
        4, "--long", help="Long transcriptions kept in flight from the start, back to back."
    ),
    long_seconds: float = typer.Option(
        20, "--long-seconds", help="Length of each long transcription (1 to 30 s)."
    ),
    connections: int = typer.Option(
        16, "--connections", help="Persistent connections sharing the scheduled requests."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Send a fixed-rate mix (health, note reads and writes, long transcriptions) to a lab's
    load balancer over keep-alive connections, without retries; report what it answered."""
    plan = generator.LoadPlan(rate, requests, duration, long, long_seconds, connections)
    target = lab_target(environment)
    err_console.print(
        f"load: {plan.rate:g}/s to {target.url}, at most {plan.requests} requests "
        f"in {plan.duration:g} s",
        markup=False,
        highlight=False,
    )
    with _stopped_by_signals() as stop:
        summary = summarize(generator.run(target, plan, stop, on_progress=_show_progress))
    if json_output:
        print_json({"environment": environment, **summary})
    else:
        _show(summary)
    if not summary["ok"]:
        raise NeedsAttention(
            f"{summary['non_2xx']} of {summary['requests']} requests got an answer other "
            f"than 2xx and {summary['socket_errors']} met a socket error on "
            f"{summary['target']}.",
            "See the statuses and errors above and the app hosts' logs (make logs-api).",
        )
