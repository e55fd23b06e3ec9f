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

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voicenote_lease import (  # noqa: F401 (the tests read them here)
    ACTIONS,
    LeaseLost,
    _read,
    apply,
    decide,
    live,
    refusal,
    under_flock,
)

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

# The revisions Alembic recorded, comma-separated in order (roles/migrate/tasks/current.yml).
SCHEMA_SQL = "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version"


def schema_read_argv(database):
    """psql as postgres, from root (the module runs with become), reading the revisions."""
    psql = ["psql", "-X", "-tA", "-d", database, "-c", SCHEMA_SQL]
    return ["runuser", "-u", "postgres", "--", *psql]


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
    deadline = time.monotonic() + params["wait"]
    while True:
        try:
            previous, outcome, changed = under_flock(params["path"], params)
        except LeaseLost as lost:
            module.fail_json(
                msg=str(lost), previous=lost.previous, lease=lost.previous, held_by_other=True
            )
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
