#!/usr/bin/python
"""A deploy lease in a file on one host: who holds it, for what, since and until when.

Acquire writes the lease atomically under an flock, so two deploys racing for it cannot both
win; a lease whose holder stopped renewing it expires; the same holder (a re-run of the same CI
job) takes its own lease back at once."""

import fcntl
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_lock
short_description: Acquire, renew, release or read a deploy lease kept in a file
options:
  path:
    description: The lease file.
    type: path
    required: true
  action:
    description: What to do.
    type: str
    choices: [acquire, renew, release, status, force_release]
    default: status
  holder:
    description: Who asks (a user@host, or ci:RUN_ID).
    type: str
    default: ""
  operation:
    description: What the holder is doing (deploy, rollback, migrate).
    type: str
    default: deploy
  version:
    description: The release the holder works on.
    type: str
    default: ""
  ttl:
    description: Seconds the lease lasts without a renewal.
    type: int
    default: 600
  wait:
    description: Seconds to wait for a lease held by someone else (0 refuses at once).
    type: int
    default: 0
"""

RETURN = r"""
lease:
  description: The lease after the action (null when none is held).
  type: dict
  returned: always
previous:
  description: The lease before the action.
  type: dict
  returned: always
held_by_other:
  description: True when acquire was refused because another holder's lease is live.
  type: bool
  returned: always
"""


def _now():
    return int(time.time())


def _stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a torn or foreign file is no lease


def _write(path, lease):
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(lease, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o640)
    os.replace(temporary, path)


def _live(lease):
    return lease is not None and lease.get("expires_epoch", 0) > _now()


def _lease(params, previous):
    now = _now()
    kept = previous if previous and previous.get("holder") == params["holder"] else {}
    return {
        "holder": params["holder"],
        "operation": params["operation"],
        "version": params["version"],
        "acquired_at": kept.get("acquired_at", _stamp(now)),
        "renewed_at": _stamp(now),
        "expires_at": _stamp(now + params["ttl"]),
        "expires_epoch": now + params["ttl"],
    }


def _act(module, params):
    path, action = params["path"], params["action"]
    previous = _read(path)
    if action == "status":
        return {"changed": False, "lease": previous if _live(previous) else None}
    if action == "force_release":
        if previous is not None:
            os.unlink(path)
        return {"changed": previous is not None, "lease": None}
    mine = previous is not None and previous.get("holder") == params["holder"]
    if action == "release":
        if mine:
            os.unlink(path)
        return {"changed": mine, "lease": None if mine else previous}
    if action == "renew" and not mine:
        module.fail_json(
            msg=f"The deploy lease is no longer {params['holder']}'s (now: {previous}).",
            previous=previous,
            lease=previous,
            held_by_other=True,
        )
    if action == "acquire" and _live(previous) and not mine:
        return None
    lease = _lease(params, previous)
    _write(path, lease)
    return {"changed": True, "lease": lease}


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "action": {
                "type": "str",
                "default": "status",
                "choices": ["acquire", "renew", "release", "status", "force_release"],
            },
            "holder": {"type": "str", "default": ""},
            "operation": {"type": "str", "default": "deploy"},
            "version": {"type": "str", "default": ""},
            "ttl": {"type": "int", "default": 600},
            "wait": {"type": "int", "default": 0},
        },
        supports_check_mode=False,
    )
    params = module.params
    if params["action"] in ("acquire", "renew", "release") and not params["holder"]:
        module.fail_json(msg="A holder is needed to acquire, renew or release the lease.")
    os.makedirs(os.path.dirname(params["path"]), mode=0o750, exist_ok=True)
    deadline = time.monotonic() + params["wait"]
    while True:
        with open(f"{params['path']}.flock", "a", encoding="utf-8") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            previous = _read(params["path"])
            outcome = _act(module, params)
        if outcome is not None:
            module.exit_json(previous=previous, held_by_other=False, **outcome)
        if time.monotonic() >= deadline:
            module.fail_json(
                msg=(
                    f"{previous['operation']} of {previous['version'] or 'the environment'} by "
                    f"{previous['holder']} holds the deploy lock since {previous['acquired_at']} "
                    f"(until {previous['expires_at']} unless renewed)."
                ),
                previous=previous,
                lease=previous,
                held_by_other=True,
            )
        time.sleep(1)


if __name__ == "__main__":
    main()
