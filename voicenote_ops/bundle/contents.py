"""What a release bundle may hold, checked by one implementation for the CLI and the playbooks.

voicenote_ops.bundle.verify uses it, and so does the Ansible module voicenote_bundle_verify,
which imports this very file as ansible.module_utils.voicenote_bundle_contents
(roles/release/module_utils/ links here): standard library only, Python 3.11.

A bundle NAME-X.Y.Z.tar.gz holds regular files and folders under NAME-X.Y.Z/ only: no absolute
name, no `.`, `..` or empty part, no link, device or fifo, no entry twice, no setuid, setgid or
sticky bit, nothing group- or world-writable; NAME-X.Y.Z/manifest.json lists the sha256 of
every other file. Unpacked on a host, nothing of it can land outside the release's folder.
"""

import hashlib
import os
import tarfile

MANIFEST_NAME = "manifest.json"
BUNDLE_SUFFIX = ".tar.gz"
# Mode bits no entry may carry: setuid, setgid, sticky, group- and world-writable.
_UNSAFE_MODE = 0o7022
_CHUNK = 1 << 20
_SHOWN = 3


class BundleRefused(ValueError):
    """A bundle that breaks a rule; the message is one sentence that names it."""


def sha256_of(stream) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def listed(paths) -> str:
    """Up to three paths, sorted, and how many more."""
    shown = ", ".join(sorted(paths)[:_SHOWN])
    return shown if len(paths) <= _SHOWN else f"{shown} and {len(paths) - _SHOWN} more"


def top_folder(bundle_name: str) -> str:
    """The one folder a bundle's entries live under: its file name without .tar.gz."""
    return bundle_name.removesuffix(BUNDLE_SUFFIX)


def _inside_top(member: tarfile.TarInfo, bundle_name: str, top: str) -> str:
    """The entry's path below the top folder ('' for the folder itself), once it is safe."""
    parts = member.name.split("/")
    if member.name.startswith("/") or ".." in parts:
        raise BundleRefused(f"{bundle_name} has an entry outside the bundle: {member.name!r}.")
    if not (member.isfile() or member.isdir()):
        raise BundleRefused(f"{bundle_name} has a link or special file: {member.name!r}.")
    if parts[0] != top or "" in parts or "." in parts or (len(parts) == 1 and member.isfile()):
        raise BundleRefused(
            f"{bundle_name} has an entry that is not under {top}/: {member.name!r}."
        )
    if member.mode & _UNSAFE_MODE:
        raise BundleRefused(
            f"{bundle_name} has an entry with mode {member.mode:o} (setuid, setgid, sticky or "
            f"writable by others): {member.name!r}."
        )
    return "/".join(parts[1:])


def read_bundle(path: str) -> tuple[dict[str, str], bytes]:
    """The sha256 of every file but the manifest by its path below the top folder, and the
    manifest's bytes; refuses a bundle breaking any rule above, before anything is unpacked."""
    bundle_name = os.path.basename(path)
    top = top_folder(bundle_name)
    digests: dict[str, str] = {}
    seen: set[str] = set()
    manifest = None
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:
                relative = _inside_top(member, bundle_name, top)
                if relative in seen:
                    raise BundleRefused(f"{bundle_name} has an entry twice: {member.name!r}.")
                seen.add(relative)
                stream = archive.extractfile(member) if member.isfile() else None
                if stream is None:
                    continue
                if relative == MANIFEST_NAME:
                    manifest = stream.read()
                else:
                    digests[relative] = sha256_of(stream)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BundleRefused(f"{path} is not a readable .tar.gz bundle ({error}).") from None
    if manifest is None:
        raise BundleRefused(f"{bundle_name} has no {top}/{MANIFEST_NAME}.")
    return digests, manifest


def check_release(bundle_name: str, name: object, version: object) -> None:
    """The manifest's release is the one the bundle's file name and top folder say."""
    release = f"{name}-{version}"
    if release != top_folder(bundle_name):
        raise BundleRefused(
            f"{bundle_name} holds release {release}, which its file name does not match."
        )


def check_files(where: str, files: dict[str, str], present: dict[str, str]) -> None:
    """Every file the manifest lists is present with its sha256, and nothing else is."""
    missing = files.keys() - present.keys()
    if missing:
        raise BundleRefused(f"{where} lacks files its manifest lists: {listed(missing)}.")
    extra = present.keys() - files.keys()
    if extra:
        raise BundleRefused(f"{where} has files its manifest does not list: {listed(extra)}.")
    changed = {path for path, digest in present.items() if files[path] != digest}
    if changed:
        raise BundleRefused(
            f"{where} has files whose sha256 differs from its manifest: {listed(changed)}."
        )


def check_referenced(where: str, files: dict[str, str], referenced: set[str]) -> None:
    """The wheel and migrations the manifest names are files it lists."""
    unlisted = referenced - files.keys()
    if unlisted:
        raise BundleRefused(f"{where}'s manifest names files it lacks: {listed(unlisted)}.")
