"""A lab's files on the controller: SSH keys, pinned host keys, inventory, recorded choices."""

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from voicenote_ops.lab.topology import Topology
from voicenote_ops.paths import state_dir


@dataclass(frozen=True)
class LabSettings:
    """What `lab up` was asked for; a second `lab up` without options keeps it."""

    topology: Topology
    app_hosts: int
    like: str


class LabFiles:
    def __init__(self, name: str) -> None:
        self.name = name
        self.root = state_dir() / "labs" / name

    @property
    def settings_file(self) -> Path:
        return self.root / "lab.json"

    @property
    def private_key(self) -> Path:
        return self.root / "ssh" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "ssh" / "known_hosts"

    @property
    def inventory_dir(self) -> Path:
        return self.root / "inventory"

    @property
    def hosts_file(self) -> Path:
        return self.inventory_dir / "hosts.yml"

    def host_key(self, host: str) -> Path:
        return self.root / "hostkeys" / host / "ssh_host_ed25519_key"

    def exists(self) -> bool:
        return self.hosts_file.is_file()

    def read_settings(self) -> LabSettings | None:
        if not self.settings_file.is_file():
            return None
        data = json.loads(self.settings_file.read_text())
        return LabSettings(Topology(data["topology"]), int(data["app_hosts"]), data["like"])

    def write_settings(self, settings: LabSettings) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.settings_file.write_text(json.dumps(asdict(settings), indent=2) + "\n")

    def ensure_key(self, path: Path, comment: str) -> str:
        """Create an ed25519 key pair once; return the public key line."""
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                check=True,
                capture_output=True,
            )
        return path.with_suffix(".pub").read_text().strip()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def known_lab_names() -> list[str]:
    labs = state_dir() / "labs"
    if not labs.is_dir():
        return []
    return sorted(path.name for path in labs.iterdir() if LabFiles(path.name).exists())
