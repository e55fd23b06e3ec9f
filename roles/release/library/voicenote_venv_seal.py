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


def _refuse_odd(name: str, info: os.stat_result) -> None:
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        raise Refused(f"{name} is a hard link: pip never makes one")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)
            or stat.S_ISLNK(info.st_mode)):  # fmt: skip
        raise Refused(f"{name} is a special file: pip never makes one")


def _walk(path: str):
    """(folder, name, its folder's descriptor) of every entry under path, path itself first (its
    name absolute, no descriptor). os.fwalk opens each folder by descriptor, relative to its
    parent's, never through a link, and checks it is the folder it listed: a folder swapped for a
    link while this runs leads nowhere outside the venv."""
    yield "", path, None
    for folder, folders, files, descriptor in os.fwalk(path, follow_symlinks=False):
        for name in folders + files:
            yield folder, name, descriptor


def check(path: str) -> int:
    """Refuses a hard-linked regular file or a special file under path; the number of entries,
    path included. Changes nothing."""
    count = 0
    for folder, name, descriptor in _walk(path):
        _refuse_odd(os.path.join(folder, name), os.stat(name, dir_fd=descriptor,
                                                        follow_symlinks=False))  # fmt: skip
        count += 1
    return count


def _seal_entry(name: str, descriptor: int | None, uid: int, gid: int, apply: bool) -> bool:
    """Gives one entry to uid:gid and clears CLEARED from its mode; whether it changed (or
    would). A link itself is given, never what it points at; anything else is opened without
    following a link and changed through that descriptor, after checking it again."""
    info = os.stat(name, dir_fd=descriptor, follow_symlinks=False)
    _refuse_odd(name, info)  # never open a special file put there since the check
    if stat.S_ISLNK(info.st_mode):
        if (info.st_uid, info.st_gid) == (uid, gid):
            return False
        if apply:
            os.chown(name, uid, gid, dir_fd=descriptor, follow_symlinks=False)
        return True
    opened = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=descriptor)  # fmt: skip
    try:
        info = os.fstat(opened)
        _refuse_odd(name, info)
        mode = stat.S_IMODE(info.st_mode)
        if (info.st_uid, info.st_gid) == (uid, gid) and not mode & CLEARED:
            return False
        if apply:
            os.fchown(opened, uid, gid)
            # After chown, which clears set-id bits of its own accord on Linux.
            os.fchmod(opened, mode & ~CLEARED)
        return True
    finally:
        os.close(opened)


def seal(path: str, uid: int, gid: int, apply: bool) -> int:
    """Gives every entry under path to uid:gid and clears CLEARED from its mode; the number of
    entries that changed (or would, when not apply)."""
    return sum(_seal_entry(name, descriptor, uid, gid, apply)
               for _, name, descriptor in _walk(path))  # fmt: skip


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
    uid = pwd.getpwnam(params["owner"]).pw_uid
    gid = grp.getgrnam(params["group"]).gr_gid
    try:
        count = check(params["path"])
        changed = seal(params["path"], uid, gid, apply=not module.check_mode)
    except Refused as error:
        module.fail_json(msg=f"Refusing the venv: {error}.")
    module.exit_json(changed=changed > 0, entries=count)


if __name__ == "__main__":
    main()
