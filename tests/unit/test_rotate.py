"""`rotate` on the controller: the vault gets the new value beside the one in use, a rotation
under way is finished rather than started again, and a lab's link to the committed vault is
replaced by a file of its own."""

import pytest

from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import InvalidInput
from voicenote_ops.services import rotate
from voicenote_ops.vault import read_vault, write_vault

pytestmark = pytest.mark.unit

# The value in use before the rotation (test data, not a secret).
IN_USE = "in-use"


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A lab whose vault.yml links to a "committed" vault, as `lab up` makes it."""
    password = tmp_path / "password"
    password.write_text("test-only\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    committed = tmp_path / "committed.yml"
    write_vault(committed, password, {"vault_redis_password": IN_USE, "other": "kept"})
    folder = tmp_path / "inventory" / "group_vars" / "all"
    folder.mkdir(parents=True)
    (folder / "vault.yml").symlink_to(committed)
    return Environment("lab1", Kind.LAB, tmp_path / "inventory", "dev"), password, committed


def test_begin_writes_the_new_value_beside_the_one_in_use(lab):
    environment, password, committed = lab
    rotation = rotate.begin(environment, "redis-password")
    variables = read_vault(rotation.vault, password)
    assert variables["vault_redis_password" + rotate.PREVIOUS] == IN_USE
    assert len(variables["vault_redis_password"]) >= 32
    assert variables["other"] == "kept" and not rotation.resumed
    # The lab's own file now, private; the committed vault is untouched.
    assert not rotation.vault.is_symlink() and rotation.vault.stat().st_mode & 0o777 == 0o600
    assert read_vault(committed, password) == {"vault_redis_password": IN_USE, "other": "kept"}


def test_a_rotation_under_way_is_finished_not_started_again(lab):
    environment, password, _ = lab
    first = read_vault(rotate.begin(environment, "redis-password").vault, password)
    again = rotate.begin(environment, "redis-password")
    assert again.resumed and read_vault(again.vault, password) == first
    rotate.finish(again)
    assert read_vault(again.vault, password) == {
        "vault_redis_password": first["vault_redis_password"],
        "other": "kept",
    }


def test_an_unknown_secret_is_refused_before_anything(lab):
    with pytest.raises(InvalidInput) as refused:
        rotate.prepare("lab1", "root-password")
    assert "not a secret rotate knows" in refused.value.render()
    assert "redis-password" in refused.value.render()
