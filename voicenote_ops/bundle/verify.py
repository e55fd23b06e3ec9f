"""Check a bundle against its own manifest before anything of it is installed."""

from pathlib import Path

from pydantic import ValidationError

from voicenote_ops.bundle import contents
from voicenote_ops.bundle.manifest import MANIFEST_NAME, Manifest
from voicenote_ops.errors import InvalidInput


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
    """The bundle's manifest, once every entry is safe to unpack (voicenote_ops.bundle.contents,
    the same rules the playbooks' module applies) and every file matches its sha256, nothing
    missing or extra."""
    if not bundle.is_file():
        raise InvalidInput(f"Bundle {bundle} does not exist.", "Build it with voicenote-ops build.")
    try:
        digests, manifest_content = contents.read_bundle(str(bundle))
        manifest = _parse_manifest(bundle, manifest_content)
        contents.check_release(bundle.name, manifest.name, manifest.version)
        contents.check_files(bundle.name, manifest.files, digests)
        referenced = {manifest.wheel, *(migration.path for migration in manifest.migrations)}
        contents.check_referenced(bundle.name, manifest.files, referenced)
    except contents.BundleRefused as error:
        raise InvalidInput(str(error), "Deploy a bundle as voicenote-ops build made it.") from None
    return manifest
