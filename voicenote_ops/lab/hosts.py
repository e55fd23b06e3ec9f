"""A lab's hosts as podman containers: names, fixed addresses, creation from an image with the
host's own SSH key, status, and waiting for sshd."""

import io
import ipaddress
import json
import socket
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.errors import NeedsAttention
from voicenote_ops.lab import podman, prereqs
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.lab.topology import HostSpec

SSH_READY_SECONDS = 90


def container_name(lab: str, host: str) -> str:
    return f"vnops-{lab}-{host}"


def network_name(lab: str) -> str:
    return f"vnops-{lab}"


def host_address(subnet: str, host: str) -> str:
    """A fixed address per host name, as real servers keep theirs across reboots (nginx,
    PostgreSQL and Redis bind to it): lb1 .10, node1 .11, db1 .20, mon1 .30, reg1 .40,
    appN .100+N."""
    fixed = {"lb1": 10, "node1": 11, "db1": 20, "mon1": 30, "reg1": 40}
    offset = fixed.get(host) or 100 + int(host.removeprefix("app"))
    return str(ipaddress.ip_network(subnet)[offset])


def create_argv(
    lab: str, spec: HostSpec, image_tag: str, address: str, memory: str | None
) -> list[str]:
    """A systemd host on the lab's own network, reachable only via 127.0.0.1 ports, within a
    memory limit of its own (None: none, for hosts of labs made before limits)."""
    published = (
        ["22"]
        + (["80", "443"] if spec.is_lb else [])
        + ([REGISTRY_PORT] if "registry" in spec.groups else [])
    )
    argv = [
        "podman", "create",
        "--name", container_name(lab, spec.name),
        "--hostname", spec.name,
        "--network", network_name(lab),
        "--ip", address,
        "--network-alias", spec.name,
        "--label", f"{podman.LABEL_LAB}={lab}",
        "--label", f"{podman.LABEL_HOST}={spec.name}",
        "--label", f"{podman.LABEL_GROUPS}={','.join(spec.groups)}",
        # systemd units with sandboxing need these two; never --privileged (clock, devices).
        "--systemd", "always", "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE",
    ]  # fmt: skip
    if "app" in spec.groups:
        # The image runtime (roles/containers) runs podman inside the host: its network
        # namespaces, fuse-overlayfs and slirp need these (docs/images.md).
        argv += CONTAINER_HOST_ARGV
    if memory:
        # Swap as large as the memory: the limit is the host's whole memory, as on a server whose
        # RAM is all it has; a process beyond it is killed inside the host, not the machine.
        argv += ["--memory", memory, "--memory-swap", memory]
    for port in published:
        argv += ["--publish", f"127.0.0.1::{port}"]
    return [*argv, image_tag, "/sbin/init"]


def _keys_archive(host_key: Path, authorized_key: str) -> bytes:
    """Files copied into a new host before its first boot (podman cp makes them root's)."""
    buffer = io.BytesIO()
    entries = [
        ("etc/ssh/ssh_host_ed25519_key", host_key.read_bytes(), 0o600),
        ("etc/ssh/ssh_host_ed25519_key.pub", host_key.with_suffix(".pub").read_bytes(), 0o644),
        ("home/deploy/.ssh/authorized_keys", (authorized_key + "\n").encode(), 0o644),
    ]
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# What an app host needs to run podman itself (the image runtime), never --privileged.
CONTAINER_HOST_ARGV = [
    "--cap-add", "NET_ADMIN", "--device", "/dev/fuse", "--device", "/dev/net/tun",
    "--sysctl", "net.ipv4.conf.default.route_localnet=1",
]  # fmt: skip

# The registry's port (roles/registry), published for pushes from this machine.
REGISTRY_PORT = "5000"


@dataclass
class HostStatus:
    name: str
    groups: list[str]
    state: str
    ssh_port: int | None
    private_address: str | None
    http_port: int | None = None
    https_port: int | None = None
    registry_port: int | None = None


def _published(ports: dict, container_port: str) -> int | None:
    bindings = ports.get(f"{container_port}/tcp") or []
    return int(bindings[0]["HostPort"]) if bindings else None


def _inspect(lab: str) -> list[dict]:
    _, names = podman.run(
        ["podman", "ps", "-a", "--filter", f"label={podman.LABEL_LAB}={lab}", "--format",
         "{{.Names}}"]
    )  # fmt: skip
    if not names.split():
        return []
    _, out = podman.run(["podman", "inspect", "--type", "container", *names.split()])
    return json.loads(out)


def _host_status(lab: str, container: dict) -> HostStatus:
    labels = container["Config"]["Labels"]
    settings = container["NetworkSettings"]
    ports = settings.get("Ports") or {}
    network = (settings.get("Networks") or {}).get(network_name(lab)) or {}
    return HostStatus(
        name=labels[podman.LABEL_HOST],
        groups=labels[podman.LABEL_GROUPS].split(","),
        state=container["State"]["Status"],
        ssh_port=_published(ports, "22"),
        private_address=network.get("IPAddress") or None,
        http_port=_published(ports, "80"),
        https_port=_published(ports, "443"),
        registry_port=_published(ports, REGISTRY_PORT),
    )


def host_statuses(lab: str) -> list[HostStatus]:
    """The lab's hosts as podman sees them, by name."""
    return sorted((_host_status(lab, c) for c in _inspect(lab)), key=lambda h: h.name)


def _wait_for_sshd(port: int, deadline: float) -> bool:
    """True once the port answers with an SSH banner (a published port accepts before sshd)."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.settimeout(2)
                if conn.recv(4).startswith(b"SSH-"):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def start_hosts(
    lab: str,
    wanted: tuple[HostSpec, ...],
    images: dict[str, str],
    memory: str | None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[HostStatus], dict[str, str]]:
    """Create and start the lab's hosts (each from its image, within the memory limit, with its
    own host key and the lab's login key), remove hosts it no longer has, and wait for every
    sshd; return the hosts' status and each host's public host key."""
    files = LabFiles(lab)
    authorized_key = files.ensure_key(files.private_key, f"voicenote-ops lab {lab}")
    existing = {c["Config"]["Labels"][podman.LABEL_HOST]: c for c in _inspect(lab)}
    for name in sorted(set(existing) - {spec.name for spec in wanted}):
        progress(f"remove {name}")
        podman.run(["podman", "rm", "-f", "-t", "0", container_name(lab, name)])
    code, _ = podman.run(["podman", "network", "exists", network_name(lab)], check=False)
    if code != 0:
        podman.run(
            ["podman", "network", "create", "--label", f"{podman.LABEL_LAB}={lab}",
             network_name(lab)]
        )  # fmt: skip
    _, network = podman.run(["podman", "network", "inspect", network_name(lab)])
    subnet = json.loads(network)[0]["subnets"][0]["subnet"]
    host_keys = {}
    for spec in wanted:
        host_keys[spec.name] = files.ensure_key(files.host_key(spec.name), spec.name)
        container = container_name(lab, spec.name)
        if spec.name not in existing:
            progress(f"create {spec.name}")
            address = host_address(subnet, spec.name)
            podman.run(create_argv(lab, spec, images[spec.name], address, memory))
            archive = _keys_archive(files.host_key(spec.name), authorized_key)
            podman.run(["podman", "cp", "-", f"{container}:/"], stdin=archive)
        if spec.name not in existing or existing[spec.name]["State"]["Status"] != "running":
            progress(f"start {spec.name}")
            podman.run(["podman", "start", container])

    current = host_statuses(lab)
    deadline = time.monotonic() + SSH_READY_SECONDS
    for host in current:
        progress(f"wait for sshd on {host.name}")
        if host.ssh_port is None or not _wait_for_sshd(host.ssh_port, deadline):
            raise NeedsAttention(
                f"Lab host {host.name} did not start sshd within {SSH_READY_SECONDS} s.",
                f"Look at `podman logs {container_name(lab, host.name)}`.",
            )
    return current, host_keys


def running_labs() -> list[str]:
    _, out = podman.run(
        ["podman", "ps", "-a", "--filter", f"label={podman.LABEL_LAB}", "--format",
         f'{{{{index .Labels "{podman.LABEL_LAB}"}}}}']
    )  # fmt: skip
    return sorted(set(out.split()))


def down(lab: str | None) -> list[str]:
    """Remove a lab (or, with None, every lab) found by label; no lab is not an error."""
    prereqs.require_podman()
    selector = f"{podman.LABEL_LAB}={lab}" if lab else podman.LABEL_LAB
    labs = [lab] if lab else running_labs()
    _, containers = podman.run(["podman", "ps", "-aq", "--filter", f"label={selector}"])
    if containers.split():
        podman.run(["podman", "rm", "-f", "-t", "0", *containers.split()])
    _, networks = podman.run(["podman", "network", "ls", "-q", "--filter", f"label={selector}"])
    if networks.split():
        podman.run(["podman", "network", "rm", "-f", *networks.split()])
    for name in labs:
        LabFiles(name).remove()
    return labs
