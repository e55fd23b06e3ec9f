"""`voicenote-ops lab ...`: real Debian hosts as podman containers on this machine."""

import os

import typer
from rich.table import Table

from voicenote_ops.cli.output import console, err_console, print_json
from voicenote_ops.lab import bake, hosts, image, prereqs, service
from voicenote_ops.lab.topology import DEFAULT_HOST_MEMORY, HostImage, Runtime, Topology

app = typer.Typer(help="Lab of real Debian 12 hosts (podman + systemd) reached over SSH.")

NAME = typer.Option(service.DEFAULT_LAB, "--name", help="Which lab (several can run side by side).")


def _progress(step: str) -> None:
    err_console.print(f"[dim]lab: {step}[/dim]")


def _show(status: service.LabStatus) -> None:
    table = Table(title=f"lab {status.name}", title_justify="left")
    for column in ("host", "groups", "state", "ssh", "http", "https", "address"):
        table.add_column(column)
    for host in status.hosts:
        table.add_row(
            host.name,
            ",".join(host.groups),
            host.state,
            f"127.0.0.1:{host.ssh_port}" if host.ssh_port else "-",
            f"127.0.0.1:{host.http_port}" if host.http_port else "-",
            f"127.0.0.1:{host.https_port}" if host.https_port else "-",
            host.private_address or "-",
        )
    console.print(table)
    if status.inventory:
        console.print(f"inventory: {status.inventory}")


@app.command()
def up(
    name: str = NAME,
    topology: Topology = typer.Option(None, help="prod: lb1, app1..N, db1; single: one host."),
    app_hosts: int = typer.Option(None, "--app-hosts", help="App hosts in prod (default 2)."),
    like: str = typer.Option(None, help="Take the variables and rules of this environment."),
    image_kind: HostImage = typer.Option(
        None,
        "--image",
        help="bare: a new server (the default); packages: with its roles' Debian packages baked in "
        "(built once per change of those roles), for a faster first provision.",
    ),
    monitoring: bool = typer.Option(
        None,
        "--monitoring/--no-monitoring",
        help="Add (or remove) mon1, the host of the `monitoring` group: Prometheus, Alertmanager.",
    ),
    registry: bool = typer.Option(
        None,
        "--registry/--no-registry",
        help="Add (or remove) reg1, the host of the `registry` group: the image registry "
        "(docs/images.md).",
    ),
    runtime: Runtime = typer.Option(
        None,
        "--runtime",
        help="How the app hosts run releases (voicenote_runtime): bundle (a venv) or image "
        "(podman, from the registry; needs --registry). Default: the environment's own.",
    ),
    host_memory: str = typer.Option(
        None,
        "--host-memory",
        metavar="SIZE",
        help=f"Memory limit of each host, as podman's --memory takes it (default "
        f"{DEFAULT_HOST_MEMORY}); fixed when the lab is made.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Start the lab's hosts (again: no change), write its inventory and pinned host keys."""
    status = service.up(
        name,
        topology,
        app_hosts,
        like,
        progress=_progress,
        image_kind=image_kind,
        monitoring=monitoring,
        host_memory=host_memory,
        registry=registry,
        runtime=runtime,
    )
    print_json(status.to_json()) if json_output else _show(status)


@app.command()
def down(
    name: str = NAME,
    all_labs: bool = typer.Option(False, "--all", help="Every lab, found by label."),
) -> None:
    """Remove the lab's containers, network and files; no lab is not an error."""
    removed = hosts.down(None if all_labs else service.check_lab_name(name))
    console.print(f"removed: {', '.join(removed) or 'nothing'}")


@app.command()
def status(
    name: str = typer.Option(None, "--name", help="One lab (default: every lab)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Hosts, states and the 127.0.0.1 ports that reach them."""
    prereqs.require_podman()
    names = [service.check_lab_name(name)] if name else hosts.running_labs()
    labs = [service.status(lab) for lab in names]
    if json_output:
        print_json({"labs": [lab.to_json() for lab in labs]})
        return
    if not labs:
        console.print("no lab is running.")
    for lab in labs:
        _show(lab)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh(
    ctx: typer.Context,
    host: str = typer.Argument(..., help="lb1, app1, db1, node1, ..."),
    name: str = NAME,
) -> None:
    """Open a shell on a lab host as the deploy user (extra words run as a command)."""
    argv = service.ssh_argv(service.check_lab_name(name), host, list(ctx.args))
    os.execvp(argv[0], argv)  # noqa: S606 # nosec B606 - hand the terminal to ssh


@app.command("image")
def build_image(
    rebuild: bool = typer.Option(False, help="Build the base image even if cached."),
    packages: bool = typer.Option(
        False, "--packages", help="Also bake each kind of host's image (lab up --image packages)."
    ),
) -> None:
    """Build (or find cached) the lab's Debian 12 base image, and the baked ones if asked."""
    prereqs.require_podman()
    base = image.ensure_image(rebuild=rebuild)
    console.print(base)
    if packages:
        for tag in bake.ensure_every_packages_image(base, progress=_progress):
            console.print(tag)


@app.command("prereqs")
def install_prereqs() -> None:
    """Install what the lab needs on this machine (podman, runc, iptables, debootstrap)."""
    prereqs.install(progress=_progress)
    console.print("lab prerequisites are installed.")
