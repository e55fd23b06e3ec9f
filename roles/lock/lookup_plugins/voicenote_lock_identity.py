"""Who takes the deploy lease: the controller process's identity, never a name it is handed.

In GitHub Actions the CI run (GITHUB_RUN_ID; a re-run attempt keeps it, so a re-run job may
take back the lease its dead attempt left), with the actor who started it; elsewhere the account
of the process's real uid, from the password database (not $USER, which anyone sets), at the
controller's host name. A run id is what lets a run take over a live lease without asking."""

import os
import pwd
import socket

from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: voicenote_lock_identity
short_description: The controller's identity for the deploy lease
description:
  - A dict with C(holder) (shown to others and in the audit trail) and C(run) (the CI run id,
    empty outside CI).
"""


def account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid the container's password database does not name
        return f"uid-{uid}"


def identity(environ, uid: int, host: str) -> dict:
    run = environ.get("GITHUB_RUN_ID", "").strip()
    if run:
        actor = environ.get("GITHUB_ACTOR", "").strip()
        return {"holder": f"ci:{run}" + (f" ({actor})" if actor else ""), "run": run}
    return {"holder": f"{account(uid)}@{host}", "run": ""}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [identity(os.environ, os.getuid(), socket.gethostname())]
