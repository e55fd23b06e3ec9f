#!/usr/bin/python
"""Verify a release bundle against its manifest: on the controller the bundle file, with the
same rules as the CLI (module_utils voicenote_bundle_contents, shared with voicenote_ops), its
signature first when one is given (module_utils voicenote_bundle_signers), in one module run; on
a host the unpacked folder, every file's sha256, and a python tag the host's interpreter has."""

import json
import os
import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voicenote_bundle_contents import (
    BundleRefused,
    check_files,
    check_referenced,
    check_release,
    read_bundle,
    sha256_of,
)
from ansible.module_utils.voicenote_bundle_signers import SignatureRefused, check_signature

DOCUMENTATION = r"""
module: voicenote_bundle_verify
short_description: Verify a release bundle, or an unpacked one, against its manifest
description:
  - Reads manifest.json in I(path), checks the sha256 of every file it lists, that no other file
    is present (a venv folder and the install marker excepted), that the version is
    I(version) and, when I(python) is given, that the python tag matches it. Read-only.
  - I(path) is an unpacked release folder, or the bundle itself (.tar.gz), read without
    unpacking (on the controller, before anything reaches a host) under the CLI's rules
    (voicenote_ops/bundle/contents.py, this role's module_utils): only regular files and
    folders under the one top folder NAME-X.Y.Z/ its file name and manifest name, no link,
    device, fifo, absolute or C(..) name, no setuid, setgid, sticky or writable-by-others mode.
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
  signature:
    description:
      - The bundle file's signature, verified against I(allowed_signers) before anything of the
        bundle is read (the rules of the voicenote_bundle_signature module, in the same module
        run). Omitted, no signature is checked.
    type: path
  allowed_signers:
    description: The allowed-signers text (git's format), one key a line; with I(signature).
    type: str
    default: ""
  signature_required:
    description: Refuse a bundle without a signature, and allowed signers that pin no key.
    type: bool
    default: true
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
signed:
  description: Whether a pinned key's signature was verified.
  returned: when I(signature) is given
  type: bool
"""


def _sha256(path):
    with open(path, "rb") as handle:
        return sha256_of(handle)


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


def _manifest_of_folder(root, ignore):
    manifest, present = _read_folder(root, ignore)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BundleRefused(f"{root} has no manifest.json listing its files.")
    check_files(root, manifest["files"], present)
    return manifest


def _manifest_of_bundle(path):
    """The bundle file's manifest, once the CLI's rules hold: every entry safe to unpack under
    its one top folder, the release its file name says, every file's sha256."""
    bundle_name = os.path.basename(path)
    digests, content = read_bundle(path)
    try:
        manifest = json.loads(content)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BundleRefused(f"{bundle_name} has an invalid manifest.json (not a manifest).")
    check_release(bundle_name, manifest.get("name"), manifest.get("version"))
    check_files(bundle_name, manifest["files"], digests)
    migrations = manifest.get("migrations")
    if not isinstance(migrations, list) or not all(isinstance(m, dict) for m in migrations):
        raise BundleRefused(f"{bundle_name} has an invalid manifest.json (migrations).")
    referenced = [manifest.get("wheel"), *(m.get("path") for m in migrations)]
    if not all(isinstance(name, str) for name in referenced):
        raise BundleRefused(f"{bundle_name} has an invalid manifest.json (wheel or migrations).")
    check_referenced(bundle_name, manifest["files"], set(referenced))
    return manifest


def verify(path, version, python, ignore):
    """The manifest without its file list, once the bundle or folder at path is release version
    and (python given) built for that interpreter; BundleRefused says why not."""
    try:
        if os.path.isdir(path):
            manifest = _manifest_of_folder(path, ignore)
        else:
            manifest = _manifest_of_bundle(path)
    except BundleRefused:
        raise
    except (OSError, ValueError) as error:
        raise BundleRefused(f"{path} is not a readable release bundle: {error}.") from None
    if manifest.get("version") != version:
        raise BundleRefused(f"The bundle is release {manifest.get('version')}, not {version}.")
    if python:
        host_tag = _python_tag(python)
        if manifest.get("python_tag") != host_tag:
            raise BundleRefused(
                f"The bundle was built for {manifest.get('python_tag')}, but this host's "
                f"{python} is {host_tag}; build it for this host's Python."
            )
    return {key: value for key, value in manifest.items() if key != "files"}


ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "version": {"type": "str", "required": True},
    "python": {"type": "path"},
    "ignore": {"type": "list", "elements": "str", "default": ["venv", ".installed"]},
    "signature": {"type": "path"},
    "allowed_signers": {"type": "str", "default": ""},
    "signature_required": {"type": "bool", "default": True},
}


def answer(params, scratch):
    """The module's result for params (failed set when refused), shared with the action plugin
    of the same name, which gives the answer on the controller in its own process; scratch: a
    private folder for the signature check."""
    path = params["path"]
    signed = {}
    if params["signature"]:
        try:
            key = check_signature(path, params["signature"], params["allowed_signers"],
                                  params["signature_required"], scratch=scratch)  # fmt: skip
        except SignatureRefused as error:
            return {"failed": True, "msg": str(error), "signed": False, "reason": error.reason}
        signed = {"signed": key is not None, "key": key}
    try:
        summary = verify(path, params["version"], params["python"], set(params["ignore"]))
    except BundleRefused as error:
        return {"failed": True, "msg": str(error)}
    extra_result = {} if os.path.isdir(path) else {"sha256": _sha256(path)}
    return {"changed": False, "manifest": summary, **extra_result, **signed}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = answer(module.params, module.tmpdir)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
