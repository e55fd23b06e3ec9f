"""The promotion guard (playbooks/tasks/promotion.yml) on this machine, against audit trails
written here: which records let a release through (only those the source's lock host signed),
and that labs and real environments never vouch for each other. Each host of the inventory is
one environment asking the guard. Below, the signing and verifying functions of the module
behind it (roles/lock/library/voicenote_audit.py)."""

import json
import subprocess

import pytest

from tests.conftest import PROJECT, role_plugin, scratch_project
from voicenote_ops.models.results import RunResult
from voicenote_ops.runner import PlaybookRun, run_playbook

pytestmark = [pytest.mark.unit, pytest.mark.security]

audit = role_plugin("lock", "library", "voicenote_audit")

COMMIT = "c0ffee0000000000000000000000000000000001"
PLAYBOOK = """
- name: The controller's facts the guard reads
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Where the trails are, and the release's manifest
      ansible.builtin.set_fact:
        voicenote_audit_dir: "{{ audit_dir }}"
        release_manifest: {source_commit: "{{ commit }}"}

- name: Each environment asks the guard
  hosts: app
  gather_facts: false
  tasks:
    - name: Ask the promotion guard
      ansible.builtin.include_tasks: tasks/promotion.yml
"""
LOCAL = {
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}
# prod (a real environment), a lab made --like prod, and prod with an operator's override.
INVENTORY = {
    "all": {
        "vars": {"voicenote_promotion_from": "staging"},
        "children": {
            "app": {
                "hosts": {
                    "prod": LOCAL,
                    "prod_like_lab": {**LOCAL, "voicenote_lab_name": "prod-like"},
                    "prod_overridden": {**LOCAL, "voicenote_promotion_override": "INC-42"},
                }
            }
        },
    }
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, str]:
    """Two audit signing keys: "source", the one the inventory pins, and "other", which it
    does not; each name maps to its private key file."""
    folder = tmp_path_factory.mktemp("keys")
    for name in ("source", "other"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", folder / name],
            check=True,
        )
    return {name: str(folder / name) for name in ("source", "other")}


def allowed_signers(key_file: str) -> str:
    """The pin a promoted-to environment keeps (promotion-signers.yml)."""
    with open(f"{key_file}.pub", encoding="ascii") as public:
        return f'voicenote-audit namespaces="voicenote-audit" {public.read()}'


def unsigned(**changes) -> dict:
    """A successful deploy of COMMIT to a real staging, as tasks/audit.yml builds it."""
    base = {"format": 1, "operation": "deploy", "result": "succeeded", "environment": "staging",
            "rules": "staging", "lab": False, "source_commit": COMMIT, "to": "1.1.0"}  # fmt: skip
    return {key: value for key, value in {**base, **changes}.items() if value is not ...}


@pytest.fixture
def record(keys):
    """The record as the source's lock host appends it: signed with the pinned key."""

    def signed(key: str = "source", **changes) -> dict:
        return audit.sign(unsigned(**changes), keys[key])

    return signed


@pytest.fixture
def guard(tmp_path, monkeypatch, keys):
    """Run the guard with these trail files ({name: [records or raw lines]}), the source's key
    pinned (or the allowed signers `pinned`); the hosts that it let through."""
    root = scratch_project(tmp_path, monkeypatch, {"guard.yml": PLAYBOOK}, json.dumps(INVENTORY))
    (root / "playbooks" / "tasks").symlink_to(PROJECT / "playbooks" / "tasks")
    (root / "roles").symlink_to(PROJECT / "roles")
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()

    def ask(trails: dict[str, list[dict | str]], pinned: str | None = None) -> RunResult:
        for name, records in trails.items():
            lines = (r if isinstance(r, str) else json.dumps(r) for r in records)
            (audit_dir / f"{name}.jsonl").write_text("".join(line + "\n" for line in lines))
        extravars = {
            "audit_dir": str(audit_dir), "commit": COMMIT,
            "voicenote_promotion_allowed_signers":
                allowed_signers(keys["source"]) if pinned is None else pinned,
        }  # fmt: skip
        return run_playbook(PlaybookRun("guard.yml", (root / "hosts.yml",), extravars=extravars))

    return ask


def let_through(result: RunResult) -> set[str]:
    asked = INVENTORY["all"]["children"]["app"]["hosts"]
    return {host for host in asked if result.hosts[host].failed == 0}


def test_a_real_staging_deploy_promotes_to_prod_but_not_to_a_lab(guard, record):
    result = guard({"staging": [record()]})
    assert let_through(result) == {"prod", "prod_overridden"}
    refusal = result.hosts["prod_like_lab"].message
    assert f"The source commit {COMMIT} was never deployed successfully to a lab made" in refusal
    assert "--like staging" in refusal
    assert "voicenote-ops history THAT-LAB" in refusal


def test_a_staging_like_lab_deploy_promotes_to_a_lab_but_not_to_prod(guard, record):
    result = guard({"stage-lab": [record(environment="stage-lab", lab=True)]})
    assert let_through(result) == {"prod_like_lab", "prod_overridden"}
    refusal = result.hosts["prod"].message
    assert f"{COMMIT} was never deployed successfully to staging (per" in refusal
    assert "voicenote-ops history staging" in refusal


def test_records_that_prove_nothing_are_ignored(guard, record):
    proving_nothing = [
        {"source_commit": "another0000000000000000000000000000000002"},
        {"result": "contained"},
        {"result": "refused"},
        {"operation": "rollback"},
        {"rules": "dev"},
        {"rules": ...},
        # Written before records said whether a lab wrote them: no proof either way.
        {"lab": ...},
    ]
    result = guard({
        "staging": [record(**changes) for changes in proving_nothing],
        "stage-lab": [record(**{"lab": True, **changes}) for changes in proving_nothing],
    })  # fmt: skip
    assert let_through(result) == {"prod_overridden"}


def test_every_trail_file_and_line_is_read(guard, record):
    noise = [record(source_commit="another0000000000000000000000000000000002")] * 3
    result = guard({"dev": noise, "staging": [*noise, record(), *noise], "empty": []})
    assert let_through(result) == {"prod", "prod_overridden"}


def test_only_a_record_the_pinned_key_signed_is_evidence(guard, record, keys):
    """A line written by hand into the controller's audit folder, a record signed by another
    key, and a signed record with a field changed afterwards let nothing through."""
    forged = json.dumps(unsigned())
    of_another_commit = record(source_commit="another0000000000000000000000000000000002")
    contained = record(result="contained")
    result = guard({
        "staging": [
            forged,
            record(key="other"),
            {**of_another_commit, "source_commit": COMMIT},
            {**contained, "result": "succeeded"},
            {**record(), "signature": contained["signature"]},
        ],
    })  # fmt: skip
    assert let_through(result) == {"prod_overridden"}
    refusal = result.hosts["prod"].message
    assert "counting only records its lock host signed" in refusal
    assert "5 record(s) of it carry no signature of a pinned key" in refusal
    assert let_through(guard({"staging": [forged, record()]})) == {"prod", "prod_overridden"}


def test_without_a_pinned_key_nothing_is_evidence(guard, record):
    placeholder = 'voicenote-audit namespaces="voicenote-audit" ssh-ed25519 REPLACE-WITH-KEY\n'
    result = guard({"staging": [record()]}, pinned=placeholder)
    assert let_through(result) == {"prod_overridden"}
    assert "voicenote_promotion_allowed_signers pins no key of it" in result.hosts["prod"].message


def test_a_signature_covers_the_record_however_a_copy_spells_it(tmp_path, keys):
    """The lock host's line, the controller's copy and one brought back by `history` (parsed
    and written again) verify alike: the signature covers the canonical JSON."""
    signed = audit.sign(unsigned(failure={"message": "ünïcode ok"}, hosts={}), keys["source"])
    respelled = json.dumps(dict(reversed(signed.items())), ensure_ascii=False, indent=None)
    (tmp_path / "staging.jsonl").write_text(respelled + "\n", encoding="utf-8")
    pinned = allowed_signers(keys["source"])
    assert audit.evidence(str(tmp_path), {"rules": "staging"}, pinned) == ([signed], 0)
    assert audit.SIGNATURE not in json.loads(audit.canonical(signed))


def test_append_signs_with_the_installed_key_and_only_then(tmp_path, keys):
    trail = tmp_path / "lib" / "audit.jsonl"
    line, signed = audit.append(str(trail), unsigned(), keys["source"])
    assert signed and json.loads(line)["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    assert oct(trail.stat().st_mode & 0o777) == "0o640"
    line2, signed2 = audit.append(str(trail), unsigned(), str(tmp_path / "no-key"))
    assert not signed2 and "signature" not in json.loads(line2)
    assert trail.read_text().splitlines() == [line, line2]
    pinned = allowed_signers(keys["source"])
    good, unverified = audit.evidence(str(trail.parent), {"source_commit": COMMIT}, pinned)
    assert (good, unverified) == ([json.loads(line)], 1)
