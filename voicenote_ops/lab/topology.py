"""Which hosts a lab has, which inventory groups (`lb`, `app`, `db`, `monitoring`, `registry`)
each belongs to, and how much memory each may use."""

import os
import re
from dataclasses import dataclass
from enum import StrEnum

from voicenote_ops.errors import InvalidInput

MAX_APP_HOSTS = 16
# A single host provisioned with both colors of the example app running peaked at 575 MiB, page
# cache included (docs/lab.md, Memory); 1536m is more than twice that, and the limits of three
# prod labs with monitoring (5 hosts each) add up to less than the 24 GiB of that machine.
DEFAULT_HOST_MEMORY = "1536m"
# A floor that catches a slip of the unit (`2` or `2k` for `2g`), not a size to run a host at.
MIN_HOST_MEMORY = "256m"
_SIZE = re.compile(r"^([0-9]{1,12})([bkmg]?)$")
_UNIT_BYTES = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class Topology(StrEnum):
    PROD = "prod"
    SINGLE = "single"


class HostImage(StrEnum):
    """What a lab's hosts start from: `bare`, a minimal cloud VM (Debian, sshd, sudo, Python),
    as a new server is; `packages`, that plus the Debian packages its roles install, baked once
    per hash of those roles (voicenote_ops/lab/bake.py); provision configures both alike."""

    BARE = "bare"
    PACKAGES = "packages"


class Runtime(StrEnum):
    """How the app hosts run a release (voicenote_runtime): from its bundle's venv, or from its
    image, pulled from the registry (docs/images.md)."""

    BUNDLE = "bundle"
    IMAGE = "image"


def memory_bytes(size: str) -> int:
    """A size as podman's --memory takes it (`1536m`, `2g`), in bytes; refused if it is none."""
    match = _SIZE.match(size.strip().lower())
    if not match:
        raise InvalidInput(
            f"--host-memory {size[:40]!r} is not a size in bytes, k, m or g.",
            f"Give a whole number and its unit, e.g. {DEFAULT_HOST_MEMORY} (the default) or 2g.",
        )
    return int(match.group(1)) * _UNIT_BYTES[match.group(2)]


def check_host_memory(size: str) -> str:
    """The size, written as podman takes it, if a lab host can live within it on this machine."""
    written = size.strip().lower()
    wanted = memory_bytes(written)
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if not memory_bytes(MIN_HOST_MEMORY) <= wanted <= machine:
        raise InvalidInput(
            f"--host-memory {written} is outside what a lab host can use: at least "
            f"{MIN_HOST_MEMORY}, at most this machine's {machine // 1024**2}m.",
            f"Pick a size in between, e.g. {DEFAULT_HOST_MEMORY} (the default).",
        )
    return written


@dataclass(frozen=True)
class HostSpec:
    name: str
    groups: tuple[str, ...]

    @property
    def is_lb(self) -> bool:
        return "lb" in self.groups


# Hosts a lab has only when asked, by the group they are the one host of.
EXTRA_HOSTS = {
    "monitoring": HostSpec("mon1", ("monitoring",)),
    "registry": HostSpec("reg1", ("registry",)),
}


def hosts_for(
    topology: Topology, app_hosts: int = 2, monitoring: bool = False, registry: bool = False
) -> tuple[HostSpec, ...]:
    """`prod`: lb1, app1..appN, db1. `single`: one host in the lb, app and db groups. With
    monitoring, mon1 besides in either: Prometheus and Alertmanager on a host of their own, as
    in a real environment, so they keep reporting when the hosts they watch run out of memory
    or go down. With registry, reg1: the image registry the app hosts pull from."""
    asked = {"monitoring": monitoring, "registry": registry}
    watchers = tuple(spec for group, spec in EXTRA_HOSTS.items() if asked[group])
    if topology is Topology.SINGLE:
        return (HostSpec("node1", ("lb", "app", "db")), *watchers)
    if not 1 <= app_hosts <= MAX_APP_HOSTS:
        raise InvalidInput(
            f"--app-hosts must be between 1 and {MAX_APP_HOSTS}, not {app_hosts}.",
            "Pick a smaller number: lab hosts share this machine's cores.",
        )
    apps = tuple(HostSpec(f"app{index}", ("app",)) for index in range(1, app_hosts + 1))
    return (HostSpec("lb1", ("lb",)), *apps, HostSpec("db1", ("db",)), *watchers)
