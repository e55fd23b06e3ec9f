"""What `status` shows from a run of status.yml, where the app hosts and the database are read
at the same time: the fleet and the schema head, and a database that could not be read said as
such (never a schema head of none)."""

import pytest

from voicenote_ops.errors import NeedsAttention
from voicenote_ops.models.results import HostOutcome, RunResult
from voicenote_ops.services.inspect import status_from

pytestmark = pytest.mark.unit

BLUE_LIVE = {
    "live": "blue", "idle": "green", "releases": ["1.0.0", "1.1.0"],
    "colors": {"blue": {"version": "1.1.0", "active": True},
               "green": {"version": "1.0.0", "active": True}},
}  # fmt: skip


READ = HostOutcome(ok=4)


def run(reported, db=READ):
    hosts = {"app1": HostOutcome(ok=3), "db1": db}
    return RunResult("failed" if db.failed else "successful", 2 if db.failed else 0, 1.0, hosts,
                     reported)  # fmt: skip


def test_the_fleet_and_the_schema_head_are_shown():
    shown = status_from(run({"voicenote_hosts": {"app1": BLUE_LIVE}, "voicenote_schema": ["0002"]}))
    assert shown.schema_head == ["0002"]
    (app1,) = shown.hosts
    assert (app1.live_version, app1.idle_version, app1.idle_running) == ("1.1.0", "1.0.0", True)


def test_a_database_never_migrated_has_a_schema_head_of_none():
    assert (
        status_from(
            run({"voicenote_hosts": {"app1": BLUE_LIVE}, "voicenote_schema": []})
        ).schema_head
        == []
    )


def test_a_database_that_could_not_be_read_is_said_not_shown_as_none():
    down = HostOutcome(
        failed=1, message="PostgreSQL on db1 did not answer (psql as postgres: ...)."
    )
    with pytest.raises(NeedsAttention, match="could not read the schema head: PostgreSQL on db1"):
        status_from(run({"voicenote_hosts": {"app1": BLUE_LIVE}}, db=down))
