#!/usr/bin/python
"""Write a file that holds a secret from text given as the module's argument.

`template` and `copy` with `content` first write what they send to a file in the controller's
local temporary folder (~/.ansible/tmp), where it stays for the whole transfer: a secret would
sit on the controller's disk on every run. This module takes the text as an argument instead; with
pipelining (ansible.cfg) the argument travels on the SSH connection's stdin and no file on the
controller ever holds it. On the host the new text goes to a 0600 file beside the destination,
is checked (`validate`), then replaces it in one rename, so a reader never sees half a file."""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

DOCUMENTATION = r"""
module: voicenote_secret_file
short_description: Write a file holding a secret, with no copy of it on the controller's disk
options:
  dest:
    description: The file to write.
    type: path
    required: true
  content:
    description: The file's whole text (never logged).
    type: str
    required: true
  backup:
    description: Keep a timestamped copy of the file it replaces.
    type: bool
    default: false
  validate:
    description: A command run on the new file before it replaces the old one; C(%s) is the
      new file's path. The file is not replaced when it fails.
    type: str
extends_documentation_fragment: [files]
"""

RETURN = r"""
backup_file:
  description: The copy of the replaced file, when one was kept.
  type: str
  returned: changed and backup
"""


def same_text(path: str, content: bytes) -> bool:
    try:
        with open(path, "rb") as current:
            return current.read() == content
    except FileNotFoundError:
        return False


def write_beside(module: AnsibleModule, dest: str, content: bytes) -> str:
    """The new text in a 0600 file in the destination's folder (so the rename is atomic), with
    the destination's owner and mode, then the ones asked for, checked by `validate`; its path."""
    descriptor, path = tempfile.mkstemp(dir=os.path.dirname(dest) or ".", prefix=".secret-")
    try:
        with os.fdopen(descriptor, "wb") as new:
            new.write(content)
        if os.path.exists(dest):
            kept = os.stat(dest)
            os.chown(path, kept.st_uid, kept.st_gid)
            os.chmod(path, kept.st_mode & 0o7777)
        module.set_fs_attributes_if_different(
            module.load_file_common_arguments(module.params, path=path), True
        )
        validate = module.params["validate"]
        if validate:
            if "%s" not in validate:
                module.fail_json(msg="validate must name the new file as %s")
            rc, _, err = module.run_command(validate % path)
            if rc != 0:
                module.fail_json(msg=f"validate refused the new file (exit {rc}): {err.strip()}")
    except BaseException:
        os.unlink(path)
        raise
    return path


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "dest": {"type": "path", "required": True},
            "content": {"type": "str", "required": True, "no_log": True},
            "backup": {"type": "bool", "default": False},
            "validate": {"type": "str"},
        },
        add_file_common_args=True,
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    content = to_bytes(module.params["content"], errors="surrogate_or_strict")
    result = {"changed": False, "dest": dest}
    if not same_text(dest, content):
        result["changed"] = True
        if not module.check_mode:
            new = write_beside(module, dest, content)
            if module.params["backup"] and os.path.exists(dest):
                result["backup_file"] = module.backup_local(dest)
            # The new file already has its owner and mode: nobody sees it otherwise at dest.
            os.replace(new, dest)
    if os.path.exists(dest):
        file_args = module.load_file_common_arguments(module.params, path=dest)
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
