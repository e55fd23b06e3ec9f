"""`voicenote-ops deploy ENV --version X.Y.Z`."""

from pathlib import Path

import typer

from voicenote_ops.cli.options import LOCK_WAIT, TAKE_OVER
from voicenote_ops.cli.output import console, print_json, show_output, table
from voicenote_ops.cli.progress import live_progress
from voicenote_ops.cli.summary import show_fleet_if_interrupted, show_run
from voicenote_ops.models.requests import DeployRequest
from voicenote_ops.services import deploy as service
from voicenote_ops.services import plan, requests
from voicenote_ops.services.outcome import failure_of

app = typer.Typer()


def show_plan(request: DeployRequest, json_output: bool) -> None:
    with live_progress(f"plan {request.version} on {request.environment.name}") as on_progress:
        found = plan.plan(request, on_progress)
    if json_output:
        print_json(found.to_json())
        return
    table(
        f"plan: deploy {found.version} to {found.environment}",
        ("host", "serves", "to", "action", "env added", "env changed", "env removed"),
        [
            (h.host, h.serves, h.to, h.action, " ".join(h.env_added) or "-",
             " ".join(h.env_changed) or "-", " ".join(h.env_removed) or "-")
            for h in found.hosts
        ],
    )  # fmt: skip
    pending = ", ".join(
        m["revision"] + (" (backward compatible)" if m["backward_compatible"] else " (contract)")
        for m in found.pending
    )
    console.print(
        f"schema: at {','.join(found.schema_current) or 'no revision'}; {found.schema_decision}"
        f"{': ' + pending if pending else ''}. {found.schema_message}"
    )
    console.print("nothing was changed (plan only); env values are never shown.")


@app.command("deploy")
def deploy(
    environment: str = typer.Argument(..., help="dev, staging, prod, or a lab's name."),
    version: str = typer.Option(..., "--version", help="Release X.Y.Z (or X.Y.Z-rc.N)."),
    artifact: Path = typer.Option(
        None, "--artifact", help="The bundle (default dist/voicenote-api-X.Y.Z.tar.gz)."
    ),
    batch_size: int = typer.Option(1, "--batch-size", help="App hosts switched at a time."),
    stop_previous: bool = typer.Option(
        False, "--stop-previous", help="Stop the previous color once the switch is verified."
    ),
    lock_wait: int = LOCK_WAIT,
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="Ansible's verbosity (-vvvv: the most)."
    ),
    override_promotion: str = typer.Option(
        "",
        "--override-promotion",
        help="Deploy a release that never passed its promotion source; the reason is recorded.",
    ),
    ignore_alerts: str = typer.Option(
        "",
        "--ignore-alerts",
        help="Deploy while a critical alert fires (or no alert can be read); the reason is "
        "recorded.",
    ),
    take_over: bool = TAKE_OVER,
    watch: int = typer.Option(
        None,
        "--watch",
        help="Seconds to watch the new color's 5xx, latency and /ready after the switch and "
        "switch back on a breach (default: the inventory's voicenote_watch_seconds).",
    ),
    plan_only: bool = typer.Option(
        False, "--plan", help="Show what the deploy would change; touch nothing."
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Install the release beside the running one, migrate once, switch host by host."""
    request = service.prepare(
        environment, version, artifact,
        stop_previous=stop_previous, batch_size=batch_size, lock_wait=lock_wait,
        verbosity=verbose, override_promotion=override_promotion, ignore_alerts=ignore_alerts,
        watch_seconds=watch, take_over=take_over,
    )  # fmt: skip
    if plan_only:
        show_plan(request, json_output)
        return
    requests.consent(request.environment, f"Deploy {version}", yes, typer.confirm)
    with live_progress(f"deploy {version} to {request.environment.name}", "deploy") as on_progress:
        result = service.deploy(request, on_progress, show_output if verbose else None)
    if json_output:
        print_json(
            {"environment": request.environment.name, "version": version, **result.to_json()}
        )
    else:
        show_run(f"deploy {version} to {request.environment.name}", result)
    show_fleet_if_interrupted(request.environment, result)
    error = failure_of(f"The deploy of {version}", result)
    if error:
        raise error
    if not json_output:
        console.print(f"{request.environment.name} serves {version}.")
