"""`voicenote-ops status|releases|health|alerts ENV`: read-only views of an environment."""

import typer
from rich.console import Console

from voicenote_ops.cli.output import console, print_json, table
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.services import inspect
from voicenote_ops.services.requests import environment_with_vault

app = typer.Typer()

ENVIRONMENT = typer.Argument(..., help="dev, staging, prod, or a lab's name.")
JSON = typer.Option(False, "--json", help="Print one JSON document.")


def show_status(name: str, report: inspect.Status, out: Console = console) -> None:
    table(
        f"status {name} (schema head: {','.join(report.schema_head) or 'none'})",
        ("host", "live", "version", "idle", "version", "idle running", "releases"),
        [
            (h.host, h.live_color, h.live_version, h.idle_color, h.idle_version,
             "yes" if h.idle_running else "no", " ".join(h.releases))
            for h in report.hosts
        ],
        out,
    )  # fmt: skip
    if report.alerts is not None:
        show_alerts(name, report.alerts, out)


def show_alerts(name: str, alerts: list[inspect.Alert], out: Console = console) -> None:
    if not alerts:
        out.print(f"No alert fires in {name}.")
        return
    table(
        f"alerts {name}",
        ("alert", "severity", "host", "since", "summary"),
        [(a.name, a.severity, a.host or "-", a.since, a.summary) for a in alerts],
        out,
    )


def _status(environment: str) -> tuple[str, inspect.Status]:
    env = environment_with_vault(environment)
    with live_progress(f"status {env.name}") as on_progress:
        return env.name, inspect.status(env, on_progress)


@app.command("status")
def status(environment: str = ENVIRONMENT, json_output: bool = JSON) -> None:
    """Per host: live color and version, idle color and version, kept releases; schema head."""
    name, report = _status(environment)
    if json_output:
        print_json({"environment": name, **report.to_json()})
        return
    show_status(name, report)


@app.command("alerts")
def alerts(environment: str = ENVIRONMENT, json_output: bool = JSON) -> None:
    """The alerts that fire now (Alertmanager on the monitoring host), oldest first."""
    env = environment_with_vault(environment)
    with live_progress(f"alerts {env.name}") as on_progress:
        firing = inspect.alerts(env, on_progress)
    if json_output:
        print_json({"environment": env.name, "alerts": [vars(alert) for alert in firing]})
        return
    show_alerts(env.name, firing)


@app.command("releases")
def releases(environment: str = ENVIRONMENT, json_output: bool = JSON) -> None:
    """Per host: the releases kept, and which the colors run."""
    name, report = _status(environment)
    if json_output:
        kept = {h.host: h.releases for h in report.hosts}
        print_json({"environment": name, "releases": kept})
        return
    rows = []
    for host in report.hosts:
        for release in host.releases:
            role = (
                "live" if release == host.live_version
                else "idle" if release == host.idle_version else ""
            )  # fmt: skip
            rows.append((host.host, release, role))
    table(f"releases {name}", ("host", "release", "color"), rows)


@app.command("health")
def health(
    environment: str = ENVIRONMENT,
    smoke: bool = typer.Option(
        False, "--smoke", help="Also create, read and delete a note through the lb."
    ),
    json_output: bool = JSON,
) -> None:
    """/health and /ready of each running color, each app host's nginx, the load balancer."""
    env = environment_with_vault(environment)
    with live_progress(f"health {env.name}") as on_progress:
        checks, _ = inspect.health(env, on_progress, smoke)
    if json_output:
        print_json({"environment": env.name, "checks": checks})
    else:
        table(
            f"health {env.name}",
            ("host", "what", "ok", "ready", "status", "version", "color"),
            [
                (host, c["what"], "yes" if c["ok"] else "NO", c.get("ready"),
                 c.get("status"), c.get("version"), c.get("color"))
                for host, host_checks in sorted(checks.items())
                for c in host_checks
            ],
        )  # fmt: skip
    failing = [f"{host}: {c['message']}" for host, cs in checks.items() for c in cs if not c["ok"]]
    if failing or not checks:
        raise NeedsAttention(
            f"{len(failing)} health checks failed: {' '.join(failing) or 'no host answered'}",
            "See `voicenote-ops status ENV` and the app's log on the host.",
        )
