"""Append the signed audit line to the controller's copy of the trail, in the controller's own
process: a module would cost a Python start and a module import on the controller for one
line. The folder is created private (0700) and the file private (0600); a line already in the
file is not appended twice. Only the controller's files are touched, whatever the task's
connection."""

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


def append_once(path: str, line: str) -> bool:
    """Append line (one line, no newline in it) to path unless the file holds it already; True
    when it was appended."""
    if "\n" in line or not line:
        raise ValueError("an audit line is one non-empty line")
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as trail:
        if line in (kept.rstrip("\n") for kept in trail):
            return False
        if trail.tell() and not _ends_with_newline(path):
            trail.write("\n")
        trail.write(line + "\n")
    return True


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as trail:
        trail.seek(-1, os.SEEK_END)
        return trail.read(1) == b"\n"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec={
                "path": {"type": "path", "required": True},
                "line": {"type": "str", "required": True},
            }
        )
        try:
            appended = append_once(args["path"], args["line"])
        except (OSError, ValueError) as error:
            raise AnsibleActionFail(f"Cannot append to {args['path']}: {error}") from error
        result.update(changed=appended, path=args["path"])
        return result
