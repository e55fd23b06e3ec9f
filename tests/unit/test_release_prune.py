"""The release cleanup's module (roles/release/library/voicenote_release_prune.py) on real
folders: the newest releases stay, and so does every release a color points at, however old;
the upload folder is never a release."""

import os

import pytest

from tests.conftest import role_plugin

pytestmark = pytest.mark.unit

prune_module = role_plugin("release", "library", "voicenote_release_prune")


@pytest.fixture
def host(tmp_path):
    """Releases 1.0.0 (oldest) to 1.5.0 (newest), the upload folder, blue on 1.0.0 (the oldest),
    green on 1.5.0."""
    releases, colors = tmp_path / "releases", tmp_path / "colors"
    colors.mkdir()
    for age, minor in enumerate(range(5, -1, -1)):
        folder = releases / f"1.{minor}.0"
        folder.mkdir(parents=True)
        os.utime(folder, (1_000_000 - age, 1_000_000 - age))
    (releases / ".incoming").mkdir()
    (colors / "blue").symlink_to(releases / "1.0.0")
    (colors / "green").symlink_to(releases / "1.5.0")
    return releases, colors


def prune(releases, colors, keep):
    return prune_module.beyond_kept(str(releases), keep, prune_module.pointed_at(str(colors)))


def test_the_newest_stay_and_a_release_a_color_runs_is_never_removed(host):
    releases, colors = host
    assert prune(releases, colors, 3) == [str(releases / "1.2.0"), str(releases / "1.1.0")]
    assert prune(releases, colors, 1) == [str(releases / f"1.{minor}.0") for minor in (4, 3, 2, 1)]


def test_nothing_goes_while_there_are_no_more_than_kept_or_a_color_has_no_link(host):
    releases, colors = host
    assert prune(releases, colors, 6) == []
    (colors / "blue").unlink()
    assert prune(releases, colors, 5) == [str(releases / "1.0.0")]


def _runs_image(release, image):
    """The release names its image, as an image release does (its age unchanged)."""
    age = release.stat().st_mtime
    (release / "image.env").write_text(f"VOICENOTE_IMAGE={image}\n")
    os.utime(release, (age, age))


def test_a_removed_image_release_takes_its_image_unless_a_kept_one_runs_it(host):
    releases, colors = host
    one, two = (f"reg1:5000/voicenote-api@sha256:{digit * 64}" for digit in "12")
    _runs_image(releases / "1.1.0", one)
    _runs_image(releases / "1.2.0", two)
    _runs_image(releases / "1.4.0", two)
    removed = prune(releases, colors, 3)
    kept = [str(path) for path in releases.iterdir() if str(path) not in removed]
    # 1.1.0's image goes with it; 1.2.0's stays, since 1.4.0 (kept) runs the same image.
    assert prune_module.images_to_remove(removed, kept) == [one]
    # A venv release (no image.env) has no image, and an image is named once.
    assert prune_module.image_of(str(releases / "1.3.0")) == ""
    assert prune_module.images_to_remove([str(releases / "1.1.0")] * 2, []) == [one]
