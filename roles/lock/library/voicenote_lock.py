#!/usr/bin/python
"""A deploy lease in a file on one host: who holds it, for what, since and until when.

Acquire writes the lease atomically under an flock, so two deploys racing for it cannot both
win; a lease whose holder stopped renewing it expires. A live lease is taken over only by the
same CI run (a re-run of a job whose runner died) or on an explicit take_over, and the lease
taken over is returned so the run can record it. Each lease gets an id: only the run that holds
that id renews or releases it, so a run whose lease was taken over learns it at its next
renewal instead of carrying on unlocked.

An acquire can also read, once the lease is taken, the database's schema revision on this host
(read_schema_of): the run's schema guard needs it next, and reading it in the same round trip
saves one. The read is psql as postgres; it never fails the acquire (its rc, stdout and stderr
come back as schema_read for the guard to judge)."""

import fcntl
import json
import os
import secrets
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
    description: Who asks, as shown to others (user@host, or ci:RUN_ID (actor)).
    type: str
    default: ""
  run:
    description: The CI run that asks (empty outside CI); the same run may take its lease back.
    type: str
    default: ""
  lease_id:
    description: The id acquire returned, which renew and release need.
    type: str
    default: ""
  take_over:
    description: Take a live lease of another holder (after making sure that run is dead).
    type: bool
    default: false
  operation:
    description: What the holder is doing (deploy, rollback, migrate).
    type: str
    default: deploy
  version:
    description: The release the holder works on.
    type: str
    default: ""
  ttl:
    description: Seconds the lease lasts from now without a renewal.
    type: int
    default: 600
  wait:
    description: Seconds to wait for a lease held by someone else (0 refuses at once).
    type: int
    default: 0
  read_schema_of:
    description: >-
      After an acquire, read this database's Alembic revisions (psql as postgres) and return
      them as schema_read; empty reads nothing.
    type: str
    default: ""
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
taken_over:
  description: The live lease of another run that acquire replaced (null when there was none).
  type: dict
  returned: always
held_by_other:
  description: True when acquire was refused because another holder's lease is live.
  type: bool
  returned: always
asked_by:
  description: The holder that asked (who broke a lease, for force_release).
  type: str
  returned: on success
schema_read:
  description: >-
    The database's revisions as psql printed them (comma-separated, in order): database, rc,
    stdout, stderr. A database never migrated has no alembic_version table (rc 1, stderr says so).
  type: dict
  returned: when read_schema_of is set and the lease was acquired
"""

ACTIONS = ["acquire", "renew", "release", "status", "force_release"]
# The revisions Alembic recorded, comma-separated in order (roles/migrate/tasks/current.yml).
SCHEMA_SQL = "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version"


def schema_read_argv(database):
    """psql as postgres, from root (the module runs with become), reading the revisions."""
    psql = ["psql", "-X", "-tA", "-d", database, "-c", SCHEMA_SQL]
    return ["runuser", "-u", "postgres", "--", *psql]


def _now():
    return int(time.time())


def _stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            lease = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a torn or foreign file is no lease
    return lease if isinstance(lease, dict) else None


def _write(path, lease):
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(lease, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o640)
    os.replace(temporary, path)


def live(lease, now):
    return lease is not None and lease.get("expires_epoch", 0) > now


def mine(lease, params):
    return lease is not None and bool(params["lease_id"]) and lease.get("id") == params["lease_id"]


def same_run(lease, params):
    return lease is not None and bool(params["run"]) and lease.get("run") == params["run"]


def refusal(lease):
    """What a second holder is told: who holds the lease, until when, and the two ways on."""
    return (
        f"{lease.get('operation', 'a run')} of {lease.get('version') or 'the environment'} by "
        f"{lease.get('holder', 'someone')} holds the deploy lock since "
        f"{lease.get('acquired_at', '?')} (until {lease.get('expires_at', '?')} unless renewed); "
        "once sure that run is dead, take the lock over with --take-over "
        "(-e voicenote_lock_take_over=true), recorded in the audit trail, or wait for it."
    )


def new_lease(params, previous, now):
    """The lease this run holds from now on; a renewal keeps its id and start."""
    kept = previous if params["action"] == "renew" else {}
    return {
        "id": kept.get("id") or secrets.token_hex(8),
        "holder": params["holder"],
        "run": params["run"],
        "operation": params["operation"],
        "version": params["version"],
        "acquired_at": kept.get("acquired_at", _stamp(now)),
        "renewed_at": _stamp(now),
        "renewed_epoch": now,
        "expires_at": _stamp(now + params["ttl"]),
        "expires_epoch": now + params["ttl"],
    }


class LeaseLost(Exception):
    """A renewal found the lease gone, expired and taken, or taken over."""


def decide(params, previous, now):
    """The outcome of the action on the lease as it is (a dict, with `write` the lease to write,
    or `remove`), or None when acquire must wait for another holder's live lease."""
    action = params["action"]
    if action == "status":
        return {"lease": previous if live(previous, now) else None}
    if action == "force_release":
        return {"lease": None, "remove": previous is not None}
    if action == "release":
        ours = mine(previous, params)
        return {"lease": None if ours else previous, "remove": ours}
    if action == "renew":
        if not mine(previous, params):
            now_held = (
                f"{previous.get('holder')}'s since {previous.get('acquired_at')}"
                if previous
                else "gone"
            )
            raise LeaseLost(
                f"The deploy lease is no longer this run's ({params['holder']}): it is "
                f"{now_held} (taken over, or broken with lock release)."
            )
        lease = new_lease(params, previous, now)
        return {"lease": lease, "write": lease}
    contested = live(previous, now)
    if contested and not (same_run(previous, params) or params["take_over"]):
        return None
    lease = new_lease(params, previous, now)
    return {"lease": lease, "write": lease, "taken_over": previous if contested else None}


def apply(path, outcome):
    """Write or remove the lease file as decided; whether it changed."""
    if outcome.get("write") is not None:
        _write(path, outcome["write"])
        return True
    if outcome.get("remove"):
        os.unlink(path)
        return True
    return False


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "action": {"type": "str", "default": "status", "choices": ACTIONS},
            "holder": {"type": "str", "default": ""},
            "run": {"type": "str", "default": ""},
            "lease_id": {"type": "str", "default": ""},
            "take_over": {"type": "bool", "default": False},
            "operation": {"type": "str", "default": "deploy"},
            "version": {"type": "str", "default": ""},
            "ttl": {"type": "int", "default": 600},
            "wait": {"type": "int", "default": 0},
            "read_schema_of": {"type": "str", "default": ""},
        },
        supports_check_mode=False,
    )
    params = module.params
    if params["action"] == "acquire" and not params["holder"]:
        module.fail_json(msg="A holder is needed to acquire the lease.")
    if params["action"] in ("renew", "release") and not params["lease_id"]:
        module.fail_json(msg="The lease's id (from acquire) is needed to renew or release it.")
    os.makedirs(os.path.dirname(params["path"]), mode=0o750, exist_ok=True)
    deadline = time.monotonic() + params["wait"]
    while True:
        with open(f"{params['path']}.flock", "a", encoding="utf-8") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            previous = _read(params["path"])
            try:
                outcome = decide(params, previous, _now())
            except LeaseLost as lost:
                module.fail_json(
                    msg=str(lost), previous=previous, lease=previous, held_by_other=True
                )
            changed = outcome is not None and apply(params["path"], outcome)
        if outcome is not None:
            read = {}
            if params["action"] == "acquire" and params["read_schema_of"]:
                rc, out, err = module.run_command(
                    schema_read_argv(params["read_schema_of"]), cwd="/"
                )
                read = {
                    "schema_read": {
                        "database": params["read_schema_of"],
                        "rc": rc,
                        "stdout": out,
                        "stderr": err,
                    }
                }
            module.exit_json(
                **read,
                changed=changed,
                previous=previous,
                held_by_other=False,
                taken_over=outcome.get("taken_over"),
                lease=outcome["lease"],
                asked_by=params["holder"],
            )
        if time.monotonic() >= deadline:
            module.fail_json(
                msg=refusal(previous), previous=previous, lease=previous, held_by_other=True
            )
        time.sleep(1)


if __name__ == "__main__":
    main()
