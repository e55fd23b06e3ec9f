"""The controller's copy of the audit trail (roles/lock/action_plugins/voicenote_audit_copy.py):
the signed line is appended once, in a private folder and file, and nothing else is written."""

import stat

import pytest

from tests.conftest import role_plugin

pytestmark = pytest.mark.unit

audit_copy = role_plugin("lock", "action_plugins", "voicenote_audit_copy")


def test_the_first_line_creates_a_private_folder_and_file(tmp_path):
    trail = tmp_path / "audit" / "prod.jsonl"
    assert audit_copy.append_once(str(trail), '{"to": "1.0.0"}') is True
    assert trail.read_text() == '{"to": "1.0.0"}\n'
    assert stat.S_IMODE(trail.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(trail.stat().st_mode) == 0o600


def test_lines_are_appended_in_order_and_a_line_already_kept_is_not_written_twice(tmp_path):
    trail = tmp_path / "prod.jsonl"
    assert audit_copy.append_once(str(trail), "one")
    assert audit_copy.append_once(str(trail), "two")
    assert audit_copy.append_once(str(trail), "one") is False
    assert trail.read_text() == "one\ntwo\n"


def test_a_trail_whose_last_line_lost_its_newline_gets_the_next_line_on_a_line_of_its_own(tmp_path):
    trail = tmp_path / "prod.jsonl"
    trail.write_text("one")
    assert audit_copy.append_once(str(trail), "two")
    assert trail.read_text() == "one\ntwo\n"


@pytest.mark.parametrize("line", ["", "one\ntwo"])
def test_anything_but_one_line_is_refused_and_nothing_is_written(tmp_path, line):
    trail = tmp_path / "prod.jsonl"
    with pytest.raises(ValueError, match="one non-empty line"):
        audit_copy.append_once(str(trail), line)
    assert not trail.exists()
