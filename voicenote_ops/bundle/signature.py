"""Signing a release bundle with `ssh-keygen -Y sign` (BUNDLE.tar.gz.sig beside it, the bundle's
bytes unchanged), and the CLI's check of a signature against an environment's allowed signers
(the rules: voicenote_ops.bundle.signers, shared with the playbooks).

The private key only ever reaches ssh-keygen as a path (`-f`), never an argv, a log or an
artifact; ssh-keygen refuses a key file others may read, so it gets a private 0600 copy."""

import base64
import hashlib
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.bundle import signers
from voicenote_ops.errors import InvalidInput

SIGNING_KEY_ENV = "VOICENOTE_SIGNING_KEY_FILE"
# The lab's signing key is committed and test-only, like its vault password; labs pin its
# public key (inventories/lab/group_vars/all/release-signers.yml), no real environment does.
LAB_SIGNING_KEY = Path("inventories") / "lab" / "release-signing-key"
_KEY_FIX = "Give an OpenSSH private key without a passphrase (docs/app-and-bundles.md, Signing)."
# Far more than any OpenSSH private key (a 16384-bit RSA one is about 13 KiB).
_MAX_KEY_BYTES = 64 * 1024


@dataclass(frozen=True)
class SigningKey:
    """A private key file checked to sign without a passphrase; fingerprint of its public key."""

    path: Path
    fingerprint: str


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(f"{bundle.name}.sig")


def fingerprint(public_key: str) -> str:
    """SHA256:... as ssh-keygen shows it, of a `TYPE BASE64` public key."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _ssh_keygen(arguments: list[str], stdin) -> subprocess.CompletedProcess:
    try:
        return signers.run_ssh_keygen(arguments, stdin)
    except signers.SignatureRefused as error:
        raise InvalidInput(str(error)) from None


def _read_key(key: Path) -> bytes:
    """The key file's bytes; a fifo, a device or anything larger than a key is refused unread
    (opened without blocking, checked on the open file)."""
    try:
        descriptor = os.open(key, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise InvalidInput(f"The signing key {key} is not a regular file.", _KEY_FIX)
            with os.fdopen(descriptor, "rb", closefd=False) as stream:
                content = stream.read(_MAX_KEY_BYTES + 1)
        finally:
            os.close(descriptor)
    except (OSError, ValueError) as error:
        why = getattr(error, "strerror", None) or str(error)
        raise InvalidInput(f"Cannot read the signing key {key} ({why}).", _KEY_FIX) from None
    if len(content) > _MAX_KEY_BYTES:
        raise InvalidInput(f"{key} is too large to be a signing key.", _KEY_FIX)
    return content


@contextmanager
def _private_copy(key: Path) -> Iterator[Path]:
    """A 0600 copy of the key in a private folder, removed afterwards (a checkout gives the
    lab's key mode 0644, which ssh-keygen refuses)."""
    content = _read_key(key)
    with tempfile.TemporaryDirectory(prefix="voicenote-signing-") as scratch:
        copy = Path(scratch) / "key"
        descriptor = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        yield copy


def signing_key(path: Path) -> SigningKey:
    """The key, once it is a private key ssh-keygen opens without a passphrase (it would
    otherwise ask on the terminal half-way through a build)."""
    with _private_copy(path) as copy:
        opened = _ssh_keygen(["-y", "-P", "", "-f", str(copy)], subprocess.DEVNULL)
    keys = signers.pinned_keys(opened.stdout)
    if opened.returncode != 0 or not keys:
        why = "it has a passphrase" if "passphrase" in opened.stderr else "it is no private key"
        raise InvalidInput(f"Cannot sign with {path}: {why}.", _KEY_FIX)
    return SigningKey(path, fingerprint(keys[0]))


def lab_signing_key(project: Path) -> SigningKey:
    """The lab's committed, test-only key: what signs the bundles of tests, demos and benchmarks."""
    return signing_key(project / LAB_SIGNING_KEY)


def sign_bundle(bundle: Path, key: SigningKey) -> Path:
    """Write BUNDLE.sig, an OpenSSH signature of the bundle's bytes in the release namespace."""
    destination = signature_path(bundle)
    partial = destination.with_name(f"{destination.name}.partial")
    with _private_copy(key.path) as copy, bundle.open("rb") as content:
        signed = _ssh_keygen(["-Y", "sign", "-n", signers.NAMESPACE, "-f", str(copy)], content)
    if signed.returncode != 0 or "-----BEGIN SSH SIGNATURE-----" not in signed.stdout:
        raise InvalidInput(f"Could not sign {bundle.name} with {key.path}.", _KEY_FIX)
    partial.write_text(signed.stdout)
    partial.replace(destination)
    return destination


def verify_signature(
    bundle: Path, allowed_signers: str, *, required: bool, environment: str
) -> str | None:
    """The fingerprint of the pinned key that signed the bundle (its signature_path), or None
    for a bundle the environment takes unchecked; refusals name the environment and the fix."""
    signature = signature_path(bundle)
    try:
        return signers.check_signature(str(bundle), str(signature), allowed_signers, required)
    except signers.SignatureRefused as error:
        refused = error
    reason = refused.reason
    if reason == signers.UNPINNED:
        raise InvalidInput(
            f"{environment} pins no release signing key (voicenote_release_allowed_signers).",
            "Put the release public key in its inventory's group_vars/all/release-signers.yml "
            "(docs/app-and-bundles.md, Signing).",
        )
    if reason == signers.UNSIGNED:
        raise InvalidInput(
            f"Bundle {bundle.name} is not signed: there is no {signature.name} beside it.",
            f"{environment} takes only bundles signed with its release key: "
            "voicenote-ops build --signing-key KEY.",
        )
    if reason == signers.NOT_VERIFIED:
        raise InvalidInput(
            f"Bundle {bundle.name} is not signed by a key {environment} trusts: "
            f"{signature.name} does not verify.",
            "A bundle changed after signing, or another bundle's signature, never verifies; "
            "deploy the bundle as the release key signed it.",
        )
    raise InvalidInput(str(refused))
