"""An environment's vault file, opened and rewritten in memory with its vault password.

The decrypted text never reaches a file, argv, a log or ansible-runner: it is read into memory,
changed there, encrypted again and written beside the file (0600) before it replaces it in one
rename. A lab's vault.yml, a link to the committed test-only vault, is replaced by a file of the
lab's own that way: the committed one is never written.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecret

from voicenote_ops.errors import InvalidInput


def open_vault(password_file: Path) -> VaultLib:
    return VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password_file.read_bytes().strip()))])


def read_vault(path: Path, password_file: Path) -> dict[str, Any]:
    """The variables of a vault-encrypted YAML file."""
    try:
        document = yaml.safe_load(open_vault(password_file).decrypt(path.read_bytes()))
    except (AnsibleError, yaml.YAMLError) as error:
        raise InvalidInput(
            f"{path} could not be opened with the vault password in {password_file} "
            f"({type(error).__name__}).",
            "Use the environment's vault password (VOICENOTE_VAULT_PASSWORD_FILE).",
        ) from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{path} holds no variables.", "Restore it from version control.")
    return document


def write_vault(path: Path, password_file: Path, variables: dict[str, Any]) -> None:
    """Encrypt the variables and put them in place of the file at path, in one rename."""
    text = yaml.safe_dump(variables, default_flow_style=False, sort_keys=False)
    encrypted = open_vault(password_file).encrypt(text.encode())
    # mkstemp makes it 0600; an error (a full disk) is said by errors.from_exception.
    descriptor, temporary = tempfile.mkstemp(prefix=".vault-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(encrypted)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
