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
        last = "\n"  # an empty trail needs no newline before the line
        for kept in trail:
            if kept.rstrip("\n") == line:
                return False
            last = kept
        # A last line without its newline (a torn write) gets one: the line stays on its own.
        trail.write(("" if last.endswith("\n") else "\n") + line + "\n")
    return True


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
