"""Reading an image archive (oci-archive) before anything is pushed: what it is, by digest."""

import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.errors import InvalidInput
from voicenote_ops.image.oci import MEDIA_MANIFEST

_FIX = "Name an archive voicenote-ops build --image made (dist/NAME-VERSION.oci.tar)."


@dataclass(frozen=True)
class ArchiveFacts:
    digest: str
    name: str
    version: str


def _member(tar: tarfile.TarFile, name: str, archive: Path) -> bytes:
    try:
        member = tar.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise InvalidInput(f"{archive} is not an OCI image archive (it has no {name}).", _FIX)
    return member.read()


def read_archive(archive: Path) -> ArchiveFacts:
    """The archive's one image: its manifest digest, name and version (from its labels)."""
    if not archive.is_file():
        raise InvalidInput(f"Image archive {archive} does not exist or is not a file.", _FIX)
    try:
        with tarfile.open(archive) as tar:
            (entry,) = json.loads(_member(tar, "index.json", archive))["manifests"]
            digest = entry["digest"]
            manifest = _member(tar, f"blobs/sha256/{digest.removeprefix('sha256:')}", archive)
            if "sha256:" + hashlib.sha256(manifest).hexdigest() != digest:
                raise InvalidInput(
                    f"{archive}'s manifest does not match its digest {digest}.", _FIX
                )
            labels = json.loads(manifest).get("annotations") or {}
    except (tarfile.TarError, ValueError, KeyError, TypeError) as error:
        raise InvalidInput(
            f"{archive} is not an OCI image archive of one image ({type(error).__name__}).", _FIX
        ) from None
    if entry.get("mediaType") != MEDIA_MANIFEST:
        raise InvalidInput(f"{archive} holds no OCI image manifest.", _FIX)
    name = labels.get("org.opencontainers.image.title")
    version = labels.get("org.opencontainers.image.version")
    if not name or not version:
        raise InvalidInput(f"{archive}'s image has no title and version labels.", _FIX)
    return ArchiveFacts(digest, name, version)
