#!/usr/bin/python
"""Switch the app site's live color in one step that undoes itself: write the new upstream file
beside the old one and rename it over it, check the whole configuration (`nginx -t`), reload
nginx gracefully (old workers finish their requests on the old color). When the check or the
reload fails, the old file's bytes are put back the same way (and nginx reloaded again when the
failure came after the reload was asked) and the module fails, saying what went wrong. A file
that already has the content is left alone and nginx is not reloaded.

With a gate, the color the new upstream points at is first asked for /ready and /health (the
health check's own code, voicenote_health_check): the file is touched only once it passes. With
a verify, the same check is asked through the switched nginx after the reload; when it does not
pass, the old file is put back and nginx reloaded again. A switch's gate, switch and check
through nginx cost one round trip to the host instead of three."""

import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voicenote_health_check import CHECK_OPTIONS
from ansible.module_utils.voicenote_health_check import check as health_check

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
  gate:
    description: >-
      A health check (the options of voicenote_health: url, expect_version, retries, delay,
      timeout...) that must pass before the file is touched; none when not given.
    type: dict
  verify:
    description: >-
      A health check (the same options) that must pass after the reload, through the switched
      nginx; when it does not, the previous upstream is put back. None when not given.
    type: dict
"""

RETURN = r"""
switched_at:
  description: Epoch seconds just after nginx was asked to reload (null when nothing changed).
  type: float
  returned: always
gate:
  description: The gate's verdict (as voicenote_health's result), null without a gate; not
    asked in check mode.
  type: dict
  returned: always
verify:
  description: The check's verdict through nginx after the switch, null without one.
  type: dict
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


def switch(path: str, before, content: bytes, run, check: list[str], service: str) -> dict:
    """run(argv) -> (rc, stdout, stderr). `before`: the file's bytes as read (read()). Returns
    changed and switched_at, or raises Failed with the file back as it was."""
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


class CheckFailed(Failed):
    """A check did not pass and nothing was touched: the gate, or the check through an nginx
    that already pointed there. Carries the check's verdict."""

    def __init__(self, verdict: dict) -> None:
        super().__init__(verdict["message"])
        self.verdict = verdict


def gated_switch(params: dict, run, check_health=health_check) -> dict:
    """The gate (params["gate"], when given), the switch, then the check through the switched
    nginx (params["verify"], when given). Raises CheckFailed with the file untouched, or Failed
    with the file back as it was (and nginx reloaded with it when it had reloaded)."""
    gate = check_health(params["gate"]) if params["gate"] else None
    if gate is not None and not gate["ok"]:
        raise CheckFailed(gate)
    path, service = params["path"], params["service"]
    before = read(path)
    result = switch(path, before, params["content"].encode(), run, params["check"], service)
    verify = check_health(params["verify"]) if params["verify"] else None
    if verify is not None and not verify["ok"]:
        if not result["changed"]:
            raise CheckFailed(verify)
        put_back(path, before)
        run(["systemctl", "reload", service])
        raise Failed(f"after the switch, {verify['message']}")
    return {**result, "gate": gate, "verify": verify}


def main() -> None:
    spec = {
        "path": {"type": "path", "required": True},
        "content": {"type": "str", "required": True},
        "check": {"type": "list", "elements": "str", "required": True},
        "service": {"type": "str", "required": True},
        "gate": {"type": "dict", "options": CHECK_OPTIONS},
        "verify": {"type": "dict", "options": CHECK_OPTIONS},
    }
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if module.check_mode:
        content = module.params["content"].encode()
        module.exit_json(changed=read(module.params["path"]) != content, switched_at=None)

    try:
        result = gated_switch(module.params, module.run_command)
    except CheckFailed as refused:
        module.fail_json(msg=str(refused), result=refused.verdict)
    except Failed as failure:
        module.fail_json(msg=f"{failure}; the previous upstream is back.")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
