"""The app images' base layer: Debian's Python made here with debootstrap, never pulled.

It is cached as a layer blob in the tool's cache folder (shared by every state folder), named
by its recipe's hash (suite, packages, mirror, setup script): built once, rebuilt when the
recipe changes.
"""

import fcntl
import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from voicenote_ops import paths
from voicenote_ops.image.layer import FORMAT, Layer, write_layer
from voicenote_ops.lab.image import ImageRecipe, machine_mirror, make_rootfs, remove_build

PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Debian's own PATH, which images made here start from.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_recipe(packages: tuple[str, ...], setup_name: str) -> ImageRecipe:
    """A recipe of this package's images: debootstrap from the machine's mirror, then the
    setup script setup_name of voicenote_ops/image/ in a chroot."""
    return ImageRecipe(
        packages=packages,
        mirror=machine_mirror(),
        setup_package="voicenote_ops.image",
        setup_name=setup_name,
    )


def recipe() -> ImageRecipe:
    return image_recipe(PACKAGES, "base-setup.sh")


def history(made: ImageRecipe) -> str:
    """The config's history line of a layer made from the recipe."""
    return f"debootstrap {made.suite} {' '.join(made.packages)} (recipe {made.digest})"


def cache_dir() -> Path:
    return paths.cache_dir() / "images"


def _cached(record: Path) -> Layer | None:
    if not record.is_file():
        return None
    fields = json.loads(record.read_text())
    layer = Layer(**{**fields, "path": Path(fields["path"])})
    return layer if layer.path.is_file() and layer.path.stat().st_size == layer.size else None


def build_base(base: ImageRecipe, destination: Path, log: Path) -> Layer:
    """Debootstrap the recipe and pack it as a layer at destination (no cache)."""
    work = Path(tempfile.mkdtemp(prefix="base-", dir=destination.parent))
    try:
        rootfs = work / "rootfs"
        make_rootfs(base, rootfs, log, what="the app images' base")
        return write_layer(rootfs, destination)
    finally:
        remove_build(work)


def ensure_base(
    base: ImageRecipe | None = None,
    *,
    kind: str = "base",
    progress: Callable[[str], None] = lambda _m: None,
) -> Layer:
    """The layer of the recipe (kind: what it is for, in its name), built first when it is not
    cached."""
    base = base or recipe()
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{base.suite}-{base.digest}-{FORMAT}"
    record = folder / f"{name}.json"
    # One build at a time; a second caller waits and then finds it cached.
    with (folder / "base.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        layer = _cached(record)
        if layer is None:
            progress(f"building the base layer {name} with debootstrap (once per recipe)")
            layer = build_base(base, folder / f"{name}.tar.gz", folder / f"{name}.log")
            fields = {**asdict(layer), "path": str(layer.path)}
            record.write_text(json.dumps(fields, indent=2) + "\n")
    return layer
