"""Provisioned-host images: the lab's base image with the Debian packages of a host's roles
baked in by playbooks/image.yml, as a cloud team bakes a machine image.

Provisioning a host from scratch spends most of its time in apt-get; a lab made with
`--image packages` starts each host from the image of its roles, and provision then runs every
role as on any host (it configures everything; its installs find the packages there). One image
per set of roles: the roles every host gets, plus nginx for app and lb hosts, plus postgresql and
redis for db hosts, plus all three for a single host, plus the monitoring roles for the monitoring
host. Each is tagged with a hash of the base image, image.yml and every file of its roles: a
change to one role rebuilds the images that hold it and no other.
"""

import fcntl
import hashlib
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from voicenote_ops.errors import NeedsAttention
from voicenote_ops.lab import podman
from voicenote_ops.lab.hosts import container_name, down, start_hosts
from voicenote_ops.lab.inventory import HostAddress, hosts_document, known_hosts_text
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.lab.topology import DEFAULT_HOST_MEMORY, HostSpec, Topology, hosts_for
from voicenote_ops.paths import project_dir, state_dir
from voicenote_ops.runner import PlaybookRun, run_playbook

PLAYBOOK = "image.yml"
LABEL_ROLES = "io.voicenote-ops.baked-roles"
# What a bake leaves out of the image: what makes a host this host (its keys and identity, set
# by `lab up` per host), and what the bake itself wrote (logs, the builder's facts).
CLEANUP = (
    "rm -f /etc/ssh/ssh_host_* /home/deploy/.ssh/authorized_keys /var/lib/dbus/machine-id"
    " && : > /etc/machine-id && rm -rf /var/log/journal/* /tmp/* /var/tmp/*"
)


def image_roles() -> dict[str, list[str]]:
    """Which roles install packages on a host of each group: image.yml's own table."""
    (play,) = yaml.safe_load((project_dir() / "playbooks" / PLAYBOOK).read_text())
    return play["vars"]["voicenote_image_roles"]


def roles_for(groups: tuple[str, ...]) -> tuple[str, ...]:
    """The roles whose packages a host of these groups gets, in image.yml's order."""
    table = image_roles()
    wanted = [*table["all"], *(role for group in groups for role in table.get(group, []))]
    return tuple(dict.fromkeys(wanted))


def digest(base_tag: str, roles: tuple[str, ...]) -> str:
    """A hash of everything that makes the image: the base image, image.yml, the roles' files."""
    sha = hashlib.sha256(base_tag.encode())
    project = project_dir()
    sources = [project / "playbooks" / PLAYBOOK]
    for role in roles:
        sources += sorted(path for path in (project / "roles" / role).rglob("*") if path.is_file())
    for path in sources:
        sha.update(b"\0" + str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()[:12]


def image_tag(base_tag: str, roles: tuple[str, ...]) -> str:
    repository, _, suite = base_tag.partition(":")
    return f"{repository}:{suite.split('-')[0]}-{'-'.join(roles)}-{digest(base_tag, roles)}"


def ensure_packages_image(
    base_tag: str, groups: tuple[str, ...], progress: Callable[[str], None] = lambda _: None
) -> str:
    """The tag of the image for a host of these groups, baked first if it is not there; one bake
    of an image at a time on this machine (a second caller waits, then finds it)."""
    roles = roles_for(groups)
    tag = image_tag(base_tag, roles)
    lock_path = Path(tempfile.gettempdir()) / f"voicenote-ops-bake-{tag.rsplit('-', 1)[1]}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        code, _ = podman.run(["podman", "image", "exists", tag], check=False)
        if code != 0:
            progress(f"bake {tag} (once per change of its roles)")
            _bake(base_tag, groups, tag)
            _remove_older(roles, tag)
    return tag


def ensure_every_packages_image(
    base_tag: str, progress: Callable[[str], None] = lambda _: None
) -> list[str]:
    """The image of every kind of host the topologies have (the extra hosts too), each
    baked if it is not there; the bakes run at once (each mostly waits on downloads and dpkg)."""
    groups_of = {
        spec.groups
        for topology in Topology
        for spec in hosts_for(topology, monitoring=True, registry=True)
    }
    kinds = {roles_for(groups): groups for groups in sorted(groups_of)}.values()
    with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
        tags = pool.map(lambda groups: ensure_packages_image(base_tag, groups, progress), kinds)
        return sorted(set(tags))


def _bake(base_tag: str, groups: tuple[str, ...], tag: str) -> None:
    """Start one host of the groups from the base image in a builder lab of its own, run
    image.yml on it, clean it of what is its own, stop it and commit it as the image."""
    builder = f"bake-{tag.rsplit('-', 1)[1]}"
    spec = HostSpec("node1", groups)
    down(builder)  # a killed bake's leftovers
    try:
        hosts, host_keys = start_hosts(builder, (spec,), {spec.name: base_tag}, DEFAULT_HOST_MEMORY)
        files = LabFiles(builder)
        address = HostAddress(spec, hosts[0].ssh_port or 0, hosts[0].private_address or "")
        files.inventory_dir.mkdir(parents=True, exist_ok=True)
        files.hosts_file.write_text(yaml.safe_dump(hosts_document(files, [address])))
        files.known_hosts.write_text(known_hosts_text([address], host_keys))
        log = state_dir() / f"{builder}.log"
        with log.open("w") as out:
            result = run_playbook(
                PlaybookRun(PLAYBOOK, (files.hosts_file,)),
                on_output=lambda text: print(text, file=out),
            )
        if not result.succeeded:
            raise NeedsAttention(f"Baking the image {tag} failed.", f"See {log}.")
        container = container_name(builder, spec.name)
        podman.run(["podman", "exec", container, "sh", "-c", CLEANUP])
        podman.run(["podman", "stop", "-t", "30", container])
        podman.run(
            ["podman", "commit", "--quiet",
             "--change", f"LABEL {LABEL_ROLES}={'+'.join(roles_for(groups))}",
             container, tag]
        )  # fmt: skip
        log.unlink()
    finally:
        down(builder)


def _remove_older(roles: tuple[str, ...], current: str) -> None:
    """Images of the same roles from before a change: removed, unless a lab's host uses one."""
    _, out = podman.run(
        ["podman", "images", "--filter", f"label={LABEL_ROLES}={'+'.join(roles)}",
         "--format", "{{.Repository}}:{{.Tag}}"]
    )  # fmt: skip
    for older in set(out.split()) - {current}:
        podman.run(["podman", "rmi", older], check=False)
