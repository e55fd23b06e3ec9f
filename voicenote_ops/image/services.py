"""The compose stack's PostgreSQL and Redis image: Debian's packages made here, never pulled.

One image for both (two entry points, services-setup.sh), one layer cached per recipe like the
app images' base (base.py), loaded into podman under a tag that carries the recipe's hash.
"""

from collections.abc import Callable

from voicenote_ops.image import base
from voicenote_ops.image.build import load
from voicenote_ops.image.oci import image_config, write_archive
from voicenote_ops.lab.image import image_exists

PACKAGES = ("postgresql", "redis-server")
REPOSITORY = "localhost/voicenote-services"


def ensure_services_image(progress: Callable[[str], None] = lambda _m: None) -> str:
    """The image's reference, built and loaded first when podman does not have it."""
    services = base.image_recipe(PACKAGES, "services-setup.sh")
    reference = f"{REPOSITORY}:{services.suite}-{services.digest}"
    if image_exists(reference):
        return reference
    layer = base.ensure_base(services, kind="services", progress=progress)
    config = image_config([layer], {"Env": [f"PATH={base.SYSTEM_PATH}"]}, [base.history(services)])
    archive = write_archive(
        [layer], config, reference, base.cache_dir() / f"services-{services.digest}.oci.tar"
    )
    progress(f"loading {reference} into podman")
    load(archive, reference)
    archive.path.unlink()
    return reference
