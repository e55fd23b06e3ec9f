"""Looking for the lab vault's secrets where they must never be: their values are known only
through the vault, so finding one anywhere is a leak."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import LAB_VAULT, PROJECT


def lab_vault() -> dict:
    """The lab vault's variables, decrypted in memory."""
    decrypted = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-vault"), "view", "--vault-password-file",
         str(PROJECT / "inventories" / "lab" / "vault-password.txt"), str(LAB_VAULT)],
        capture_output=True, check=True,
    )  # fmt: skip
    return yaml.safe_load(decrypted.stdout)


def canaries() -> list[bytes]:
    found = []
    for value in lab_vault().values():
        text = str(value).strip()
        # A multi-line secret (the audit signing key) is also looked for line by line, in case a
        # log escaped its newlines; its armor and first line are the same in every OpenSSH key.
        body = [line for line in text.splitlines() if not line.startswith("-----")]
        parts = [text] if len(body) == 1 else [text, *body[1:]]
        found += [part.encode() for part in parts if len(part) >= 12]
    assert found, "the lab vault holds no secret long enough to look for"
    return found


def files_holding(secrets: list[bytes], *roots: Path) -> list[str]:
    """The regular files under the roots that hold a secret. The walk stays on each root's own
    file system: a folder mounted below one (a killed image build's /proc in its root file
    system, say) is not the controller's files, and reading /proc/kmsg blocks for ever."""
    # os.walk, not rglob: other runs (another test worker's Ansible) remove their temp
    # folders while this walks, and a folder gone mid-walk holds nothing to find.
    hits = []
    for root in roots:
        try:
            device = root.stat().st_dev
        except OSError:
            continue
        for folder, folders, names in os.walk(root):
            folders[:] = [name for name in folders if _on(device, Path(folder, name))]
            for name in names:
                path = Path(folder, name)
                try:
                    info = path.lstat()
                    if info.st_dev != device or not stat.S_ISREG(info.st_mode):
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                hits += [str(path) for s in secrets if s in data]
    return hits


def _on(device: int, path: Path) -> bool:
    """Whether path is on that file system (a path gone meanwhile is not)."""
    try:
        return path.lstat().st_dev == device
    except OSError:
        return False
