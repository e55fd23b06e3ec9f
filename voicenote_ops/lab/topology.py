"""Which hosts a lab has and which inventory groups (`lb`, `app`, `db`) each belongs to."""

from dataclasses import dataclass
from enum import StrEnum

from voicenote_ops.errors import InvalidInput

MAX_APP_HOSTS = 16


class Topology(StrEnum):
    PROD = "prod"
    SINGLE = "single"


class HostImage(StrEnum):
    """What a lab's hosts start from: `bare`, a minimal cloud VM (Debian, sshd, sudo, Python),
    as a new server is; `packages`, that plus the Debian packages its roles install, baked once
    per hash of those roles (voicenote_ops/lab/bake.py); provision configures both alike."""

    BARE = "bare"
    PACKAGES = "packages"


@dataclass(frozen=True)
class HostSpec:
    name: str
    groups: tuple[str, ...]

    @property
    def is_lb(self) -> bool:
        return "lb" in self.groups


def hosts_for(topology: Topology, app_hosts: int = 2) -> tuple[HostSpec, ...]:
    """`prod`: lb1, app1..appN, db1. `single`: one host in every group."""
    if topology is Topology.SINGLE:
        return (HostSpec("node1", ("lb", "app", "db")),)
    if not 1 <= app_hosts <= MAX_APP_HOSTS:
        raise InvalidInput(
            f"--app-hosts must be between 1 and {MAX_APP_HOSTS}, not {app_hosts}.",
            "Pick a smaller number: lab hosts share this machine's cores.",
        )
    apps = tuple(HostSpec(f"app{index}", ("app",)) for index in range(1, app_hosts + 1))
    return (HostSpec("lb1", ("lb",)), *apps, HostSpec("db1", ("db",)))
