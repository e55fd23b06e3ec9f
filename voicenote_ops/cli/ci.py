"""`voicenote-ops ci ...`: what CI needs from the tool, so workflows hold no logic of their own."""

import dataclasses
import os
from pathlib import Path

import typer

from voicenote_ops import rules
from voicenote_ops.cli.output import console, print_json
from voicenote_ops.paths import project_dir
from voicenote_ops.services import ci, requests

app = typer.Typer(
    help="What CI workflows ask the tool: which deploy a ref triggers, secrets, playbook variables."
)


@app.command("resolve")
def resolve(
    ref: str = typer.Option(..., "--ref", help="The pushed ref, e.g. refs/heads/develop."),
    run_number: int = typer.Option(
        None, "--run-number", min=1, help="The CI run number: N of dev and staging X.Y.Z-rc.N."
    ),
    last_release: str = typer.Option(
        None,
        "--last-release",
        help="The newest release X.Y.Z (default: the newest vX.Y.Z tag of the checkout).",
    ),
    github_output: Path = typer.Option(
        None,
        "--github-output",
        dir_okay=False,
        help="Also append environment=, version= and runtime= lines here (GitHub: $GITHUB_OUTPUT).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Which environment a ref deploys and at which version; other refs: none, and why."""
    # A typed --last-release is checked before anything else, even when this ref needs none.
    given = ci.parse_release(last_release) if last_release is not None else None
    resolution = ci.resolve_ref(
        ref,
        run_number,
        lambda: given if given is not None else ci.newest_release(ci.git_tags(project_dir())),
    )
    if resolution.environment:
        resolution = dataclasses.replace(
            resolution,
            runtime=requests.runtime(project_dir() / "inventories" / resolution.environment),
        )
    if github_output is not None:
        ci.append_github_outputs(resolution, github_output)
    if json_output:
        print_json(resolution.to_json())
        return
    deploys = f"{resolution.environment} {resolution.version}" if resolution.environment else None
    console.print(
        f"{deploys or 'no deploy'}: {resolution.reason}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command("write-secret")
def write_secret(
    variable: str = typer.Argument(..., help="The environment variable holding the secret."),
    destination: Path = typer.Argument(..., dir_okay=False, help="The file to write (0600)."),
) -> None:
    """Write a secret from an environment variable to a private file (never via argv)."""
    ci.write_secret(os.environ.get(variable), variable, destination)
    console.print(f"wrote {variable} to {destination} (0600).", markup=False, highlight=False)


@app.command("vars")
def playbook_vars(
    out: Path = typer.Option(
        ..., "--out", help="The vars file to write (0600): a new path or a regular file."
    ),
    version: str = typer.Option(None, "--version", help="voicenote_version: X.Y.Z (-rc.N)."),
    artifact: str = typer.Option(None, "--artifact", help="voicenote_artifact: the bundle."),
    artifact_signature: str = typer.Option(
        None, "--artifact-signature", help="voicenote_artifact_signature (default: bundle + .sig)."
    ),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="voicenote_batch_size."),
    stop_previous: bool = typer.Option(
        False, "--stop-previous", help="voicenote_stop_previous: true."
    ),
    lock_wait: int = typer.Option(None, "--lock-wait", min=0, help="voicenote_lock_wait."),
    watch: int = typer.Option(
        None,
        "--watch",
        min=0,
        max=rules.watch_seconds_max(),
        help=f"voicenote_watch_seconds (0 to {rules.watch_seconds_max()}).",
    ),
    override_promotion: str = typer.Option(
        None, "--override-promotion", help="voicenote_promotion_override: the recorded reason."
    ),
    rollback_to: str = typer.Option(None, "--rollback-to", help="voicenote_rollback_to."),
    downgrade: bool = typer.Option(False, "--downgrade", help="voicenote_allow_downgrade: true."),
    take_over: bool = typer.Option(
        False, "--take-over", help="voicenote_lock_take_over: true (recorded in the audit trail)."
    ),
    hooks: list[str] = typer.Option(
        [], "--hook", help="voicenote_hooks: PHASE=FILE, e.g. before_upload=hooks/backup.yml."
    ),
    allow_server_restart: bool = typer.Option(
        False, "--allow-server-restart", help="voicenote_allow_server_restart: true (provision)."
    ),
    ignore_alerts: str = typer.Option(
        None, "--ignore-alerts", help="voicenote_ignore_alerts_reason: the reason (deploy.yml)."
    ),
) -> None:
    """Write extra vars for `ansible-playbook ... -e @FILE` that Ansible never templates."""
    request = ci.PlaybookVars(
        version, artifact, artifact_signature, batch_size, stop_previous, lock_wait, watch,
        override_promotion, rollback_to, downgrade, take_over, tuple(hooks),
        allow_server_restart, ignore_alerts,
    )  # fmt: skip
    written = ci.write_playbook_vars(request, out)
    console.print(
        f"wrote {', '.join(written) or 'no variables'} to {out} (0600); "
        f"pass it as ansible-playbook ... -e @{out}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
