"""Build the app's OCI image from a release bundle: the same locked wheels, nothing downloaded.

The image is two layers: the base (Debian's Python, made here, cached per recipe) and the
release, /opt/NAME holding the venv pip fills from the bundle's wheelhouse with no package index
(as the release role does on a host) and the bundle's manifest. Both layers, the config and
the manifest are deterministic, so the same bundle on the same base gives the same digest.
"""

import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.bundle import verify_bundle
from voicenote_ops.bundle.archive import SOURCE_DATE_EPOCH, sha256_file
from voicenote_ops.bundle.build import LOCK_FILE, WHEELHOUSE
from voicenote_ops.bundle.manifest import MANIFEST_NAME, Manifest
from voicenote_ops.errors import NeedsAttention
from voicenote_ops.image import base as base_layer
from voicenote_ops.image.layer import Layer, write_layer
from voicenote_ops.image.oci import ImageArchive, image_config, write_archive
from voicenote_ops.lab import podman, prereqs

# The app never runs as root: this is the user base-setup.sh creates.
APP_UID = 10001
LABEL_PREFIX = "io.voicenote-ops"
# Where the bundle is unpacked inside the chroot; only the app's folder becomes the layer.
_STAGE = "/tmp/bundle"  # noqa: S108 # nosec B108 - a path inside the chroot
_TOOLS = ("podman", "debootstrap", "chroot")


@dataclass(frozen=True)
class BuiltImage:
    archive: ImageArchive
    reference: str
    base: Layer
    release: Layer


def app_root(manifest: Manifest) -> str:
    return f"/opt/{manifest.name}"


def image_reference(manifest: Manifest) -> str:
    return f"localhost/{manifest.name}:{manifest.version}"


def archive_name(manifest: Manifest) -> str:
    return f"{manifest.name}-{manifest.version}.oci.tar"


def labels(manifest: Manifest, bundle_sha256: str, base: Layer, recipe_digest: str) -> dict:
    return {
        "org.opencontainers.image.title": manifest.name,
        "org.opencontainers.image.version": manifest.version,
        "org.opencontainers.image.revision": manifest.source_commit,
        f"{LABEL_PREFIX}.lock-sha256": manifest.files[LOCK_FILE],
        f"{LABEL_PREFIX}.bundle-sha256": bundle_sha256,
        f"{LABEL_PREFIX}.alembic-heads": ",".join(manifest.alembic_heads),
        f"{LABEL_PREFIX}.base-layer": base.digest,
        f"{LABEL_PREFIX}.base-recipe": recipe_digest,
    }


def settings(manifest: Manifest, image_labels: dict[str, str]) -> dict:
    """The config's runtime part: non-root, the venv first on PATH, listening on 8000."""
    venv_bin = f"{app_root(manifest)}/venv/bin"
    return {
        "User": f"{APP_UID}:{APP_UID}",
        "Env": [
            f"PATH={venv_bin}:{base_layer.SYSTEM_PATH}",
            "LANG=C.UTF-8",
            "PYTHONDONTWRITEBYTECODE=1",
            "BIND=0.0.0.0",
            "PORT=8000",
        ],
        "Cmd": [f"{manifest.name}"],
        "WorkingDir": app_root(manifest),
        "ExposedPorts": {"8000/tcp": {}},
        "StopSignal": "SIGTERM",
        "Labels": image_labels,
    }


def _chroot(rootfs: Path, argv: list[str], log, what: str) -> None:
    environment = {
        "PATH": base_layer.SYSTEM_PATH,
        "HOME": "/root",
        "LANG": "C.UTF-8",
        # pip compiles bytecode checked by hash, not by time, when this is set.
        "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH),
        "PYTHONHASHSEED": "0",
    }
    done = subprocess.run(
        ["chroot", str(rootfs), *argv], stdout=log, stderr=log, env=environment, check=False
    )
    if done.returncode != 0:
        raise NeedsAttention(f"Building the image failed while {what}.", f"See {log.name}.")


def _release_layer(bundle: Path, manifest: Manifest, base: Layer, work: Path, log) -> Layer:
    rootfs = work / "rootfs"
    rootfs.mkdir()
    # The base layer is this tool's own cache; it holds absolute links and owners by design.
    with tarfile.open(base.path) as tar:
        tar.extractall(rootfs, filter="fully_trusted")  # noqa: S202 # nosec B202 - our own
    staged = rootfs / _STAGE[1:]
    staged.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle) as tar:
        tar.extractall(staged, filter="data")
    release = f"{_STAGE}/{manifest.top_dir}"
    venv = f"{app_root(manifest)}/venv"
    _chroot(rootfs, ["python3", "-m", "venv", venv], log, "creating the venv")
    install = [
        f"{venv}/bin/pip",
        "install",
        "--no-index",
        "--only-binary=:all:",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--find-links",
        f"{release}/{WHEELHOUSE}",
        f"{release}/{manifest.wheel}",
    ]
    _chroot(rootfs, install, log, "installing the bundle's wheels")
    shutil.copy(staged / manifest.top_dir / MANIFEST_NAME, rootfs / app_root(manifest)[1:])
    return write_layer(rootfs, work / "release.tar.gz", only=(app_root(manifest)[1:],))


def load(archive: ImageArchive, reference: str) -> None:
    """Put the image into this machine's podman storage under its reference."""
    podman.run(["podman", "load", "--input", str(archive.path)])
    podman.run(["podman", "tag", archive.config_digest[7:], reference])


def require_tools() -> None:
    """Refuse before anything is built when this machine cannot build an image."""
    prereqs.require_tools(
        "Building an image", _TOOLS, root_because="Building an image runs pip in a chroot"
    )


def build_image(
    bundle: Path, out_dir: Path, *, progress: Callable[[str], None] = lambda _m: None
) -> BuiltImage:
    """Build out_dir/NAME-VERSION.oci.tar from the bundle and load it into podman."""
    require_tools()
    manifest = verify_bundle(bundle)
    recipe = base_layer.recipe()
    base = base_layer.ensure_base(recipe, progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="image-", dir=base_layer.cache_dir()))
    log_path = out_dir / f"{manifest.name}-{manifest.version}.image.log"
    try:
        progress(f"installing {bundle.name} into the image's venv")
        with log_path.open("w") as log:
            release = _release_layer(bundle, manifest, base, work, log)
        image_labels = labels(manifest, sha256_file(bundle), base, recipe.digest)
        config = image_config(
            [base, release],
            settings(manifest, image_labels),
            [
                base_layer.history(recipe),
                f"voicenote-ops build --image: {bundle.name} into {app_root(manifest)}",
            ],
        )
        reference = image_reference(manifest)
        archive = write_archive(
            [base, release], config, reference, out_dir / archive_name(manifest)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"wrote {archive.path}; loading it into podman as {reference}")
    load(archive, reference)
    return BuiltImage(archive, reference, base, release)
