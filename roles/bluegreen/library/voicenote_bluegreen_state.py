#!/usr/bin/python
"""Read a host's blue/green state in one module run: which color nginx sends traffic to (the
upstream file is the truth of what serves), which release each color links to, whether each
color's unit is active, and which of the files a color reads at start changed after it started
(the color runs a configuration that is no longer the one on disk). On request, the installed
releases' migrations too, for a schema guard judged on the controller (a rollback's)."""

import json
import os
import re
import subprocess
import time

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
  reads:
    description:
      - Files a color reads when it starts (its unit, its environment files); C(%i) stands for
        the color. A running color started before one of them last changed is stale.
    type: list
    elements: str
    default: []
  image_reads:
    description:
      - As I(reads), for the colors whose release runs from an image only (the image unit and
        the command that runs the image).
    type: list
    elements: str
    default: []
  manifests:
    description: Also return each installed release's migrations (from its manifest.json).
    type: bool
    default: false
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
  description:
    - Per color, the release version it links to (or null), whether its unit is active and
      whether it is enabled (the deploy enables the colors it starts), when its process started
      (epoch seconds, null when not running), and the files of I(reads) that changed after that
      (stale; empty when it is not running).
  type: dict
  returned: always
serves:
  description: The release the live color runs when its unit is active (what nginx sends traffic
    to), else null.
  type: str
  returned: always
kept:
  description: The release the idle color links to (where a rollback goes back by default), or
    null.
  type: str
  returned: always
releases:
  description: The installed releases (with an install marker), oldest first.
  type: list
  returned: always
manifests:
  description: With manifests, {version: {migrations: [...]}} for each installed release, by
    version name, as the schema guard module reads them on the host.
  type: dict
  returned: when manifests is true
images:
  description: Per installed release, whether it runs from an image (its folder has image.env,
    role release) rather than its venv.
  type: dict
  returned: always
markers:
  description: Each installed release's install marker (the sha256 of the bundle it came from),
    so that a deploy of an installed release needs no read of its own (role release).
  type: dict
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


def installed_releases(root):
    """{version: its install marker's content, stripped}, oldest install first."""
    folder = os.path.join(root, "releases")
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    installed = []
    for name in names:
        marker = os.path.join(folder, name, ".installed")
        try:
            with open(marker, encoding="utf-8") as handle:
                installed.append((os.fstat(handle.fileno()).st_mtime, name, handle.read().strip()))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
    return {name: content for _, name, content in sorted(installed)}


def migrations_of(root, versions):
    """{version: {"migrations": [...]}} from each release's manifest.json, by version name."""
    found = {}
    for version in sorted(versions):
        try:
            with open(os.path.join(root, "releases", version, "manifest.json"), "rb") as manifest:
                found[version] = {"migrations": json.load(manifest)["migrations"]}
        except FileNotFoundError:
            continue  # as the guard module: a release without a manifest adds nothing
    return found


def _units_are(question, answer, colors):
    """Per color, whether `systemctl QUESTION` says ANSWER of its unit (is-active: active)."""
    units = [f"voicenote@{color}.service" for color in colors]
    done = subprocess.run(["systemctl", question, *units], capture_output=True, text=True)
    states = done.stdout.split()
    return {color: state == answer for color, state in zip(colors, states, strict=True)}


def _started(color):
    """When the color's main process started (epoch seconds), or None when it does not run.
    systemd keeps it on the monotonic clock, in microseconds; read beside time.time() here."""
    done = subprocess.run(
        ["systemctl", "show", "--value", "-p", "ExecMainStartTimestampMonotonic",
         f"voicenote@{color}.service"],
        capture_output=True, text=True,
    )  # fmt: skip
    try:
        monotonic_us = int(done.stdout.strip() or 0)
    except ValueError:
        return None
    if not monotonic_us:
        return None
    return time.time() - (time.monotonic() - monotonic_us / 1e6)


def color_reads(color, reads, image_reads):
    """The files one color reads at start: every color's, then its runtime's (%i: the color)."""
    return [path.replace("%i", color) for path in reads + image_reads]


def runs_image(root, version):
    """Whether the release runs from an image: its folder names one (image.env, role release)."""
    return os.path.isfile(os.path.join(root, "releases", version, "image.env"))


def stale_files(started, paths):
    """The paths modified after started (a missing file is not stale: nothing new to read)."""
    if started is None:
        return []
    stale = []
    for path in paths:
        try:
            if os.path.getmtime(path) > started:
                stale.append(path)
        except OSError:
            continue
    return stale


def main():
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/opt/voicenote"},
            "upstream_file": {"type": "path", "default": "/etc/nginx/voicenote/live-upstream.conf"},
            "colors": {"type": "list", "elements": "str", "default": ["blue", "green"]},
            "reads": {"type": "list", "elements": "str", "default": []},
            "image_reads": {"type": "list", "elements": "str", "default": []},
            "manifests": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    colors = module.params["colors"]
    active = _units_are("is-active", "active", colors)
    # The deploy enables each color it starts and disables each it stops: enabled and not
    # active is a color that should run and does not (it failed, or it restarts in a loop).
    enabled = _units_are("is-enabled", "enabled", colors)
    live = _live_color(module.params["upstream_file"], colors) or colors[0]
    started = {color: _started(color) if active[color] else None for color in colors}
    reads = module.params["reads"]
    versions = {color: _release(module.params["root"], color) for color in colors}
    markers = installed_releases(module.params["root"])
    images = {version: runs_image(module.params["root"], version) for version in markers}
    image_reads = module.params["image_reads"]
    manifests = (
        {"manifests": migrations_of(module.params["root"], markers)}
        if module.params["manifests"]
        else {}
    )
    idle = next(color for color in colors if color != live)
    module.exit_json(
        **manifests,
        changed=False,
        live=live,
        idle=idle,
        colors={
            color: {
                "version": versions[color],
                "active": active[color],
                "enabled": enabled[color],
                "started": started[color],
                "stale": stale_files(
                    started[color],
                    color_reads(color, reads, image_reads if images.get(versions[color]) else []),
                ),
            }
            for color in colors
        },
        serves=versions[live] if active[live] else None,
        kept=versions[idle],
        releases=list(markers),
        markers=markers,
        images=images,
    )


if __name__ == "__main__":
    main()
