"""The compose stack's PostgreSQL and Redis image: Debian's packages made here, never pulled.

One image for both (two entry points, services-setup.sh), one layer cached per recipe like the
app images' base (base.py), loaded into podman under a tag that carries the recipe's hash.
"""

from collections.abc import Callable
from dataclasses import dataclass

from voicenote_ops.image import base
from voicenote_ops.image.build import load
from voicenote_ops.image.oci import image_config, write_archive
from voicenote_ops.lab import podman
from voicenote_ops.lab.image import ImageRecipe, machine_mirror

PACKAGES = ("postgresql", "redis-server")
REPOSITORY = "localhost/voicenote-services"


@dataclass(frozen=True)
class ServicesImage:
    reference: str
    digest: str


def recipe() -> ImageRecipe:
    return ImageRecipe(
        packages=PACKAGES,
        mirror=machine_mirror(),
        setup_package="voicenote_ops.image",
        setup_name="services-setup.sh",
    )


def ensure_services_image(progress: Callable[[str], None] = lambda _m: None) -> str:
    """The image's reference, built and loaded first when podman does not have it."""
    services = recipe()
    reference = f"{REPOSITORY}:{services.suite}-{services.digest}"
    if podman.run(["podman", "image", "exists", reference], check=False)[0] == 0:
        return reference
    layer = base.ensure_base(services, kind="services", progress=progress)
    config = image_config(
        [layer],
        {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        [f"debootstrap {services.suite} {' '.join(services.packages)} ({services.digest})"],
    )
    archive = write_archive(
        [layer], config, reference, base.cache_dir() / f"services-{services.digest}.oci.tar"
    )
    progress(f"loading {reference} into podman")
    load(archive, reference)
    archive.path.unlink()
    return reference
