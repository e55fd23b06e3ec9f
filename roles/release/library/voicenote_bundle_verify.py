#!/usr/bin/python
"""Verify an unpacked release bundle on the host: every file's sha256 against manifest.json,
no file missing or extra, the expected version, and a python tag the host's interpreter has."""

import hashlib
import json
import os
import subprocess
import tarfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_bundle_verify
short_description: Verify an unpacked release bundle against its manifest
description:
  - Reads manifest.json in I(path), checks the sha256 of every file it lists, that no other file
    is present (a venv folder and the install marker excepted), that the version is
    I(version) and, when I(python) is given, that the python tag matches it. Read-only.
  - I(path) is an unpacked release folder, or the bundle itself (.tar.gz), read without
    unpacking (on the controller, before anything reaches a host).
options:
  path:
    description: The unpacked release folder, or the bundle file.
    type: path
    required: true
  version:
    description: The version the bundle must be.
    type: str
    required: true
  python:
    description: The interpreter the release will run on; omitted, the python tag is not checked.
    type: path
  ignore:
    description: Top-level names made on the host after unpacking, not part of the bundle.
    type: list
    elements: str
    default: [venv, .installed]
"""

RETURN = r"""
manifest:
  description: The bundle's manifest without its file list.
  returned: success
  type: dict
sha256:
  description: The bundle file's own sha256, so the controller reads the bundle once.
  returned: when I(path) is the bundle file
  type: str
"""


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_bundle(path):
    """The manifest and {path: sha256} of a bundle's files, relative to its top folder."""
    digests, manifest = {}, None
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            name = member.name.split("/", 1)[1] if "/" in member.name else member.name
            content = archive.extractfile(member).read()
            if name == "manifest.json":
                manifest = json.loads(content)
            else:
                digests[name] = hashlib.sha256(content).hexdigest()
    return manifest, digests


def _read_folder(root, ignore):
    with open(os.path.join(root, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    return manifest, {path: _sha256(os.path.join(root, path)) for path in _present(root, ignore)}


def _present(root, ignore):
    found = set()
    for top, dirs, files in os.walk(root):
        relative_top = os.path.relpath(top, root)
        if relative_top == ".":
            dirs[:] = [d for d in dirs if d not in ignore]
            files = [f for f in files if f not in ignore]
        for name in files:
            found.add(os.path.normpath(os.path.join(relative_top, name)))
    found.discard("manifest.json")
    return found


def _python_tag(python):
    out = subprocess.run(
        [python, "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "version": {"type": "str", "required": True},
            "python": {"type": "path"},
            "ignore": {"type": "list", "elements": "str", "default": ["venv", ".installed"]},
        },
        supports_check_mode=True,
    )
    path, version, python = (module.params[key] for key in ("path", "version", "python"))
    try:
        if os.path.isdir(path):
            manifest, present = _read_folder(path, set(module.params["ignore"]))
        else:
            manifest, present = _read_bundle(path)
    except (OSError, ValueError, tarfile.TarError) as error:
        module.fail_json(msg=f"{path} is not a readable release bundle: {error}.")
    if not isinstance(manifest, dict):
        module.fail_json(msg=f"{path} has no manifest.json.")
    if manifest.get("version") != version:
        module.fail_json(msg=f"The bundle is release {manifest.get('version')}, not {version}.")
    listed = manifest.get("files") or {}
    missing, extra = sorted(set(listed) - set(present)), sorted(set(present) - set(listed))
    if missing or extra:
        module.fail_json(
            msg=f"The bundle's files differ from its manifest: missing {missing[:3]}, "
            f"not listed {extra[:3]}."
        )
    changed = sorted(p for p, digest in listed.items() if present[p] != digest)
    if changed:
        module.fail_json(msg=f"These files do not match the manifest's sha256: {changed[:3]}.")
    if python:
        host_tag = _python_tag(python)
        if manifest.get("python_tag") != host_tag:
            module.fail_json(
                msg=f"The bundle was built for {manifest.get('python_tag')}, but this host's "
                f"{python} is {host_tag}; build it for this host's Python."
            )
    summary = {key: value for key, value in manifest.items() if key != "files"}
    extra_result = {} if os.path.isdir(path) else {"sha256": _sha256(path)}
    module.exit_json(changed=False, manifest=summary, **extra_result)


if __name__ == "__main__":
    main()
