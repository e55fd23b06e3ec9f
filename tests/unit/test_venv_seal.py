"""The release's venv seal (roles/release/library/voicenote_venv_seal.py) on real files: write and
set-id bits go, links are left pointing where they did with their targets untouched, and a hard
link or a special file is refused before anything changes."""

import os
import stat

import pytest

from tests.conftest import role_plugin

pytestmark = [pytest.mark.unit, pytest.mark.security]

seal_module = role_plugin("release", "library", "voicenote_venv_seal")
ME = (os.getuid(), os.getgid())


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def venv(tmp_path):
    """A venv as pip leaves it: group-writable folders, a setuid file, a link to the host's
    Python (a file outside, group- and world-writable here so a change to it would show)."""
    outside = tmp_path / "python3"
    outside.write_text("#!/bin/true\n")
    outside.chmod(0o777)
    root = tmp_path / "venv"
    (root / "bin").mkdir(parents=True)
    (root / "bin").chmod(0o775)
    (root / "bin" / "python").symlink_to(outside)
    (root / "lib").mkdir(mode=0o755)
    (root / "lib" / "app.py").write_text("print('hi')\n")
    (root / "lib" / "app.py").chmod(0o664)
    (root / "lib" / "tool").write_text("#!/bin/true\n")
    (root / "lib" / "tool").chmod(0o4775)
    return root


def test_write_and_set_id_bits_go_and_links_are_left_alone(venv):
    assert seal_module.check(str(venv)) == 6
    assert (
        seal_module.seal(str(venv), *ME, apply=True) == 3
    )  # bin, app.py, tool; the rest is sealed
    assert mode(venv / "bin") == 0o755
    assert mode(venv / "lib" / "app.py") == 0o644
    assert mode(venv / "lib" / "tool") == 0o755
    assert os.readlink(venv / "bin" / "python") == str(venv.parent / "python3")
    assert mode(venv.parent / "python3") == 0o777
    # Sealed: a second run changes nothing.
    assert seal_module.seal(str(venv), *ME, apply=True) == 0


def test_a_link_to_a_folder_outside_is_never_followed(venv, tmp_path):
    outside = tmp_path / "etc"
    outside.mkdir()
    outside.chmod(0o777)
    (outside / "shadow").write_text("secret\n")
    (outside / "shadow").chmod(0o666)
    (venv / "lib" / "site").symlink_to(outside)
    assert seal_module.seal(str(venv), *ME, apply=True) == 3
    assert (mode(outside), mode(outside / "shadow")) == (0o777, 0o666)


def test_check_mode_counts_and_changes_nothing(venv):
    assert seal_module.seal(str(venv), *ME, apply=False) == 3
    assert mode(venv / "lib" / "app.py") == 0o664


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda venv: os.link(venv.parent / "python3", venv / "lib" / "passwd"), "a hard link"),
        (lambda venv: os.mkfifo(venv / "lib" / "pipe"), "a special file"),
    ],
)
def test_a_hard_link_or_a_special_file_is_refused_before_anything_changes(venv, make, said):
    make(venv)
    with pytest.raises(seal_module.Refused, match=said):
        seal_module.check(str(venv))
    assert mode(venv / "bin") == 0o775
    # The sealing pass checks each entry again as it opens it.
    with pytest.raises(seal_module.Refused, match=said):
        seal_module.seal(str(venv), *ME, apply=True)
