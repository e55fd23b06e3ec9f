"""Which files a running color started before: what the bluegreen role's restart rolls it onto
(the state module's stale_files, read like on a host), and the installed releases with their
install markers, which the release role checks instead of reading them again."""

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


def release(root, version: str, marker: str | None, at: float):
    folder = root / "releases" / version
    folder.mkdir(parents=True)
    if marker is not None:
        (folder / ".installed").write_text(marker + "\n")
        os.utime(folder / ".installed", (at, at))


def test_installed_releases_come_with_their_markers_oldest_install_first(tmp_path):
    release(tmp_path, "1.1.0", "b" * 64, STARTED + 10)
    release(tmp_path, "1.0.0", "a" * 64, STARTED)
    release(tmp_path, "1.2.0", None, STARTED + 20)  # unpacked, never finished: not installed
    (tmp_path / "releases" / ".incoming").mkdir()
    installed = state_module.installed_releases(str(tmp_path))
    assert list(installed) == ["1.0.0", "1.1.0"]
    assert installed == {"1.0.0": "a" * 64, "1.1.0": "b" * 64}


def test_a_host_without_releases_has_none_installed(tmp_path):
    assert state_module.installed_releases(str(tmp_path)) == {}


def test_a_color_that_runs_an_image_also_reads_the_image_unit_and_its_command(tmp_path):
    release(tmp_path, "1.0.0", "a" * 64, STARTED)
    release(tmp_path, "1.1.0", "b" * 64 + " image reg1:5000/voicenote-api@sha256:" + "c" * 64,
            STARTED)  # fmt: skip
    (tmp_path / "releases" / "1.1.0" / "image.env").write_text("VOICENOTE_IMAGE=x\n")
    assert not state_module.runs_image(str(tmp_path), "1.0.0")
    assert state_module.runs_image(str(tmp_path), "1.1.0")
    reads = ["/etc/systemd/system/voicenote@.service", "/opt/voicenote/shared/color-%i.env"]
    image_reads = ["/opt/voicenote/shared/voicenote-image.service"]
    assert state_module.color_reads("green", reads, image_reads) == [
        "/etc/systemd/system/voicenote@.service",
        "/opt/voicenote/shared/color-green.env",
        "/opt/voicenote/shared/voicenote-image.service",
    ]
