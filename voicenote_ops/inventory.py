"""The shape every environment's hosts.yml must have, checked before any host is contacted:
the groups lb, app and db, each with at least one host, and no key Ansible would ignore."""

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from voicenote_ops.errors import InvalidInput

REQUIRED_GROUPS = ("lb", "app", "db")
# The optional group whose hosts run Prometheus and Alertmanager (docs/monitoring.md).
MONITORING_GROUP = "monitoring"
# The optional group of the image registry hosts push to and hosts pull from (docs/images.md).
REGISTRY_GROUP = "registry"
# An environment's secrets, encrypted with ansible-vault: ENV.vault.yml beside its inventory
# folder ENV/, not inside it (Ansible reads every file of an inventory folder as inventory) nor in
# its group_vars (reading the inventory, as ansible-inventory and an AWX inventory sync do, would
# then need the vault password). The playbooks load it (playbooks/secrets.yml, docs/secrets.md).
VAULT_SUFFIX = ".vault.yml"


def vault_file(inventory: Path) -> Path:
    return inventory.with_name(inventory.name + VAULT_SUFFIX)


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hosts: dict[str, dict[str, Any] | None] | None = None
    vars: dict[str, Any] | None = None
    children: dict[str, "Group | None"] | None = None

    def all_hosts(self) -> set[str]:
        found = set((self.hosts or {}).keys())
        for child in (self.children or {}).values():
            if child is not None:
                found |= child.all_hosts()
        return found


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all: Group

    def hosts_of(self, group: str) -> set[str]:
        found = (self.all.children or {}).get(group)
        return found.all_hosts() if found is not None else set()


def _where(error: ValidationError) -> str:
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"unknown key {path}"
    return f"{path}: {first['msg']}"


def check_inventory(hosts_file: Path) -> Inventory:
    try:
        document = yaml.safe_load(hosts_file.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InvalidInput(f"{hosts_file} cannot be read as YAML ({error}).") from None
    try:
        inventory = Inventory.model_validate(document)
    except ValidationError as error:
        raise InvalidInput(
            f"{hosts_file} is not a valid inventory ({_where(error)}).",
            "Keep the layout all: children: lb/app/db: hosts: ...",
        ) from None
    for name in REQUIRED_GROUPS:
        if not inventory.hosts_of(name):
            raise InvalidInput(
                f"{hosts_file} has no host in group {name!r}.",
                f"Add one under all: children: {name}: hosts:.",
            )
    return inventory
