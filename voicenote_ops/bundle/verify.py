"""Check a bundle against its own manifest before anything of it is installed."""

from pathlib import Path

from pydantic import ValidationError

from voicenote_ops.bundle.archive import read_tar_gz
from voicenote_ops.bundle.manifest import MANIFEST_NAME, Manifest
from voicenote_ops.errors import InvalidInput

_SHOWN = 3


def _listed(paths: set[str]) -> str:
    shown = ", ".join(sorted(paths)[:_SHOWN])
    return shown if len(paths) <= _SHOWN else f"{shown} and {len(paths) - _SHOWN} more"


def _parse_manifest(bundle: Path, content: bytes) -> Manifest:
    try:
        return Manifest.model_validate_json(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise InvalidInput(
            f"{bundle.name} has an invalid {MANIFEST_NAME} ({where}: {first['msg']})."
        ) from None


def verify_bundle(bundle: Path) -> Manifest:
    """The bundle's manifest, once every file matches its sha256 and nothing is missing or extra."""
    if not bundle.is_file():
        raise InvalidInput(f"Bundle {bundle} does not exist.", "Build it with voicenote-ops build.")
    top = bundle.name.removesuffix(".tar.gz")
    digests, manifest_content = read_tar_gz(bundle, keep=f"{top}/{MANIFEST_NAME}")
    if manifest_content is None:
        raise InvalidInput(f"{bundle.name} has no {top}/{MANIFEST_NAME}.")
    manifest = _parse_manifest(bundle, manifest_content)
    if manifest.top_dir != top:
        raise InvalidInput(
            f"{bundle.name} holds release {manifest.top_dir}, which its file name does not match."
        )
    prefix = f"{top}/"
    outside = {path for path in digests if not path.startswith(prefix)}
    if outside:
        raise InvalidInput(f"{bundle.name} has files outside {prefix}: {_listed(outside)}.")
    actual = {path.removeprefix(prefix): digest for path, digest in digests.items()}
    del actual[MANIFEST_NAME]
    missing = manifest.files.keys() - actual.keys()
    if missing:
        raise InvalidInput(f"{bundle.name} lacks files its manifest lists: {_listed(missing)}.")
    extra = actual.keys() - manifest.files.keys()
    if extra:
        raise InvalidInput(f"{bundle.name} has files its manifest does not list: {_listed(extra)}.")
    changed = {path for path, digest in actual.items() if manifest.files[path] != digest}
    if changed:
        raise InvalidInput(
            f"{bundle.name} has files whose sha256 differs from its manifest: {_listed(changed)}."
        )
    referenced = {manifest.wheel, *(migration.path for migration in manifest.migrations)}
    unlisted = referenced - manifest.files.keys()
    if unlisted:
        raise InvalidInput(f"{bundle.name}'s manifest names files it lacks: {_listed(unlisted)}.")
    return manifest
