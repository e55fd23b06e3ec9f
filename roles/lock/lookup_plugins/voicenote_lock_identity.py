"""Who takes the deploy lease: the controller process's identity, never a name it is handed.

In an AWX / Automation Platform job, the job (JOB_ID, which AWX sets in the job's environment
and refuses from every credential type), labelled with who launched it; in GitHub Actions the CI
run (GITHUB_RUN_ID; a re-run attempt keeps it, so a re-run job may take back the lease its dead
attempt left), with the actor who started it; elsewhere the account of the process's real uid,
from the password database (not $USER, which anyone sets), at the controller's host name. A run
id is what lets a run take over a live lease without asking."""

import os
import pwd
import socket

from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: voicenote_lock_identity
short_description: The controller's identity for the deploy lease
description:
  - A dict with C(holder) (shown to others and in the audit trail) and C(run) (the CI run id or
    C(awx:JOB_ID), empty outside CI and AWX).
"""


def account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid the container's password database does not name
        return f"uid-{uid}"


def awx_label(job: str, variables: dict) -> str:
    """Who started AWX job `job`, from the awx_* variables AWX writes into the job's extra vars
    after everything a user may pass (so they win), and only when they are this job's (awx_job_id
    equal to JOB_ID): the user who launched it, else the schedule, else nothing. A label, not a
    proof: AWX writes the user only for a job a user launched, so on a scheduled job a job
    template's own extra vars could name one; AWX's record of job JOB_ID is the proof."""
    if str(variables.get("awx_job_id", "")).strip() != job:
        return ""
    user = str(variables.get("awx_user_name", "")).strip()
    schedule = str(variables.get("awx_schedule_name", "")).strip()
    return user or (f"schedule {schedule}" if schedule else "")


def identity(environ, uid: int, host: str, variables: dict | None = None) -> dict:
    job = environ.get("JOB_ID", "").strip()
    if job and environ.get("AWX_HOST", "").strip():
        label = awx_label(job, variables or {})
        return {"holder": f"awx:{job}" + (f" ({label})" if label else ""), "run": f"awx:{job}"}
    run = environ.get("GITHUB_RUN_ID", "").strip()
    if run:
        actor = environ.get("GITHUB_ACTOR", "").strip()
        return {"holder": f"ci:{run}" + (f" ({actor})" if actor else ""), "run": run}
    return {"holder": f"{account(uid)}@{host}", "run": ""}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [identity(os.environ, os.getuid(), socket.gethostname(), variables)]
