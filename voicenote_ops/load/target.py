"""Where a load may go: only a running lab's load balancer, on its 127.0.0.1 HTTPS port."""

from voicenote_ops.environments import Kind, resolve
from voicenote_ops.errors import InvalidInput
from voicenote_ops.lab import service as lab_service
from voicenote_ops.load.generator import Target

LOOPBACK = "127.0.0.1"


def lab_target(name: str) -> Target:
    """The load balancer of lab `name`; any other environment is refused before any traffic."""
    environment = resolve(name)
    if environment.kind is not Kind.LAB:
        raise InvalidInput(
            f"{name} is not a lab, and load is only ever sent to a lab's load balancer.",
            "Name a running lab (voicenote-ops lab status).",
        )
    balancers = [
        host
        for host in lab_service.status(name).hosts
        if "lb" in host.groups and host.state == "running" and host.https_port
    ]
    if not balancers:
        raise InvalidInput(
            f"Lab {name} has no running load balancer with a published HTTPS port.",
            f"Start it again with voicenote-ops lab up --name {name}.",
        )
    return Target(LOOPBACK, balancers[0].https_port)
