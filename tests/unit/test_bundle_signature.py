"""Signed bundles without a host: signing with ssh-keygen, the signature checked against an
environment's allowed signers by the CLI and by the playbooks' module (one set of rules), and the
keys the inventories pin."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import PROJECT, run_cli
from tests.unit.test_bundle import _edit_manifest, _fake_bundle, _repack
from tests.unit.test_cli_errors import assert_refused
from voicenote_ops.bundle import signers, verify_bundle
from voicenote_ops.bundle.manifest import MANIFEST_NAME
from voicenote_ops.bundle.signature import (
    LAB_SIGNING_KEY,
    SIGNING_KEY_ENV,
    SigningKey,
    fingerprint,
    sign_bundle,
    signature_path,
    signing_key,
    verify_signature,
)
from voicenote_ops.cli.app import app as root_app
from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import ExitCode, InvalidInput
from voicenote_ops.services import requests

pytestmark = [pytest.mark.unit, pytest.mark.security]

SIGNERS_FILE = Path("group_vars") / "all" / "release-signers.yml"


def _new_key(folder: Path, name: str, passphrase: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(path)],
        check=True,
    )
    return path


def _allowed(*keys: Path) -> str:
    """An allowed-signers text pinning the public keys of these private keys."""
    lines = []
    for key in keys:
        public = " ".join(key.with_suffix(".pub").read_text().split()[:2])
        lines.append(f'{signers.PRINCIPAL} namespaces="{signers.NAMESPACE}" {public}')
    return "\n".join(lines) + "\n"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "keys"
    return {name: _new_key(folder, name) for name in ("release", "other", "next")}


@pytest.fixture
def signed(tmp_path: Path, keys) -> tuple[Path, Path]:
    """The content folder and a bundle of it signed with the release key."""
    content, bundle = _fake_bundle(tmp_path / "one")
    sign_bundle(bundle, signing_key(keys["release"]))
    return content, bundle


def _verify(bundle: Path, allowed: str, required: bool = True) -> str | None:
    return verify_signature(bundle, allowed, required=required, environment="staging")


def test_a_bundle_signed_with_a_pinned_key_verifies(signed, keys):
    _, bundle = signed
    key = signing_key(keys["release"])
    assert signature_path(bundle).read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    assert _verify(bundle, _allowed(keys["release"])) == key.fingerprint
    # The fingerprint is ssh-keygen's own.
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(keys["release"].with_suffix(".pub"))],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert key.fingerprint in listed


def test_the_signature_checks_by_hand_as_the_docs_say(signed, keys, tmp_path):
    _, bundle = signed
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(_allowed(keys["release"]))
    with bundle.open("rb") as content:
        checked = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "voicenote-release",
             "-n", "voicenote-release", "-s", str(signature_path(bundle))],
            stdin=content, capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert 'Good "voicenote-release" signature' in checked.stdout + checked.stderr


def test_signing_leaves_the_bundle_as_it_was(tmp_path, keys):
    _, bundle = _fake_bundle(tmp_path)
    before = hashlib.sha256(bundle.read_bytes()).hexdigest()
    sign_bundle(bundle, signing_key(keys["release"]))
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == before
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [
        bundle.name, signature_path(bundle).name
    ]  # fmt: skip


def test_an_unsigned_bundle_is_refused_where_a_signature_is_required(tmp_path, keys):
    _, bundle = _fake_bundle(tmp_path)
    with pytest.raises(InvalidInput, match=r"is not signed: there is no .*\.tar\.gz\.sig beside"):
        _verify(bundle, _allowed(keys["release"]))
    assert _verify(bundle, _allowed(keys["release"]), required=False) is None


def test_a_bundle_signed_by_another_key_is_refused(tmp_path, keys):
    _, bundle = _fake_bundle(tmp_path)
    sign_bundle(bundle, signing_key(keys["other"]))
    for required in (True, False):  # a signature that is there must verify
        with pytest.raises(InvalidInput, match="not signed by a key staging trusts"):
            _verify(bundle, _allowed(keys["release"]), required)


def test_one_byte_changed_and_remanifested_is_refused(signed, keys):
    """A self-consistent manifest is no proof: only the signature says who made the bundle."""
    content, bundle = signed
    lock = content / "requirements.lock"
    data = bytearray(lock.read_bytes())
    data[0] ^= 0x01
    lock.write_bytes(bytes(data))
    files = json.loads((content / MANIFEST_NAME).read_text())["files"]
    files["requirements.lock"] = hashlib.sha256(bytes(data)).hexdigest()
    _edit_manifest(content, files=files)
    _repack(content, bundle)
    assert verify_bundle(bundle).files["requirements.lock"] == files["requirements.lock"]
    with pytest.raises(InvalidInput, match="does not verify") as refused:
        _verify(bundle, _allowed(keys["release"]))
    assert refused.value.code == ExitCode.INVALID


def test_the_signature_of_another_bundle_is_refused(tmp_path, keys, signed):
    _, first = signed
    _, second = _fake_bundle(tmp_path / "two", "1.0.1")
    shutil.copy(signature_path(first), signature_path(second))
    with pytest.raises(InvalidInput, match=re.escape("voicenote-api-1.0.1.tar.gz.sig does not")):
        _verify(second, _allowed(keys["release"]))


def test_a_signature_made_for_another_namespace_is_refused(tmp_path, keys):
    _, bundle = _fake_bundle(tmp_path)
    with bundle.open("rb") as content:
        git_signature = subprocess.run(
            ["ssh-keygen", "-Y", "sign", "-n", "git", "-f", str(keys["release"])],
            stdin=content, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    signature_path(bundle).write_text(git_signature)
    with pytest.raises(InvalidInput, match="does not verify"):
        _verify(bundle, _allowed(keys["release"]))


def test_during_a_rotation_either_pinned_key_verifies(tmp_path, keys):
    both = _allowed(keys["release"], keys["next"])
    for name in ("release", "next"):
        _, bundle = _fake_bundle(tmp_path / name)
        key = signing_key(keys[name])
        sign_bundle(bundle, key)
        assert _verify(bundle, both) == key.fingerprint


PLACEHOLDER = (
    'voicenote-release namespaces="voicenote-release" ssh-ed25519 '
    "REPLACE-WITH-THE-RELEASE-PUBLIC-KEY\n"
)


def test_allowed_signers_that_pin_no_key_refuse_where_a_signature_is_required(signed, keys):
    _, bundle = signed
    commented = "# " + _allowed(keys["release"])
    for allowed in (PLACEHOLDER, commented, ""):
        assert signers.pinned_keys(allowed) == []
        with pytest.raises(InvalidInput, match="staging pins no release signing key"):
            _verify(bundle, allowed)
        # Where unsigned bundles are taken, a signature nothing pins is not checked.
        assert _verify(bundle, allowed, required=False) is None
    # A placeholder line beside a key does not hide the key.
    assert _verify(bundle, PLACEHOLDER + _allowed(keys["release"])) is not None


def test_keys_that_cannot_sign_are_refused_in_one_sentence(tmp_path):
    protected = _new_key(tmp_path, "protected", passphrase="words")  # noqa: S106
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("hello\n")
    huge = tmp_path / "huge"
    huge.write_bytes(b"x" * 100_000)
    os.mkfifo(tmp_path / "fifo")
    for path, why in (
        (tmp_path / "missing", "Cannot read the signing key"),
        (Path("a\x00b"), "Cannot read the signing key"),
        # Refused without reading: a fifo would block, /dev/zero never end.
        (tmp_path, "is not a regular file"),
        (tmp_path / "fifo", "is not a regular file"),
        (Path("/dev/zero"), "is not a regular file"),
        (huge, "is too large to be a signing key"),
        (protected, "it has a passphrase"),
        (not_a_key, "it is no private key"),
        (protected.with_suffix(".pub"), "it is no private key"),
    ):
        with pytest.raises(InvalidInput, match=why) as refused:
            signing_key(path)
        assert refused.value.code == ExitCode.INVALID
        assert "passphrase" in refused.value.render()  # the fix says what works


def test_a_key_others_may_read_still_signs_and_stays_as_it_was(tmp_path, keys):
    """As the lab's committed key does after a checkout (0644), which ssh-keygen refuses."""
    key = keys["release"]
    key.chmod(0o644)
    _, bundle = _fake_bundle(tmp_path)
    sign_bundle(bundle, signing_key(key))
    assert _verify(bundle, _allowed(key))
    assert oct(key.stat().st_mode & 0o777) == "0o644"


def test_the_key_reaches_ssh_keygen_only_as_a_private_copy_s_path(tmp_path, keys, monkeypatch):
    key = keys["release"]
    secret = key.read_text()
    calls = []
    real_run = subprocess.run

    def spy(argv, **options):
        calls.append((list(argv), options.get("env")))
        if "-f" in argv:
            copy = Path(argv[argv.index("-f") + 1])
            calls[-1] += (copy, oct(copy.stat().st_mode & 0o777), copy.read_text() == secret)
        return real_run(argv, **options)

    monkeypatch.setattr(signers.subprocess, "run", spy)
    _, bundle = _fake_bundle(tmp_path)
    sign_bundle(bundle, signing_key(key))
    assert [call[0][0] for call in calls] == ["ssh-keygen", "ssh-keygen"]
    for argv, env, copy, mode, same in calls:
        assert not any(secret.strip() in word or "PRIVATE KEY" in word for word in argv)
        assert env is None and copy != key and mode == "0o600" and same
        assert not copy.exists()  # removed right after


# The inventories: labs pin the committed test-only key, real environments a placeholder.


def _allowed_signers_of(inventory: Path) -> str:
    variables = yaml.safe_load((inventory / SIGNERS_FILE).read_text())
    return variables["voicenote_release_allowed_signers"]


def test_labs_pin_the_committed_lab_key_and_real_environments_a_placeholder():
    lab_key = signing_key(PROJECT / LAB_SIGNING_KEY)
    (pinned,) = signers.pinned_keys(_allowed_signers_of(PROJECT / "inventories" / "lab"))
    assert fingerprint(pinned) == lab_key.fingerprint
    for environment in ("dev", "staging", "prod"):
        text = _allowed_signers_of(PROJECT / "inventories" / environment)
        assert signers.pinned_keys(text) == [] and "REPLACE-WITH" in text, environment


def test_only_dev_takes_unsigned_bundles():
    for environment in ("dev", "staging", "prod", "lab"):
        main = PROJECT / "inventories" / environment / "group_vars" / "all" / "main.yml"
        variables = yaml.safe_load(main.read_text())
        expected = environment == "dev"
        assert variables.get("voicenote_release_allow_unsigned", False) is expected, environment


# The CLI's checks: build's signing key, deploy's signature against the environment's pins.


def test_build_refuses_a_key_that_cannot_sign_before_building(tmp_path):
    missing = tmp_path / "missing-key"
    for arguments, env in (
        (["build", "/nonexistent", "--version", "1.0.0", "--signing-key", str(missing)], {}),
        (["build", "/nonexistent", "--version", "1.0.0"], {SIGNING_KEY_ENV: str(missing)}),
    ):
        result = CliRunner().invoke(root_app, arguments, env=env)
        assert isinstance(result.exception, InvalidInput), result.output
        assert result.exception.code == ExitCode.INVALID
        # The key is checked first: the app folder that does not exist is not reached.
        assert f"Cannot read the signing key {missing}" in result.exception.render()


def _environment(tmp_path: Path, rules: str, main: dict, allowed: str) -> Environment:
    inventory = tmp_path / "inventory"
    (inventory / SIGNERS_FILE).parent.mkdir(parents=True)
    (inventory / SIGNERS_FILE.parent / "main.yml").write_text(yaml.safe_dump(main))
    (inventory / SIGNERS_FILE).write_text(
        yaml.safe_dump({"voicenote_release_allowed_signers": allowed})
    )
    (tmp_path / "inventory.vault.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n00\n")
    return Environment("target", Kind.LAB, inventory, rules)


@pytest.mark.parametrize(
    ("rules", "main", "taken"),
    [
        ("dev", {"voicenote_release_allow_unsigned": True}, True),
        ("staging", {}, False),
        ("dev", {"voicenote_release_allow_unsigned": "yes please"}, False),
        # prod's rules (its voicenote_environment, as the playbooks read it) never take an
        # unsigned bundle, whatever the inventory says.
        (
            "prod",
            {"voicenote_environment": "production", "voicenote_release_allow_unsigned": True},
            False,
        ),
    ],
)
def test_deploy_takes_an_unsigned_bundle_only_where_allowed(tmp_path, keys, rules, main, taken):
    environment = _environment(tmp_path, rules, main, _allowed(keys["release"]))
    _, bundle = _fake_bundle(tmp_path / "bundles")
    if taken:
        assert requests.bundle(environment, "1.0.0", bundle)[0] == bundle
        return
    with pytest.raises(InvalidInput, match="is not signed") as refused:
        requests.bundle(environment, "1.0.0", bundle)
    assert "target takes only bundles signed with its release key" in refused.value.render()


def test_deploy_checks_the_signature_beside_the_file_a_link_names(tmp_path, keys, signed):
    environment = _environment(tmp_path, "prod", {}, _allowed(keys["release"]))
    _, bundle = signed
    link = tmp_path / "dist" / bundle.name
    link.parent.mkdir()
    link.symlink_to(bundle)
    assert requests.bundle(environment, "1.0.0", link)[0] == bundle


def test_deploy_to_prod_refuses_until_prod_pins_its_key(tmp_path, keys, signed):
    """Through the CLI, as an operator runs it, before any (placeholder) host is contacted."""
    _, bundle = signed
    password = tmp_path / "password"
    password.write_text("x\n")
    result = run_cli(
        "deploy", "prod", "--version", "1.0.0", "--artifact", str(bundle), "--yes",
        env={"VOICENOTE_VAULT_PASSWORD_FILE": str(password)},
    )  # fmt: skip
    assert_refused(
        result, ExitCode.INVALID, "prod pins no release signing key", "release-signers.yml"
    )


# The playbooks' side: the module, with the same rules, as ansible runs it on the controller.


CHECKS = """
- name: Check signatures as verify.yml does
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Check
      voicenote_bundle_signature:
        path: "{{ item.path }}"
        signature: "{{ item.signature }}"
        allowed_signers: "{{ item.allowed_signers }}"
        required: "{{ item.required }}"
      loop: "{{ cases }}"
      register: checked
      ignore_errors: true
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ checked.results | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def _module(tmp_path: Path, cases: list[tuple[Path, str, bool]]) -> list[dict]:
    """The module's result for each (bundle, allowed signers, required), in one playbook run."""
    playbook, variables, out = (tmp_path / name for name in ("checks.yml", "vars.json", "out"))
    playbook.write_text(CHECKS)
    variables.write_text(json.dumps({
        "out": str(out),
        "cases": [
            {"path": str(bundle), "signature": str(signature_path(bundle)),
             "allowed_signers": allowed, "required": required}
            for bundle, allowed, required in cases
        ],
    }))  # fmt: skip
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"@{variables}",
         str(playbook)],
        capture_output=True, text=True, cwd=PROJECT, check=False,
        env={
            **os.environ,
            "ANSIBLE_LIBRARY": str(PROJECT / "roles" / "release" / "library"),
            "ANSIBLE_MODULE_UTILS": str(PROJECT / "roles" / "release" / "module_utils"),
        },
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


def test_the_playbooks_module_applies_the_same_rules(tmp_path, keys, signed):
    _, good = signed
    allowed = _allowed(keys["release"])
    _, unsigned = _fake_bundle(tmp_path / "unsigned")
    _, foreign = _fake_bundle(tmp_path / "foreign")
    sign_bundle(foreign, SigningKey(keys["other"], ""))
    good_result, unsigned_result, unsigned_allowed, foreign_result, unpinned = _module(
        tmp_path,
        [(good, allowed, True), (unsigned, allowed, True), (unsigned, allowed, False),
         (foreign, allowed, True), (good, PLACEHOLDER, True)],
    )  # fmt: skip
    assert not good_result.get("failed") and good_result["signed"] is True
    assert good_result["key"] == signing_key(keys["release"]).fingerprint
    assert unsigned_result["failed"] and "is not signed" in unsigned_result["msg"]
    assert not unsigned_allowed.get("failed") and unsigned_allowed["signed"] is False
    assert foreign_result["failed"] and "does not verify" in foreign_result["msg"]
    assert unpinned["failed"] and "pins no release signing key" in unpinned["msg"]
