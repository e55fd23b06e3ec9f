"""ENV on the command line: a real environment's inventory, or a running lab's."""

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from voicenote_ops.errors import InvalidInput
from voicenote_ops.inventory import (
    MONITORING_GROUP,
    REGISTRY_GROUP,
    Inventory,
    check_inventory,
    vault_file,
)
from voicenote_ops.lab.state import LabFiles, known_lab_names
from voicenote_ops.names import REAL_ENVIRONMENTS, check_name
from voicenote_ops.paths import project_dir
from voicenote_ops.runner import PlaybookRun

# A file holding the vault password (CI writes its secret there); overrides the defaults below.
VAULT_PASSWORD_FILE_ENV = "VOICENOTE_VAULT_PASSWORD_FILE"  # noqa: S105 # nosec B105 - a name
# The lab's vault password is committed and test-only; real environments' never are.
LAB_VAULT_PASSWORD = Path("inventories") / "lab" / "vault-password.txt"


class Kind(StrEnum):
    INVENTORY = "inventory"
    LAB = "lab"


@dataclass(frozen=True)
class Environment:
    name: str
    kind: Kind
    inventory: Path
    # Whose variables and rules apply: the environment itself, or what a lab is `--like`.
    rules: str
    # Whether the inventory has a monitoring host (docs/monitoring.md): its alerts can be read.
    monitored: bool = False
    # Whether it has a registry host (docs/images.md): images can be pushed to it.
    registry: bool = False

    def playbook_run(self, playbook: str, **options: Any) -> PlaybookRun:
        """A run of one of the project's playbooks on this environment, with its vault."""
        return PlaybookRun(
            playbook=playbook,
            inventories=(self.inventory,),
            vault_password_file=self.vault_password_file,
            **options,
        )

    @property
    def vault_file(self) -> Path:
        return vault_file(self.inventory)

    @property
    def vault_password_file(self) -> Path | None:
        """$VOICENOTE_VAULT_PASSWORD_FILE, else the lab's test-only password for a lab, else
        ~/.config/voicenote-ops/<env>.vault-password when it exists."""
        explicit = os.environ.get(VAULT_PASSWORD_FILE_ENV)
        if explicit:
            return Path(explicit)
        if self.kind is Kind.LAB:
            return project_dir() / LAB_VAULT_PASSWORD
        personal = Path.home() / ".config" / "voicenote-ops" / f"{self.name}.vault-password"
        return personal if personal.is_file() else None


def _optional_groups(hosts: Inventory) -> dict[str, bool]:
    return {
        "monitored": bool(hosts.hosts_of(MONITORING_GROUP)),
        "registry": bool(hosts.hosts_of(REGISTRY_GROUP)),
    }


def resolve(name: str) -> Environment:
    check_name("environment", name)
    inventory = project_dir() / "inventories" / name
    if (inventory / "hosts.yml").is_file():
        hosts = check_inventory(inventory / "hosts.yml")
        return Environment(name, Kind.INVENTORY, inventory, name, **_optional_groups(hosts))
    lab = LabFiles(name)
    settings = lab.read_settings()
    if lab.exists() and settings is not None:
        hosts = check_inventory(lab.hosts_file)
        return Environment(
            name, Kind.LAB, lab.inventory_dir, settings.like, **_optional_groups(hosts)
        )
    labs = known_lab_names()
    running = f"; labs: {', '.join(labs)}" if labs else "; no lab is up (voicenote-ops lab up)"
    raise InvalidInput(
        f"Unknown environment {name!r}.",
        f"Known environments: {', '.join(REAL_ENVIRONMENTS)}{running}.",
    )
