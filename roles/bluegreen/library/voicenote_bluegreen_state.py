#!/usr/bin/python
"""Read a host's blue/green state in one module run: which color nginx sends traffic to (the
upstream file is the truth of what serves), which release each color links to, and whether each
color's unit is active."""

import os
import re
import subprocess

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_bluegreen_state
short_description: Read the live color, each color's release and each color's unit state
description:
  - Read-only. The live color is the one the nginx upstream file names; a host never deployed
    to has none.
options:
  root:
    description: The app root, holding colors/<color> links to releases/<version>.
    type: path
    default: /opt/voicenote
  upstream_file:
    description: The nginx upstream file the deploy rewrites to switch colors.
    type: path
    default: /etc/nginx/voicenote/live-upstream.conf
  colors:
    description: The colors.
    type: list
    elements: str
    default: [blue, green]
"""

RETURN = r"""
live:
  description: The color nginx sends traffic to (the first color when no upstream file names one).
  type: str
  returned: always
idle:
  description: The other color, where a new release starts.
  type: str
  returned: always
colors:
  description: Per color, the release version it links to (or null) and whether its unit is active.
  type: dict
  returned: always
releases:
  description: The installed releases (with an install marker), oldest first.
  type: list
  returned: always
"""

_LIVE = re.compile(r"^\s*default\s+(\w+);", re.MULTILINE)


def _live_color(path, colors):
    try:
        with open(path, encoding="utf-8") as handle:
            found = _LIVE.search(handle.read())
    except OSError:
        return None
    return found.group(1) if found and found.group(1) in colors else None


def _release(root, color):
    link = os.path.join(root, "colors", color)
    if not os.path.islink(link):
        return None
    target = os.readlink(link)
    installed = os.path.isfile(os.path.join(root, "colors", color, ".installed"))
    return os.path.basename(target.rstrip("/")) if installed else None


def _installed_releases(root):
    folder = os.path.join(root, "releases")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    markers = [os.path.join(folder, name, ".installed") for name in names]
    installed = [
        (os.path.getmtime(m), n) for m, n in zip(markers, names, strict=True) if os.path.isfile(m)
    ]
    return [name for _, name in sorted(installed)]


def _active(colors):
    units = [f"voicenote@{color}.service" for color in colors]
    done = subprocess.run(["systemctl", "is-active", *units], capture_output=True, text=True)
    states = done.stdout.split()
    return {color: state == "active" for color, state in zip(colors, states, strict=True)}


def main():
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/opt/voicenote"},
            "upstream_file": {"type": "path", "default": "/etc/nginx/voicenote/live-upstream.conf"},
            "colors": {"type": "list", "elements": "str", "default": ["blue", "green"]},
        },
        supports_check_mode=True,
    )
    colors = module.params["colors"]
    active = _active(colors)
    live = _live_color(module.params["upstream_file"], colors) or colors[0]
    module.exit_json(
        changed=False,
        live=live,
        idle=next(color for color in colors if color != live),
        colors={
            color: {"version": _release(module.params["root"], color), "active": active[color]}
            for color in colors
        },
        releases=_installed_releases(module.params["root"]),
    )


if __name__ == "__main__":
    main()
