#!/usr/bin/python
"""Remove the releases a host no longer needs, in one module run: the newest I(keep) stay, and
so do the ones the blue and green colors point at, whatever their age. A removed release of the
image runtime takes its image with it from podman's storage, unless a kept release runs it."""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_release_prune
short_description: Keep the newest releases and every release a color points at
description:
  - Reads the release folders under I(releases) (not the hidden ones, such as the upload folder)
    and the links in I(colors), then removes every release that is neither among the I(keep)
    newest (by modification time) nor pointed at by a color.
  - A release of the image runtime names its image in C(image.env). Once such a release is
    removed, its image is removed from podman's storage (C(podman rmi)) unless a kept release
    names it too; an image podman will not remove (a container still uses it) stays, with a
    warning.
options:
  releases:
    description: The folder of installed releases, one folder each.
    type: path
    required: true
  colors:
    description: The folder of the colors' links (blue, green) to their releases.
    type: path
    required: true
  keep:
    description: How many of the newest releases to keep.
    type: int
    required: true
"""

RETURN = r"""
removed:
  description: The release folders removed (or that would be, in check mode), oldest last.
  returned: success
  type: list
  elements: str
images_removed:
  description: The images removed from podman's storage (or that would be, in check mode).
  returned: success
  type: list
  elements: str
"""

COLORS = ("blue", "green")
# The file in an image release's folder that names its image (roles/release, image.yml).
IMAGE_ENV = "image.env"


def pointed_at(colors: str) -> set[str]:
    """The release folders the colors' links point at (a missing link points at none)."""
    targets = set()
    for color in COLORS:
        link = os.path.join(colors, color)
        if os.path.islink(link):
            targets.add(os.path.normpath(os.path.join(colors, os.readlink(link))))
    return targets


def beyond_kept(releases: str, keep: int, kept: set[str]) -> list[str]:
    """The release folders past the newest keep, newest first, without those in kept."""
    folders = [
        entry for entry in os.scandir(releases)
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
    ]  # fmt: skip
    folders.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime, reverse=True)
    return [entry.path for entry in folders[keep:] if entry.path not in kept]


def image_of(release: str) -> str:
    """The image a release of the image runtime runs (its image.env), or "" for a venv release."""
    try:
        with open(os.path.join(release, IMAGE_ENV), encoding="utf-8") as names:
            lines = names.read().splitlines()
    except FileNotFoundError:
        return ""
    return next(
        (line.split("=", 1)[1] for line in lines if line.startswith("VOICENOTE_IMAGE=")), ""
    )


def images_to_remove(removed: list[str], kept: list[str]) -> list[str]:
    """The images of the removed releases that no kept release runs, each once, in order."""
    still_run = {image_of(release) for release in kept}
    images = [image_of(release) for release in removed]
    return [image for image in dict.fromkeys(images) if image and image not in still_run]


def main():
    module = AnsibleModule(
        argument_spec={
            "releases": {"type": "path", "required": True},
            "colors": {"type": "path", "required": True},
            "keep": {"type": "int", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["keep"] < 0:
        module.fail_json(msg=f"keep must be 0 or more, not {params['keep']}.")
    releases = os.path.normpath(params["releases"])
    removed = beyond_kept(releases, params["keep"], pointed_at(params["colors"]))
    kept = [
        entry.path for entry in os.scandir(releases)
        if entry.is_dir(follow_symlinks=False) and entry.path not in removed
    ]  # fmt: skip
    images = images_to_remove(removed, kept)
    if not module.check_mode:
        for path in removed:
            shutil.rmtree(path)
        for image in list(images):
            rc, _, err = module.run_command(["podman", "rmi", image])
            if rc != 0:
                images.remove(image)
                module.warn(f"{image} stays in podman's storage: {err.strip()}")
    module.exit_json(changed=bool(removed), removed=removed, images_removed=images)


if __name__ == "__main__":
    main()
