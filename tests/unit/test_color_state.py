"""Which files a running color started before: what the bluegreen role's restart rolls it onto
(the state module's stale_files, read like on a host)."""

import os

import pytest

from tests.conftest import role_plugin

pytestmark = pytest.mark.unit

state_module = role_plugin("bluegreen", "library", "voicenote_bluegreen_state")

STARTED = 1_800_000_000.0


def written(path, at: float):
    path.write_text("PORT=8001\n")
    os.utime(path, (at, at))
    return str(path)


def test_a_file_changed_after_the_color_started_is_stale(tmp_path):
    unit = written(tmp_path / "voicenote@.service", STARTED - 3600)
    env = written(tmp_path / "voicenote.env", STARTED + 0.2)
    assert state_module.stale_files(STARTED, [unit, env]) == [env]


def test_a_file_written_before_the_start_in_the_same_second_is_not_stale(tmp_path):
    env = written(tmp_path / "voicenote.env", STARTED - 0.2)
    assert state_module.stale_files(STARTED, [env]) == []


def test_a_color_that_does_not_run_and_a_missing_file_are_never_stale(tmp_path):
    env = written(tmp_path / "voicenote.env", STARTED + 5)
    assert state_module.stale_files(None, [env]) == []
    assert state_module.stale_files(STARTED, [str(tmp_path / "gone.env")]) == []
