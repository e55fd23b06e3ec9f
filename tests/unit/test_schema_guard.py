"""The schema guard's decision, from manifests alone (the module's pure part)."""

import importlib.util

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location(
    "schema_guard", PROJECT / "roles" / "migrate" / "library" / "voicenote_schema_guard.py"
)
guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(guard)


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
