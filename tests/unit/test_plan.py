"""The plan's pure parts: which migrations are pending, and what each host would do."""

import pytest

from tests.conftest import role_plugin
from voicenote_ops.bundle.manifest import Manifest, Migration
from voicenote_ops.services.plan import _host_plan, pending_migrations

pytestmark = pytest.mark.unit

ACTION = role_plugin("bluegreen", "filter_plugins", "action")


def manifest(*migrations: Migration, heads: tuple[str, ...]) -> Manifest:
    return Manifest(
        name="voicenote-api", version="2.0.0", package_version="2.0.0", source_commit="x",
        python_tag="cp311", platforms=("any",), wheel="w.whl", alembic_heads=heads,
        migrations=migrations, files={},
    )  # fmt: skip


M1 = Migration(revision="0001", down_revisions=(), path="m/1.py", backward_compatible=True)
M2 = Migration(revision="0002", down_revisions=("0001",), path="m/2.py", backward_compatible=True)
M3 = Migration(revision="0003", down_revisions=("0002",), path="m/3.py", backward_compatible=False)


def test_pending_migrations_run_oldest_first_with_their_compatibility():
    release = manifest(M1, M2, M3, heads=("0003",))
    assert pending_migrations(release, ["0001"]) == [
        {"revision": "0002", "backward_compatible": True},
        {"revision": "0003", "backward_compatible": False},
    ]
    assert [m["revision"] for m in pending_migrations(release, [])] == ["0001", "0002", "0003"]
    assert pending_migrations(release, ["0003"]) == []


def state(live_version, idle_version, idle_active=True):
    """A host's color state, shaped as voicenote_bluegreen_state returns it."""
    return {
        "live": "blue", "idle": "green", "serves": live_version,
        "colors": {"blue": {"version": live_version, "active": True},
                   "green": {"version": idle_version, "active": idle_active}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("host_state", "action"),
    [
        (state("1.1.0", "1.0.0"), "none"),
        (state("1.0.0", "1.1.0"), "switch"),
        (state("1.0.0", "1.1.0", idle_active=False), "start"),
        (state("1.0.0", None), "start"),
        ({**state(None, "1.0.0"), "serves": None}, "start"),
    ],
)
def test_each_host_does_the_least(host_state, action):
    """The bluegreen role's one decision (its filter), which the role acts on and plan.yml
    reports; the CLI shows what was reported and decides nothing."""
    assert ACTION.bluegreen_action(host_state, "1.1.0") == action
    reported = {**host_state, "action": action, "env": {"added": ["NEW_KEY"]}}
    planned = _host_plan("app1", reported, "1.1.0")
    assert (planned.serves, planned.action) == (host_state["serves"], action)
    assert planned.env_added == ["NEW_KEY"] and planned.env_changed == []
