"""A lab's files on the controller: SSH keys, pinned host keys, inventory, recorded choices."""

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from voicenote_ops.errors import NeedsAttention
from voicenote_ops.files import read_json_as, read_text
from voicenote_ops.lab.topology import MAX_APP_HOSTS, HostImage, Runtime, Topology
from voicenote_ops.paths import state_dir


class _RecordedSettings(BaseModel):
    """lab.json as `lab up` writes it (LabSettings), checked before it is trusted."""

    model_config = ConfigDict(extra="forbid", strict=True)

    topology: Topology = Field(strict=False)
    app_hosts: int = Field(ge=1, le=MAX_APP_HOSTS)
    like: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    # Labs made before images had a choice were made bare.
    image: HostImage = Field(default=HostImage.BARE, strict=False)
    # Labs made before these had no monitoring host, and hosts without a memory limit.
    monitoring: bool = False
    host_memory: str | None = Field(default=None, pattern=r"^[0-9]{1,12}[bkmg]?$")
    # Labs made before it had no registry host.
    registry: bool = False
    # Labs made before it ran their environment's runtime.
    runtime: Runtime | None = Field(default=None, strict=False)


@dataclass(frozen=True)
class LabSettings:
    """What `lab up` was asked for; a second `lab up` without options keeps it (None: not
    asked, in a request; a recorded host_memory of None: hosts made without a limit)."""

    topology: Topology | None
    app_hosts: int | None
    like: str | None
    image: HostImage | None = HostImage.BARE
    monitoring: bool | None = False
    host_memory: str | None = None
    registry: bool | None = False
    # The app's runtime (voicenote_runtime); None: the environment's own (docs/images.md).
    runtime: Runtime | None = None


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
        """What `lab up` recorded, or None before the first; a damaged record is refused."""
        if not self.settings_file.exists() and not self.settings_file.is_symlink():
            return None
        fix = (
            f"Remove the lab with `voicenote-ops lab down --name {self.name}` and make it again "
            "with `voicenote-ops lab up`."
        )
        settings = read_json_as(
            _RecordedSettings,
            self.settings_file,
            f"the settings of lab {self.name}",
            fix,
            written_by="`voicenote-ops lab up`",
            own=True,
        )
        return LabSettings(
            settings.topology,
            settings.app_hosts,
            settings.like,
            settings.image,
            settings.monitoring,
            settings.host_memory,
            settings.registry,
            settings.runtime,
        )

    def write_settings(self, settings: LabSettings) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.settings_file.write_text(json.dumps(asdict(settings), indent=2) + "\n")

    def ensure_key(self, path: Path, comment: str) -> str:
        """Create an ed25519 key pair once; return the public key line."""
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            made = subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if made.returncode != 0:
                detail = (made.stderr.strip().splitlines() or ["no output"])[-1]
                raise NeedsAttention(
                    f"ssh-keygen could not make the key {path} of lab {self.name}: {detail}.",
                    f"Check that this user can write {path.parent}.",
                )
        return read_text(
            path.with_suffix(".pub"),
            f"the public key of lab {self.name}",
            f"Remove the lab with `voicenote-ops lab down --name {self.name}` and make it again.",
            own=True,
        ).strip()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def known_lab_names() -> list[str]:
    labs = state_dir() / "labs"
    if not labs.is_dir():
        return []
    return sorted(path.name for path in labs.iterdir() if LabFiles(path.name).exists())
