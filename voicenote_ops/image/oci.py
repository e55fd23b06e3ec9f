"""An OCI image archive (oci-archive): layout, index, manifest, config and layer blobs.

Written by hand from the OCI image spec (v1.0), as every JSON document is canonical (sorted
keys, no spaces) and every tar entry fixed in time and owner, so the manifest digest is a
function of the layers and the config alone: two builds of the same inputs give the same one.
"""

import hashlib
import json
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from voicenote_ops.bundle.archive import SOURCE_DATE_EPOCH
from voicenote_ops.image.layer import Layer

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
CREATED = datetime.fromtimestamp(SOURCE_DATE_EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ImageArchive:
    path: Path
    digest: str  # the manifest's: what a registry names the image by, and hosts pull by
    config_digest: str  # the image ID podman shows
    size: int


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _sha256(content: bytes) -> str:
    return f"sha256:{hashlib.sha256(content).hexdigest()}"


def _descriptor(media_type: str, digest: str, size: int, **extra) -> dict:
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def image_config(
    layers: list[Layer], settings: dict, history: list[str], *, created: str = CREATED
) -> dict:
    """The image config: settings is its `config` part (User, Env, Cmd, Labels, ...); history
    says what made each layer."""
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": settings,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": line} for line in history],
    }


def _entry(name: str, size: int, *, is_dir: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir else 0o644
    info.size = size
    info.mtime = SOURCE_DATE_EPOCH
    return info


def write_archive(
    layers: list[Layer], config: dict, reference: str, destination: Path
) -> ImageArchive:
    """Write the oci-archive; reference (e.g. localhost/voicenote-api:1.0.0) names the image
    for `podman load`."""
    config_bytes = canonical(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": _descriptor(MEDIA_CONFIG, _sha256(config_bytes), len(config_bytes)),
        "layers": [_descriptor(MEDIA_LAYER, layer.digest, layer.size) for layer in layers],
        "annotations": dict(sorted(config["config"].get("Labels", {}).items())),
    }
    manifest_bytes = canonical(manifest)
    digest = _sha256(manifest_bytes)
    index = {
        "schemaVersion": 2,
        "manifests": [
            _descriptor(
                MEDIA_MANIFEST, digest, len(manifest_bytes), annotations={REF_NAME: reference}
            )
        ],
    }
    documents = {
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical(index),
    }
    blobs = {config_bytes, manifest_bytes}
    partial = destination.with_name(destination.name + ".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("blobs", "blobs/sha256"):
            tar.addfile(_entry(name, 0, is_dir=True))
        written: set[str] = set()
        for blob in sorted(blobs, key=_sha256):
            tar.addfile(_entry(f"blobs/sha256/{_sha256(blob)[7:]}", len(blob)), BytesIO(blob))
        for layer in layers:
            if layer.digest in written:
                continue
            written.add(layer.digest)
            with layer.path.open("rb") as content:
                tar.addfile(_entry(f"blobs/sha256/{layer.digest[7:]}", layer.size), content)
        for name, content in documents.items():
            tar.addfile(_entry(name, len(content)), BytesIO(content))
    partial.replace(destination)
    return ImageArchive(
        path=destination,
        digest=digest,
        config_digest=_sha256(config_bytes),
        size=destination.stat().st_size,
    )
