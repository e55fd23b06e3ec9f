#!/usr/bin/python
"""Seal a release's venv after pip made it as the service user: refuse what pip never makes,
then give every entry to root and take write and set-id bits away, in one module run."""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_venv_seal
short_description: Check a venv pip made, then make it root's and read-only for its group
description:
  - First reads the whole tree under I(path) without following links. What pip makes is
    regular files, folders and symbolic links; a regular file with a second hard link (to a
    file outside, which the ownership change would hand to I(group)) or any special file was put
    there by someone else, and the module fails before it changes anything.
  - Then gives every entry to I(owner):I(group) (a link itself, never what it points at) and
    removes group and other write bits and the set-user and set-group bits from every file and
    folder (links have no mode of their own).
options:
  path:
    description: The venv folder.
    type: path
    required: true
  owner:
    description: The user the venv belongs to afterwards.
    type: str
    required: true
  group:
    description: The group that may read it afterwards (the service group).
    type: str
    required: true
"""

RETURN = r"""
entries:
  description: How many entries the venv holds, itself included.
  returned: success
  type: int
"""

# go-w and ug-s: the running app (the service group) can never change its own code.
CLEARED = stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID


class Refused(Exception):
    """The venv holds something pip does not make."""


def entries(path: str) -> list[tuple[str, os.stat_result]]:
    """Every entry under path (path first), never following a link, each with its lstat; refuses
    a hard-linked regular file or a special file before anything is changed."""
    found = [(path, os.lstat(path))]
    for folder, folders, files in os.walk(path):
        for name in folders + files:
            entry = os.path.join(folder, name)
            info = os.lstat(entry)
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                raise Refused(f"{entry} is a hard link: pip never makes one")
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)
                    or stat.S_ISLNK(info.st_mode)):  # fmt: skip
                raise Refused(f"{entry} is a special file: pip never makes one")
            found.append((entry, info))
    return found


def seal(found: list[tuple[str, os.stat_result]], uid: int, gid: int, apply: bool) -> int:
    """Gives each entry to uid:gid and clears CLEARED from its mode; the number of entries that
    changed (or would, when not apply)."""
    changed = 0
    for entry, info in found:
        owned = (info.st_uid, info.st_gid) == (uid, gid)
        link = stat.S_ISLNK(info.st_mode)
        mode = stat.S_IMODE(info.st_mode)
        if owned and (link or not mode & CLEARED):
            continue
        changed += 1
        if apply:
            os.lchown(entry, uid, gid)
            if not link:
                # After chown, which clears set-id bits of its own accord on Linux.
                os.chmod(entry, mode & ~CLEARED)
    return changed


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "owner": {"type": "str", "required": True},
            "group": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        found = entries(params["path"])
    except Refused as error:
        module.fail_json(msg=f"Refusing the venv: {error}.")
    uid = pwd.getpwnam(params["owner"]).pw_uid
    gid = grp.getgrnam(params["group"]).gr_gid
    changed = seal(found, uid, gid, apply=not module.check_mode)
    module.exit_json(changed=changed > 0, entries=len(found))


if __name__ == "__main__":
    main()
