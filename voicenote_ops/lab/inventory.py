"""The inventory a lab writes: its hosts in the real environments' groups, plus the variables
and rules of the environment it is like (`--like prod`), with the lab's own vault."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from voicenote_ops.inventory import VAULT_SUFFIX, vault_file
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.lab.topology import HostSpec

GROUPS = ("lb", "app", "db", "monitoring", "registry")
LAB_ENVIRONMENT = "lab"
# The release keys a lab trusts: always the lab's test-only key, which signs test bundles.
SIGNERS_FILE = "release-signers.yml"
# The audit key whose signed records promote between labs: the lab's test-only key.
PROMOTION_SIGNERS_FILE = "promotion-signers.yml"
# The image signing keys a lab trusts: the lab's test-only key, which signs test images.
IMAGE_SIGNERS_FILE = "image-signers.yml"
# How podman runs inside a lab host, itself a container (roles/containers).
CONTAINERS_FILE = "containers.yml"
# Written when the lab is made with --runtime: the app's runtime, over the environment's.
RUNTIME_FILE = "zz-lab-runtime.yml"
# group_vars files a lab always takes from inventories/lab, whatever it is like.
LAB_OWN_FILES = (SIGNERS_FILE, PROMOTION_SIGNERS_FILE, IMAGE_SIGNERS_FILE, CONTAINERS_FILE)
# Never linked from another environment's group_vars: a vault left there by an older checkout
# (secrets now live beside hosts.yml) is that environment's, not the lab's.
NOT_LINKED = ("vault.yml",)


@dataclass(frozen=True)
class HostAddress:
    spec: HostSpec
    ssh_port: int
    private_address: str
    # The registry's port as published on 127.0.0.1 (a registry host only).
    registry_port: int | None = None


def hosts_document(lab: LabFiles, hosts: list[HostAddress]) -> dict:
    """The YAML inventory: connection variables per host, so group_vars cannot override them.
    A group without hosts is left out, as a real environment's inventory leaves out what it
    does not have: a lab without monitoring has no `monitoring` group, which is what turns
    monitoring off (docs/monitoring.md)."""
    ssh_args = (
        f"-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes "
        "-o IdentitiesOnly=yes"
    )

    def host_vars(host: HostAddress) -> dict:
        return _registry_names(host) | {
            "ansible_connection": "ssh",
            "ansible_host": "127.0.0.1",
            "ansible_port": host.ssh_port,
            "ansible_user": "deploy",
            "ansible_become": True,
            "ansible_ssh_private_key_file": str(lab.private_key),
            "ansible_ssh_common_args": ssh_args,
            "ansible_python_interpreter": "/usr/bin/python3",
            "voicenote_private_address": host.private_address,
        }

    members = {
        group: {host.spec.name: host_vars(host) for host in hosts if group in host.spec.groups}
        for group in GROUPS
    }
    children = {group: {"hosts": named} for group, named in members.items() if named}
    return {"all": {"vars": {"voicenote_lab_name": lab.name}, "children": children}}


def _registry_names(host: HostAddress) -> dict:
    """A lab's registry is pushed to from this machine through its port published on
    127.0.0.1 (playbooks/push.yml): its certificate names that too (roles/registry)."""
    if "registry" not in host.spec.groups:
        return {}
    return {
        "registry_names": [host.spec.name, "localhost"],
        "registry_addresses": [host.private_address, "127.0.0.1"],
        "registry_push_address": f"localhost:{host.registry_port}",
    }


def known_hosts_text(hosts: list[HostAddress], host_keys: dict[str, str]) -> str:
    return "".join(f"[127.0.0.1]:{host.ssh_port} {host_keys[host.spec.name]}\n" for host in hosts)


def link_group_vars(lab: LabFiles, inventories: Path, like: str) -> None:
    """group_vars of the environment the lab is like, except the release signing key it trusts,
    always the lab's (a lab deploys bundles signed with the lab's test-only key, never with a
    real environment's), and so is the audit key whose signed records it takes as promotion
    evidence (the lab's too). Its vault is the lab's own as well (link_vault)."""
    target = lab.inventory_dir / "group_vars"
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            path.unlink() if path.is_symlink() or path.is_file() else path.rmdir()
        target.rmdir()
    source_root = inventories / like / "group_vars"
    lab_root = inventories / LAB_ENVIRONMENT / "group_vars"
    linked = [(source_root, path) for path in source_root.rglob("*") if path.is_file()]
    if like != LAB_ENVIRONMENT:
        skipped = LAB_OWN_FILES + NOT_LINKED
        linked = [(root, path) for root, path in linked if path.name not in skipped]
        linked += [
            (lab_root, path)
            for name in LAB_OWN_FILES
            for path in lab_root.rglob(name)
            if path.is_file()
        ]
    for root, path in sorted(linked):
        link = target / path.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)


def link_vault(lab: LabFiles, inventories: Path) -> None:
    """The lab's own vault beside its inventory folder: a link to the committed test-only one,
    whatever the lab is like (a real environment's vault password is not the lab's to have).
    Rotating a lab's secret replaces the link by a file of its own (voicenote_ops/vault.py)."""
    link = vault_file(lab.inventory_dir)
    link.unlink(missing_ok=True)
    link.symlink_to(inventories / (LAB_ENVIRONMENT + VAULT_SUFFIX))


def write_inventory(
    lab: LabFiles,
    inventories: Path,
    like: str,
    hosts: list[HostAddress],
    host_keys: dict,
    runtime: str | None = None,
) -> None:
    lab.inventory_dir.mkdir(parents=True, exist_ok=True)
    header = "# Written by `voicenote-ops lab up`; it is rewritten on every `lab up`.\n"
    lab.hosts_file.write_text(header + yaml.safe_dump(hosts_document(lab, hosts), sort_keys=False))
    lab.known_hosts.write_text(known_hosts_text(hosts, host_keys))
    link_group_vars(lab, inventories, like)
    link_vault(lab, inventories)
    if runtime:
        # Read after the environment's own files (Ansible loads them by name): it wins.
        (lab.inventory_dir / "group_vars" / "all" / RUNTIME_FILE).write_text(
            header + yaml.safe_dump({"voicenote_runtime": str(runtime)})
        )
