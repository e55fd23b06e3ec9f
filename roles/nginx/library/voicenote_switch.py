#!/usr/bin/python
"""Switch the app site's live color in one step that undoes itself: write the new upstream file
beside the old one and rename it over it, check the whole configuration (`nginx -t`), reload
nginx gracefully (old workers finish their requests on the old color). When the check or the
reload fails, the old file's bytes are put back the same way (and nginx reloaded again when the
failure came after the reload was asked) and the module fails, saying what went wrong. A file
that already has the content is left alone and nginx is not reloaded."""

import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_switch
short_description: Rewrite nginx's upstream file, check and reload, or put it back as it was
options:
  path:
    description: The upstream file the app site includes.
    type: path
    required: true
  content:
    description: What the file must hold.
    type: str
    required: true
  check:
    description: The command that checks nginx's whole configuration (argv).
    type: list
    elements: str
    required: true
  service:
    description: The systemd service of the nginx that serves the app site.
    type: str
    required: true
"""

RETURN = r"""
switched_at:
  description: Epoch seconds just after nginx was asked to reload (null when nothing changed).
  type: float
  returned: always
"""


def write(path: str, data: bytes) -> None:
    """Replace the file at once: a reader sees the old bytes or the new ones, never a mix."""
    folder = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(prefix=".voicenote-switch-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read(path: str):
    """The file's bytes, or None when there is none yet."""
    try:
        with open(path, "rb") as current:
            return current.read()
    except FileNotFoundError:
        return None


def put_back(path: str, before) -> None:
    if before is None:
        os.unlink(path)
    else:
        write(path, before)


def switch(path: str, content: bytes, run, check: list[str], service: str) -> dict:
    """run(argv) -> (rc, stdout, stderr). Returns changed and switched_at, or raises Failed with
    the file back as it was."""
    before = read(path)
    if before == content:
        return {"changed": False, "switched_at": None}
    write(path, content)
    rc, _, err = run(check)
    if rc != 0:
        put_back(path, before)
        raise Failed(f"nginx -t refused the new upstream: {err.strip()}")
    rc, _, err = run(["systemctl", "reload", service])
    switched_at = time.time()
    if rc != 0:
        put_back(path, before)
        run(["systemctl", "reload", service])
        raise Failed(f"reloading {service} failed: {err.strip()}")
    return {"changed": True, "switched_at": switched_at}


class Failed(Exception):
    pass


def main() -> None:
    spec = {
        "path": {"type": "path", "required": True},
        "content": {"type": "str", "required": True},
        "check": {"type": "list", "elements": "str", "required": True},
        "service": {"type": "str", "required": True},
    }
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    path, content = module.params["path"], module.params["content"].encode()
    if module.check_mode:
        module.exit_json(changed=read(path) != content, switched_at=None)

    try:
        result = switch(
            path, content, module.run_command, module.params["check"], module.params["service"]
        )
    except Failed as failure:
        module.fail_json(msg=f"{failure}; the previous upstream is back.")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
