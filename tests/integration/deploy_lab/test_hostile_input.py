"""Hostile and mistaken deploy input against the real deploy lab: each refused with exit 2 and
one sentence, and nothing on any host changed (podman diff of /etc and /opt, sha256 of every file
under /etc and /opt/voicenote, the schema head), compared before and after."""

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT, run_cli
from tests.integration.deploy_lab.deploys import DEPLOY_LAB, ansible_playbook, deploy
from tests.integration.labs import host_state
from tests.unit.test_bundle_contents import added, entry, repack
from tests.unit.test_cli_errors import assert_refused
from voicenote_ops.bundle import verify_bundle
from voicenote_ops.bundle.signature import LAB_SIGNING_KEY, sign_bundle, signature_path, signing_key
from voicenote_ops.errors import ExitCode

pytestmark = [pytest.mark.integration, pytest.mark.security]

HOSTS = ("lb1", "app1", "app2", "db1")


def rewrite_bundle(source: Path, target: Path, change) -> Path:
    """A copy of a bundle with one member changed by `change(name, data) -> data`."""
    return repack(
        source,
        target,
        lambda members: [(m, None if d is None else change(m.name, d)) for m, d in members],
    )


@pytest.fixture(scope="module")
def lab(deploy_lab):
    bundle = deploy_lab("1.1.0")
    result = deploy(bundle, "1.1.0")
    assert result.returncode == 0, result.stderr
    before = host_state(DEPLOY_LAB, HOSTS)
    yield bundle
    assert host_state(DEPLOY_LAB, HOSTS) == before, "a refused deploy changed a host"


def test_hostile_versions_are_refused(lab):
    for version in ("1.0.0;id", "$(id)", "../../etc/passwd", "", "9" * 5000):
        assert_refused(deploy(lab, version), ExitCode.INVALID, "X.Y.Z")


def test_artifacts_that_are_not_bundles_are_refused(lab, tmp_path):
    for artifact in (tmp_path / "missing.tar.gz", tmp_path, Path("/dev/null")):
        assert_refused(deploy(artifact, "1.1.0"), ExitCode.INVALID, "Bundle")


def test_a_bundle_whose_files_do_not_match_its_manifest_is_refused(lab, tmp_path):
    def tamper(name: str, data: bytes) -> bytes:
        return data + b"\n# tampered\n" if name.endswith("env.py") else data

    tampered = rewrite_bundle(lab, tmp_path / lab.name, tamper)
    assert_refused(deploy(tampered, "1.1.0"), ExitCode.INVALID, "sha256")


def test_a_bundle_built_for_another_python_is_refused_before_any_host(lab, tmp_path):
    def other_python(name: str, data: bytes) -> bytes:
        if not name.endswith("manifest.json"):
            return data
        manifest = json.loads(data)
        manifest["python_tag"] = "cp312"
        return json.dumps(manifest).encode()

    foreign = rewrite_bundle(lab, tmp_path / lab.name, other_python)
    # Signed, as a release built for another Python would be: only the python tag is wrong.
    sign_bundle(foreign, signing_key(PROJECT / LAB_SIGNING_KEY))
    assert_refused(
        deploy(foreign, "1.1.0"), ExitCode.INVALID, "cp312", "Nothing changed on any host"
    )


def one_byte_changed_and_remanifested(source: Path, target: Path) -> Path:
    """The bundle with one byte of its migrations' env.py changed and its manifest updated to
    match: consistent in itself, so that only the signature can tell."""
    with tarfile.open(source) as original:
        name = next(n for n in original.getnames() if n.endswith("/migrations/env.py"))
        content = bytearray(original.extractfile(name).read())
    content[-1] ^= 0x01
    changed, relative = bytes(content), name.split("/", 1)[1]

    def change(member: str, data: bytes) -> bytes:
        if member == name:
            return changed
        if member.endswith("/manifest.json"):
            manifest = json.loads(data)
            manifest["files"][relative] = hashlib.sha256(changed).hexdigest()
            return json.dumps(manifest, indent=2).encode()
        return data

    rewrite_bundle(source, target, change)
    assert verify_bundle(target).files[relative] == hashlib.sha256(changed).hexdigest()
    return target


@pytest.mark.parametrize(
    ("signature", "refusal"), [("stale", "does not verify"), ("none", "is not signed")]
)
def test_a_bundle_changed_and_remanifested_is_refused_before_upload(
    lab, tmp_path, signature, refusal
):
    """By the CLI, and by plain ansible-playbook (the playbook's own check), before any host."""
    changed = one_byte_changed_and_remanifested(lab, tmp_path / lab.name)
    if signature == "stale":
        shutil.copy(signature_path(lab), signature_path(changed))
    assert_refused(deploy(changed, "1.1.0"), ExitCode.INVALID, refusal)
    plain = ansible_playbook(
        "deploy.yml", "-e", "voicenote_version=1.1.0", "-e", f"voicenote_artifact={changed}"
    )
    assert plain.returncode == ExitCode.INVALID, plain.stdout[-3000:]
    assert refusal in plain.stdout
    assert "PLAY [Lock" not in plain.stdout and "PLAY [Upload" not in plain.stdout


def test_a_wrong_vault_password_is_refused(lab, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the lab's\n")
    result = deploy(lab, "1.1.0", env={"VOICENOTE_VAULT_PASSWORD_FILE": str(wrong)})
    assert_refused(result, ExitCode.INVALID, "does not open")


def prod_pinning_the_lab_key(tmp_path: Path) -> Path:
    """This project, but with prod pinning the key the lab's bundles are signed with, as prod
    pins its own once the operator replaced the placeholder."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("ansible.cfg", "playbooks", "roles", "plugins"):
        (root / name).symlink_to(PROJECT / name)
    shutil.copytree(PROJECT / "inventories", root / "inventories", symlinks=True)
    signers = Path("group_vars") / "all" / "release-signers.yml"
    shutil.copy(PROJECT / "inventories" / "lab" / signers, root / "inventories" / "prod" / signers)
    return root


def test_prod_asks_for_confirmation_and_without_a_terminal_refuses(lab, tmp_path):
    password = tmp_path / "password"
    password.write_text("x\n")
    result = run_cli(
        "deploy", "prod", "--version", "1.1.0", "--artifact", str(lab),
        env={
            "VOICENOTE_VAULT_PASSWORD_FILE": str(password),
            "VOICENOTE_OPS_PROJECT": str(prod_pinning_the_lab_key(tmp_path)),
        },
    )  # fmt: skip
    assert_refused(result, ExitCode.INVALID, "needs confirmation", "--yes")


def test_the_playbooks_refuse_what_the_cli_refuses_before_any_host(lab, tmp_path):
    """The same hostile requests through the CLI (exit 2) and plain ansible-playbook (failed on
    the controller with the same sentence, no later play started): a crafted bundle (signed with
    the lab's key, so that only its contents are wrong), a version with a trailing newline, a
    batch size of 0, a rollback target with a trailing newline. This module's fixture checks that
    no host changed."""
    version = "1.1.0"
    passwd = entry(f"voicenote-api-{version}/passwd", tarfile.SYMTYPE, linkname="/etc/passwd")
    crafted = repack(lab, tmp_path / lab.name, added(passwd))
    sign_bundle(crafted, signing_key(PROJECT / LAB_SIGNING_KEY))
    cases = [
        (deploy(crafted, version), "deploy.yml",
         {"voicenote_version": version, "voicenote_artifact": str(crafted)},
         f"has a link or special file: 'voicenote-api-{version}/passwd'.", None),
        (deploy(lab, f"{version}\n"), "deploy.yml",
         {"voicenote_version": f"{version}\n", "voicenote_artifact": str(lab)},
         "is not of the form X.Y.Z", "voicenote_version must be X.Y.Z or X.Y.Z-rc.N"),
        (deploy(lab, version, "--batch-size", "0"), "deploy.yml",
         {"voicenote_version": version, "voicenote_artifact": str(lab), "voicenote_batch_size": 0},
         "--batch-size must be at least 1", "voicenote_batch_size must be a whole number"),
        (run_cli("rollback", DEPLOY_LAB, "--to", "1.0.0\n"), "rollback.yml",
         {"voicenote_rollback_to": "1.0.0\n"},
         "is not of the form X.Y.Z", "voicenote_rollback_to must be X.Y.Z or X.Y.Z-rc.N"),
    ]  # fmt: skip
    for result, playbook, variables, cli_says, playbook_says in cases:
        assert_refused(result, ExitCode.INVALID, cli_says)
        plain = ansible_playbook(playbook, "-e", json.dumps(variables))
        assert plain.returncode != 0, plain.stdout[-3000:]
        assert (playbook_says or cli_says) in " ".join(plain.stdout.split()), plain.stdout[-3000:]
        assert "PLAY [Lock" not in plain.stdout and "PLAY [Upload" not in plain.stdout
