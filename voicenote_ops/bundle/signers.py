"""Which signatures of a release bundle an environment accepts, checked by one implementation for
the CLI and the playbooks.

voicenote_ops.bundle.signature uses it, and so does the Ansible module voicenote_bundle_signature,
which imports this very file as ansible.module_utils.voicenote_bundle_signers
(roles/release/module_utils/ links here): standard library only, Python 3.11.

A signature is OpenSSH's (`ssh-keygen -Y sign -n voicenote-release`) of the bundle's bytes,
in BUNDLE.tar.gz.sig. An environment pins the keys it trusts as an allowed-signers text (git's
format: `voicenote-release namespaces="voicenote-release" ssh-ed25519 AAAA...`, one key a line).
A signature that is there is verified whenever a key is pinned; where a signature is required,
a bundle without one, or allowed signers that pin no key (a placeholder), are refused.
"""

import os
import re
import subprocess
import tempfile

# The namespace a release signature is made in (no other signature of the key passes for one)
# and the principal every allowed-signers line names.
NAMESPACE = "voicenote-release"
PRINCIPAL = "voicenote-release"
# A public key on an allowed-signers line; a placeholder, or a commented-out line, is none.
_PUBLIC_KEY = re.compile(
    r"(?:^|\s)((?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)"
    r"|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s+AAAA[0-9A-Za-z+/]+=*)"
    r"(?:\s|$)"
)
_VERIFIED_KEY = re.compile(r"with \S+ key (SHA256:\S+)")

# Why a signature was refused (SignatureRefused.reason).
UNPINNED = "unpinned"
UNSIGNED = "unsigned"
NOT_VERIFIED = "not-verified"
NO_SSH_KEYGEN = "no-ssh-keygen"


class SignatureRefused(ValueError):
    """A bundle whose signature is not accepted; the message is one sentence that says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def pinned_keys(allowed_signers: str) -> list[str]:
    """The public keys (`TYPE BASE64`) an allowed-signers text pins."""
    keys = []
    for line in allowed_signers.splitlines():
        found = _PUBLIC_KEY.search(line)
        if found and not line.lstrip().startswith("#"):
            keys.append(found.group(1))
    return keys


def run_ssh_keygen(arguments: list[str], stdin=None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["ssh-keygen", *arguments], stdin=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise SignatureRefused(
            "ssh-keygen, which signs and checks release bundles, is not installed here; "
            "install openssh-client.",
            NO_SSH_KEYGEN,
        ) from None


def _verified_by(bundle: str, signature: str, allowed_signers: str, scratch: str | None) -> str:
    with tempfile.TemporaryDirectory(prefix="voicenote-signers-", dir=scratch) as folder:
        signers = os.path.join(folder, "allowed_signers")
        with open(signers, "w", encoding="utf-8") as handle:
            handle.write(allowed_signers.rstrip("\n") + "\n")
        with open(bundle, "rb") as content:
            checked = run_ssh_keygen(
                ["-Y", "verify", "-f", signers, "-I", PRINCIPAL, "-n", NAMESPACE, "-s", signature],
                stdin=content,
            )
    verified = _VERIFIED_KEY.search(checked.stdout + checked.stderr)
    if checked.returncode != 0 or verified is None:
        raise SignatureRefused(
            f"Bundle {os.path.basename(bundle)} is not signed by a key this environment trusts: "
            f"{os.path.basename(signature)} does not verify.",
            NOT_VERIFIED,
        )
    return verified.group(1)


def check_signature(
    bundle: str, signature: str, allowed_signers: str, required: bool, scratch: str | None = None
) -> str | None:
    """The fingerprint (SHA256:...) of the pinned key that signed the bundle; None for a bundle
    accepted unchecked (unsigned, or no key pinned, where no signature is required).

    scratch is where the allowed signers are written for ssh-keygen (default: the temp dir)."""
    pinned = bool(pinned_keys(allowed_signers))
    if required and not pinned:
        raise SignatureRefused(
            "This environment pins no release signing key (voicenote_release_allowed_signers).",
            UNPINNED,
        )
    if not os.path.isfile(signature):
        if not required:
            return None
        raise SignatureRefused(
            f"Bundle {os.path.basename(bundle)} is not signed: there is no {signature}.",
            UNSIGNED,
        )
    if not pinned:
        return None
    return _verified_by(bundle, signature, allowed_signers, scratch)
