"""Lab operations: up (converge to the asked topology), down, status, ssh."""

from collections.abc import Callable
from dataclasses import dataclass, field

from voicenote_ops.errors import InvalidInput
from voicenote_ops.lab import bake, image, prereqs
from voicenote_ops.lab.hosts import HostStatus, host_statuses, start_hosts
from voicenote_ops.lab.inventory import LAB_ENVIRONMENT, HostAddress, write_inventory
from voicenote_ops.lab.state import LabFiles, LabSettings
from voicenote_ops.lab.topology import (
    DEFAULT_HOST_MEMORY,
    HostImage,
    HostSpec,
    Runtime,
    Topology,
    check_host_memory,
    hosts_for,
    memory_bytes,
)
from voicenote_ops.names import REAL_ENVIRONMENTS, check_name
from voicenote_ops.paths import project_dir

DEFAULT_LAB = "lab"


@dataclass
class LabStatus:
    name: str
    hosts: list[HostStatus] = field(default_factory=list)
    settings: LabSettings | None = None
    inventory: str | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "topology": self.settings.topology.value if self.settings else None,
            "like": self.settings.like if self.settings else None,
            "image": self.settings.image.value if self.settings else None,
            "monitoring": self.settings.monitoring if self.settings else None,
            "registry": self.settings.registry if self.settings else None,
            "runtime": self.settings.runtime if self.settings else None,
            "host_memory": self.settings.host_memory if self.settings else None,
            "inventory": self.inventory,
            "hosts": [vars(host) for host in self.hosts],
        }


def status(lab: str) -> LabStatus:
    files = LabFiles(lab)
    hosts = host_statuses(lab)
    return LabStatus(
        name=lab,
        hosts=hosts,
        settings=files.read_settings(),
        inventory=str(files.inventory_dir) if files.exists() else None,
    )


def _settings_for(files: LabFiles, asked: LabSettings) -> LabSettings:
    """What was asked, else what the lab recorded, else the defaults."""
    recorded = files.read_settings()
    asked_memory = check_host_memory(asked.host_memory) if asked.host_memory else None
    if recorded and asked_memory and not _same_size(asked_memory, recorded.host_memory):
        # podman 4.3's `update` changes a running host's limit but not the one it restarts with,
        # so a host keeps the limit it was made with: a lab cannot take another.
        made_with = recorded.host_memory or "no memory limit"
        raise InvalidInput(
            f"Lab {files.name!r} has hosts made with {made_with}, "
            f"not with --host-memory {asked_memory}.",
            f"Leave out --host-memory to keep it, or remove the lab with `voicenote-ops lab down "
            f"--name {files.name}` and make it again with --host-memory {asked_memory}.",
        )
    chosen = LabSettings(
        topology=asked.topology or (recorded.topology if recorded else Topology.PROD),
        app_hosts=asked.app_hosts or (recorded.app_hosts if recorded else 2),
        like=asked.like or (recorded.like if recorded else LAB_ENVIRONMENT),
        image=asked.image or (recorded.image if recorded else HostImage.BARE),
        monitoring=_asked_or_kept(asked.monitoring, recorded and recorded.monitoring),
        host_memory=asked_memory or (recorded.host_memory if recorded else DEFAULT_HOST_MEMORY),
        registry=_asked_or_kept(asked.registry, recorded and recorded.registry),
        runtime=asked.runtime or (recorded.runtime if recorded else None),
    )
    if chosen.runtime == Runtime.IMAGE and not chosen.registry:
        raise InvalidInput(
            f"Lab {files.name!r} cannot run images without a registry host.",
            "Add --registry (hosts pull the app's image from it).",
        )
    inventories = project_dir() / "inventories"
    if not (inventories / chosen.like / "group_vars").is_dir():
        known = sorted(p.name for p in inventories.iterdir() if (p / "group_vars").is_dir())
        raise InvalidInput(
            f"--like {chosen.like!r} names no environment under inventories/.",
            f"Use one of: {', '.join(known)}.",
        )
    return chosen


def _asked_or_kept(asked: bool | None, recorded: bool | None) -> bool:
    """An extra host: as asked (--monitoring, --no-monitoring), else as the lab has it."""
    return asked if asked is not None else bool(recorded)


def _same_size(size: str, other: str | None) -> bool:
    return other is not None and memory_bytes(size) == memory_bytes(other)


def check_lab_name(name: str) -> str:
    check_name("lab", name)
    if name in REAL_ENVIRONMENTS:
        raise InvalidInput(
            f"A lab cannot be named {name!r}: that is a real environment's name.",
            "Pick another --name, e.g. prod-like (and use --like prod for its rules).",
        )
    return name


def _images_for(
    wanted: tuple[HostSpec, ...], kind: HostImage, progress: Callable[[str], None]
) -> dict[str, str]:
    """The image each host starts from: the bare base image, or the one with the packages of the
    host's roles baked in (built once per hash of those roles)."""
    base = image.ensure_image()
    if kind is HostImage.BARE:
        return {spec.name: base for spec in wanted}
    # One hash of the roles' files and one image check per kind of host, not per host.
    kinds = {spec.groups for spec in wanted}
    tags = {groups: bake.ensure_packages_image(base, groups, progress) for groups in kinds}
    return {spec.name: tags[spec.groups] for spec in wanted}


def up(
    lab: str,
    topology: Topology | None = None,
    app_hosts: int | None = None,
    like: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    image_kind: HostImage | None = None,
    monitoring: bool | None = None,
    host_memory: str | None = None,
    registry: bool | None = None,
    runtime: Runtime | None = None,
) -> LabStatus:
    """Converge the lab to the asked hosts; running it again keeps the same hosts (a host
    already made keeps the image and the memory limit it was made with)."""
    check_lab_name(lab)
    files = LabFiles(lab)
    asked = LabSettings(
        topology, app_hosts, like, image_kind, monitoring, host_memory, registry, runtime
    )
    settings = _settings_for(files, asked)
    wanted = hosts_for(
        settings.topology, settings.app_hosts, settings.monitoring, settings.registry
    )
    prereqs.require_podman()
    progress("image")
    images = _images_for(wanted, settings.image, progress)
    current, host_keys = start_hosts(lab, wanted, images, settings.host_memory, progress)
    addresses = [
        HostAddress(spec, host.ssh_port or 0, host.private_address or "", host.registry_port)
        for spec, host in zip(wanted, sorted_like(wanted, current), strict=True)
    ]
    write_inventory(
        files, project_dir() / "inventories", settings.like, addresses, host_keys, settings.runtime
    )
    files.write_settings(settings)
    return status(lab)


def sorted_like(specs: tuple[HostSpec, ...], hosts: list[HostStatus]) -> list[HostStatus]:
    by_name = {host.name: host for host in hosts}
    return [by_name[spec.name] for spec in specs]


def ssh_argv(lab: str, host: str, command: list[str]) -> list[str]:
    files = LabFiles(lab)
    ports = {h.name: h.ssh_port for h in status(lab).hosts}
    if host not in ports or ports[host] is None:
        raise InvalidInput(
            f"Lab {lab!r} has no host {host!r}.",
            f"Known hosts: {', '.join(sorted(ports)) or 'none (run voicenote-ops lab up)'}.",
        )
    return [
        "ssh", "-i", str(files.private_key),
        "-o", f"UserKnownHostsFile={files.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes", "-p", str(ports[host]), "deploy@127.0.0.1", *command,
    ]  # fmt: skip
