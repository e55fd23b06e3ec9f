"""The schema guard's decision, from manifests alone (the module's pure part), and the same
decision judged on the controller from the manifests a rollback's plan read with the host's state
(the migrate role's action plugin, the bluegreen state module)."""

import importlib.util
import json

import pytest

from tests.conftest import PROJECT, role_plugin

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location(
    "schema_guard", PROJECT / "roles" / "migrate" / "library" / "voicenote_schema_guard.py"
)
guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(guard)
action = role_plugin("migrate", "action_plugins", "voicenote_schema_guard")
state = role_plugin("bluegreen", "library", "voicenote_bluegreen_state")


def migration(revision, down, compatible=True):
    return {"revision": revision, "down_revisions": [down] if down else [],
            "backward_compatible": compatible, "path": f"{revision}.py"}  # fmt: skip


V1 = [migration("0001", None)]
V11 = [*V1, migration("0002", "0001")]
V2 = [*V11, migration("0003", "0002", compatible=False)]
INSTALLED = {"1.0.0": {"migrations": V1}, "1.1.0": {"migrations": V11}, "2.0.0": {"migrations": V2}}


@pytest.mark.parametrize(
    ("target", "current", "decision"),
    [
        ("1.1.0", ["0002"], "current"),
        ("1.1.0", ["0001"], "upgrade"),
        ("1.0.0", [], "upgrade"),
        ("1.0.0", ["0002"], "compatible"),
        ("1.0.0", ["0003"], "refused"),
        ("1.1.0", ["0003"], "refused"),
        ("1.1.0", ["0009"], "refused"),
    ],
)
def test_decisions(target, current, decision):
    assert guard.decide(INSTALLED, target, None, current, False)[0] == decision


def test_an_incompatible_schema_is_downgraded_only_when_asked_from_a_release_that_knows_it():
    decision, _, details = guard.decide(INSTALLED, "1.1.0", None, ["0003"], True)
    assert decision == "downgrade"
    assert details["downgrade_release"] == "2.0.0" and details["downgrade_to"] == ["0002"]


def test_the_refusal_names_the_incompatible_migration_and_the_way_out():
    _, message, _ = guard.decide(INSTALLED, "1.1.0", None, ["0003"], False)
    assert "0003" in message and "--downgrade" in message


def test_a_bundle_not_yet_installed_is_judged_from_its_own_migrations():
    assert guard.decide({}, "1.1.0", V11, ["0001"], False)[0] == "upgrade"
    assert guard.decide({}, "3.0.0", None, ["0001"], False)[0] == "refused"


def installed_on_a_host(root, releases):
    """Releases as a host keeps them: manifest.json and the install marker (one unfinished)."""
    for version, migrations in releases.items():
        folder = root / "releases" / version
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"migrations": migrations}))
        (folder / ".installed").write_text("sha\n")
    (root / "releases" / "9.9.9").mkdir()  # unpacked, never installed


@pytest.mark.parametrize(
    ("target", "current", "allow_downgrade"),
    [("1.1.0", ["0002"], False), ("1.0.0", ["0002"], False), ("1.1.0", ["0003"], False),
     ("1.1.0", ["0003"], True), ("1.1.0", ["0009"], False), ("3.0.0", ["0002"], False)],
)  # fmt: skip
def test_a_rollback_judged_on_the_controller_decides_as_the_module_on_the_host(
    tmp_path, target, current, allow_downgrade
):
    installed_on_a_host(tmp_path, {v: m["migrations"] for v, m in INSTALLED.items()})
    on_host = guard.decide(guard._manifests(str(tmp_path)), target, None, current, allow_downgrade)
    read = state.migrations_of(str(tmp_path), state.installed_releases(str(tmp_path)))
    args = {"target": target, "target_migrations": None, "current": current,
            "allow_downgrade": allow_downgrade, "unreadable": "",
            "database_down": False}  # fmt: skip
    judged = action.GUARD.judgement(read, args)
    assert judged["decision"] == on_host[0] and judged["msg"] == on_host[1]
    assert judged.get("failed", False) == (on_host[0] == "refused")
    details = {k: v for k, v in judged.items() if k not in ("decision", "msg", "failed", "changed")}
    assert details == on_host[2]


def test_a_read_that_failed_before_the_guard_is_its_refusal_with_the_outage_said():
    """The deploy lock's acquire read the revisions: a database that did not answer then fails
    the guard with the read's own words, marked as an outage, whatever the manifests say."""
    said = "PostgreSQL on db1 did not answer (psql as postgres: connection refused)."
    args = {"target": "1.1.0", "target_migrations": None, "current": [],
            "allow_downgrade": False, "unreadable": said, "database_down": True}  # fmt: skip
    judged = guard.judgement({}, args)
    assert judged == {"failed": True, "msg": said, "decision": "refused", "database_down": True}
    assert guard.judgement({}, {**args, "unreadable": "", "database_down": False})["failed"]
