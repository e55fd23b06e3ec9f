#!/usr/bin/python
"""Remove the releases a host no longer needs, in one module run: the newest I(keep) stay, and
so do the ones the blue and green colors point at, whatever their age."""

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
"""

COLORS = ("blue", "green")


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
    removed = beyond_kept(
        os.path.normpath(params["releases"]), params["keep"], pointed_at(params["colors"])
    )
    if not module.check_mode:
        for path in removed:
            shutil.rmtree(path)
    module.exit_json(changed=bool(removed), removed=removed)


if __name__ == "__main__":
    main()
