"""The deploy lease (roles/lock/library/voicenote_lock.py) and the holder's identity
(roles/lock/lookup_plugins/voicenote_lock_identity.py), function by function, without a host:
who may take a live lease, who may renew or release it, and how long a renewal holds it."""

import os
from pathlib import Path

import pytest

from tests.conftest import role_plugin

pytestmark = [pytest.mark.unit, pytest.mark.security]

lock = role_plugin("lock", "library", "voicenote_lock")
identity = role_plugin("lock", "lookup_plugins", "voicenote_lock_identity").identity

NOW = 1_800_000_000
TTL = 600


def ask(action, holder="root@ops1", run="", lease_id="", take_over=False, ttl=TTL):
    return {"action": action, "holder": holder, "run": run, "lease_id": lease_id,
            "take_over": take_over, "operation": "deploy", "version": "1.1.0",
            "ttl": ttl}  # fmt: skip


def acquired(now=NOW, **who):
    outcome = lock.decide(ask("acquire", **who), None, now)
    return outcome["lease"]


def test_a_free_lock_is_taken_with_a_new_id_for_ttl_seconds():
    outcome = lock.decide(ask("acquire"), None, NOW)
    lease = outcome["lease"]
    assert outcome["write"] == lease and outcome["taken_over"] is None
    assert lease["holder"] == "root@ops1" and lease["expires_epoch"] == NOW + TTL
    assert len(lease["id"]) == 16 and acquired()["id"] != lease["id"]


def test_a_live_lease_refuses_another_holder_and_the_same_account_elsewhere():
    held = acquired(holder="alice@ops1")
    assert lock.decide(ask("acquire", holder="bob@ops2"), held, NOW + 1) is None
    # The same account on the same machine is not the same run: no take-back without asking.
    assert lock.decide(ask("acquire", holder="alice@ops1"), held, NOW + 1) is None
    assert lock.decide(ask("acquire", run="4243"), acquired(run="4242"), NOW + 1) is None


def test_the_same_ci_run_takes_its_live_lease_back_recorded():
    held = acquired(holder="ci:4242 (octocat)", run="4242")
    outcome = lock.decide(ask("acquire", holder="ci:4242 (octocat)", run="4242"), held, NOW + 5)
    assert outcome["taken_over"] == held
    assert outcome["lease"]["id"] != held["id"]


def test_take_over_takes_anyones_live_lease_recorded():
    held = acquired(holder="alice@ops1")
    outcome = lock.decide(ask("acquire", holder="bob@ops2", take_over=True), held, NOW + 5)
    assert outcome["taken_over"] == held and outcome["lease"]["holder"] == "bob@ops2"


def test_an_expired_lease_is_free_and_no_take_over():
    held = acquired(holder="alice@ops1")
    outcome = lock.decide(ask("acquire", holder="bob@ops2"), held, NOW + TTL)
    assert outcome["lease"]["holder"] == "bob@ops2" and outcome["taken_over"] is None


def test_only_the_lease_id_renews_and_a_renewal_keeps_id_and_start():
    held = acquired()
    renewed = lock.decide(ask("renew", lease_id=held["id"]), held, NOW + 100)["lease"]
    assert (renewed["id"], renewed["acquired_at"]) == (held["id"], held["acquired_at"])
    assert renewed["expires_epoch"] == NOW + 100 + TTL
    with pytest.raises(lock.LeaseLost, match="no longer this run's"):
        lock.decide(ask("renew", lease_id="another-id"), held, NOW + 100)
    with pytest.raises(lock.LeaseLost, match="it is gone"):
        lock.decide(ask("renew", lease_id=held["id"]), None, NOW + 100)


def test_a_run_whose_lease_was_taken_over_can_neither_renew_nor_release_it():
    first = acquired(holder="ci:1 (a)", run="1")
    taker = lock.decide(ask("acquire", holder="ops@x", take_over=True), first, NOW + 1)["lease"]
    with pytest.raises(lock.LeaseLost, match="ops@x's since"):
        lock.decide(ask("renew", lease_id=first["id"]), taker, NOW + 2)
    released = lock.decide(ask("release", lease_id=first["id"]), taker, NOW + 2)
    assert released == {"lease": taker, "remove": False}
    assert lock.decide(ask("release", lease_id=taker["id"]), taker, NOW + 2)["remove"] is True


def test_a_renewal_covering_a_watch_longer_than_the_lease_holds_it_to_the_end():
    """What the watch phase asks (lock_ttl + lock_cover_seconds): a 9999 s watch that starts
    now still holds the lease at its end, with lock_ttl to spare."""
    held = acquired()
    watch = 9999
    renewed = lock.decide(ask("renew", lease_id=held["id"], ttl=TTL + watch), held, NOW)["lease"]
    assert lock.live(renewed, NOW + watch + TTL - 1)
    assert lock.decide(ask("acquire", holder="other@ops2"), renewed, NOW + watch) is None
    # Without the cover the same watch would have outlived the lease.
    plain = lock.decide(ask("renew", lease_id=held["id"]), held, NOW)["lease"]
    assert not lock.live(plain, NOW + watch)


def test_status_shows_only_a_live_lease_and_force_release_breaks_any():
    held = acquired()
    assert lock.decide(ask("status"), held, NOW + 1)["lease"] == held
    assert lock.decide(ask("status"), held, NOW + TTL)["lease"] is None
    assert lock.decide(ask("force_release", holder="bob@ops2"), held, NOW + 1)["remove"] is True


def test_the_refusal_names_the_holder_and_the_ways_on():
    message = lock.refusal(acquired(holder="ci:4242 (octocat)", run="4242"))
    assert "by ci:4242 (octocat) holds the deploy lock" in message
    assert "--take-over" in message and "voicenote_lock_take_over=true" in message
    assert "wait" in message


def test_the_lease_file_is_written_whole_and_removed(tmp_path):
    path = str(tmp_path / "deploy.lock")
    lease = acquired()
    assert lock.apply(path, {"lease": lease, "write": lease}) is True
    assert lock._read(path) == lease and oct(os.stat(path).st_mode & 0o777) == "0o640"
    assert lock.apply(path, {"lease": lease}) is False
    assert lock.apply(path, {"lease": None, "remove": True}) is True and lock._read(path) is None


def test_the_identity_is_the_ci_run_or_the_real_account_never_a_claimed_name():
    ci = identity({"GITHUB_RUN_ID": "4242", "GITHUB_ACTOR": "octocat", "GITHUB_RUN_ATTEMPT": "2"},
                  0, "runner")  # fmt: skip
    assert ci == {"holder": "ci:4242 (octocat)", "run": "4242"}
    # $USER and the old $VOICENOTE_LOCK_HOLDER grant nothing: the account is the real uid's.
    local = identity({"USER": "ci:4242", "VOICENOTE_LOCK_HOLDER": "ci:4242"}, 0, "ops1")
    assert local == {"holder": "root@ops1", "run": ""}
    assert identity({"GITHUB_RUN_ID": " "}, os.getuid(), "h")["run"] == ""
    assert identity({}, 2**31 - 7, "h")["holder"] == f"uid-{2**31 - 7}@h"


AWX_JOB = {"JOB_ID": "318", "AWX_HOST": "https://awx.example.org", "GITHUB_RUN_ID": "4242"}


def test_an_awx_job_is_its_job_id_labelled_by_who_launched_it():
    user = {"awx_job_id": 318, "awx_user_name": "alice", "awx_user_id": 7}
    assert identity(AWX_JOB, 0, "ee", user) == {"holder": "awx:318 (alice)", "run": "awx:318"}
    scheduled = {"awx_job_id": "318", "awx_schedule_id": 4, "awx_schedule_name": "nightly"}
    assert identity(AWX_JOB, 0, "ee", scheduled)["holder"] == "awx:318 (schedule nightly)"
    # awx_* variables of another job (passed by hand, or a copied extra vars file) label nothing;
    # the run stays the job's: AWX's record of job 318 says who launched it.
    forged = {"awx_job_id": 9, "awx_user_name": "mallory"}
    assert identity(AWX_JOB, 0, "ee", forged) == {"holder": "awx:318", "run": "awx:318"}
    assert identity(AWX_JOB, 0, "ee", None)["holder"] == "awx:318"
    # An AWX job's run never equals a GitHub run of the same number: neither takes the other's.
    assert identity({"GITHUB_RUN_ID": "318"}, 0, "r")["run"] != identity(AWX_JOB, 0, "ee")["run"]


def test_awx_variables_outside_an_awx_job_grant_nothing():
    claimed = {"awx_job_id": 318, "awx_user_name": "alice"}
    # JOB_ID alone is a name other CI systems use too: AWX also sets AWX_HOST for every job.
    assert identity({"JOB_ID": "318"}, 0, "ops1", claimed) == {"holder": "root@ops1", "run": ""}
    assert identity({}, 0, "ops1", claimed) == {"holder": "root@ops1", "run": ""}
    assert identity({"JOB_ID": " ", "AWX_HOST": "x", "GITHUB_RUN_ID": "5"}, 0, "r", claimed) == {
        "holder": "ci:5", "run": "5"}  # fmt: skip


audit = role_plugin("lock", "library", "voicenote_audit")


class Ended(Exception):
    """How a module ends: exit_json or fail_json, with what it returned."""


class Module:
    def exit_json(self, **result):
        raise Ended({"failed": False, **result})

    def fail_json(self, **result):
        raise Ended({"failed": True, **result})


def held(path, **who):
    params = {**ask("acquire", **who), "ttl": TTL}
    _, outcome, _ = lock.under_flock(path, params)
    return outcome["lease"]


def record_and_release(trail, lease_file, lease_id):
    params = {"path": trail, "record": {"to": "1.1.0"}, "signing_key": None,
              "release_lease_file": lease_file, "release_lease_id": lease_id}  # fmt: skip
    with pytest.raises(Ended) as ended:
        audit.append_and_release(Module(), params)
    return ended.value.args[0]


def test_the_record_and_the_release_of_the_runs_lease_are_one_step(tmp_path):
    lease_file, trail = str(tmp_path / "deploy.lock"), str(tmp_path / "audit.jsonl")
    lease = held(lease_file)
    result = record_and_release(trail, lease_file, lease["id"])
    assert not result["failed"] and result["released"] is True
    assert lock._read(lease_file) is None
    assert result["line"] == '{"to": "1.1.0"}'
    assert Path(trail).read_text() == result["line"] + "\n"


def test_a_lease_taken_over_meanwhile_is_left_to_its_new_holder(tmp_path):
    lease_file, trail = str(tmp_path / "deploy.lock"), str(tmp_path / "audit.jsonl")
    ours = held(lease_file)
    theirs = lock.under_flock(lease_file, {**ask("acquire", holder="ci:7"), "take_over": True})
    result = record_and_release(trail, lease_file, ours["id"])
    assert not result["failed"] and result["released"] is False
    assert lock._read(lease_file) == theirs[1]["lease"]


def test_a_record_that_cannot_be_written_still_releases_the_lease_and_fails(tmp_path):
    lease_file = str(tmp_path / "deploy.lock")
    lease = held(lease_file)
    (tmp_path / "trail").mkdir()  # a folder where the trail should be: the append fails
    result = record_and_release(str(tmp_path / "trail"), lease_file, lease["id"])
    assert result["failed"] and result["released"] is True
    assert result["msg"].startswith("The audit record could not be written:")
    assert lock._read(lease_file) is None
