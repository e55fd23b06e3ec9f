"""`rotate` on the controller: the vault gets the new value beside the one in use, a rotation
under way is finished rather than started again, and a lab's link to the committed vault is
replaced by a file of its own."""

import pytest

from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import ContainedFailure, GuardRefused, InvalidInput
from voicenote_ops.services import rotate
from voicenote_ops.vault import read_vault, write_vault

pytestmark = pytest.mark.unit

# The value in use before the rotation (test data, not a secret).
IN_USE = "in-use"


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A lab whose vault links to a "committed" vault, as `lab up` makes it."""
    password = tmp_path / "password"
    password.write_text("test-only\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    committed = tmp_path / "committed.yml"
    write_vault(
        committed,
        password,
        {"vault_redis_password": IN_USE, "vault_postgresql_app_password": IN_USE, "other": "kept"},
    )
    (tmp_path / "inventory" / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "inventory.vault.yml").symlink_to(committed)
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
    assert read_vault(committed, password)["vault_redis_password"] == IN_USE


def test_a_rotation_under_way_is_finished_not_started_again(lab):
    environment, password, _ = lab
    first = read_vault(rotate.begin(environment, "redis-password").vault, password)
    again = rotate.begin(environment, "redis-password")
    assert again.resumed and read_vault(again.vault, password) == first
    rotate.finish(again)
    assert read_vault(again.vault, password) == {
        **{name: value for name, value in first.items() if not name.endswith(rotate.PREVIOUS)},
        "vault_redis_password": first["vault_redis_password"],
    }


def test_an_unknown_secret_is_refused_before_anything(lab):
    with pytest.raises(InvalidInput) as refused:
        rotate.prepare("lab1", "root-password")
    assert "not a secret rotate knows" in refused.value.render()
    assert "redis-password" in refused.value.render()


def test_the_postgresql_logins_are_used_in_turn(lab):
    """The owner logs in itself until the first rotation; then OWNER_a and OWNER_b in turn."""
    environment, password, _ = lab
    logins = []
    for _ in range(3):
        rotation = rotate.begin(environment, "postgresql-password")
        during = read_vault(rotation.vault, password)
        logins.append((during["vault_postgresql_app_login_previous"],
                       during["vault_postgresql_app_login"]))  # fmt: skip
        assert (
            during["vault_postgresql_app_password_previous"]
            != (during["vault_postgresql_app_password"])
        )
        rotate.finish(rotation)
    assert logins == [
        ("voicenote", "voicenote_a"),
        ("voicenote_a", "voicenote_b"),
        ("voicenote_b", "voicenote_a"),
    ]


def test_a_webhook_url_is_checked_before_anything_is_written(lab):
    environment, password, _ = lab
    for bad in ("", "hooks.example.test/x", "ftp://hooks.example.test/x", "https:///x",
                "https://hooks.example.test/a b", "https://hooks.example.test/a\x1b"):  # fmt: skip
        with pytest.raises(InvalidInput):
            rotate.check_given("webhook-url", bad)
    assert rotate.check_given("redis-password", "ignored") is None
    url = rotate.check_given("webhook-url", " https://hooks.example.test/services/T/B/x\n")
    assert url == "https://hooks.example.test/services/T/B/x"
    rotation = rotate.begin(environment, "webhook-url", url)
    during = read_vault(rotation.vault, password)
    assert during["vault_notify_webhook_url"] == url
    assert during["vault_notify_webhook_url_previous"] == ""


def test_a_failed_webhook_rotation_puts_the_url_in_use_back(lab):
    environment, password, _ = lab
    first = rotate.begin(environment, "webhook-url", "https://one.example.test/hook")
    rotate.finish(first)
    # Under way again, with a URL that fails: a new one given replaces it, then it is abandoned.
    rotate.begin(environment, "webhook-url", "https://two.example.test/hook")
    again = rotate.begin(environment, "webhook-url", "https://three.example.test/hook")
    assert again.resumed
    during = read_vault(again.vault, password)
    assert during["vault_notify_webhook_url"] == "https://three.example.test/hook"
    assert during["vault_notify_webhook_url_previous"] == "https://one.example.test/hook"
    rotate.abandon(again)
    after = read_vault(again.vault, password)
    assert after["vault_notify_webhook_url"] == "https://one.example.test/hook"
    assert "vault_notify_webhook_url_previous" not in after


def test_only_a_rotation_that_never_reached_a_host_is_undone(lab):
    """Refused before any host (a bad request, the lock held by another run): the vault gets the
    values in use back. Failed later, or finishing one under way: both values stay, for a rerun."""
    environment, _, _ = lab
    started = rotate.begin(environment, "redis-password")
    refused = [InvalidInput("bad", "fix"), GuardRefused("held", "wait")]
    assert all(rotate.never_started(started, None, error) for error in refused)
    assert not rotate.never_started(started, None, ContainedFailure("switched back", "again"))
    resumed = rotate.begin(environment, "redis-password")
    assert resumed.resumed and not rotate.never_started(resumed, None, refused[1])
    # No host holds a webhook URL: whatever failed, the URL in use goes back.
    assert rotate.never_started(resumed, "https://hooks.example.test/x", ContainedFailure("x", "y"))
