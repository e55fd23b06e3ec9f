"""The promotion guard, through the plain ansible-playbook path on the deploy lab given prod's
rule (voicenote_promotion_from=staging): a commit no staging-like lab deployed is refused, one
it deployed goes through, and an override is recorded. Between two labs made --like staging and
--like prod with the CLI: test_promotion_labs.py."""

import json

import pytest

from tests.conftest import role_plugin, run_cli
from tests.integration.deploy_lab.deploys import DEPLOY_LAB, ansible_playbook, deploy, lab_audit_key
from voicenote_ops.bundle import verify_bundle

pytestmark = [pytest.mark.integration, pytest.mark.security]

audit = role_plugin("lock", "library", "voicenote_audit")


@pytest.fixture(scope="module")
def bundle(deploy_lab):
    built = deploy_lab("1.1.0")
    assert deploy(built, "1.1.0").returncode == 0
    return built


def prod_rule_deploy(bundle, audit_dir, *extra: str):
    return ansible_playbook(
        "deploy.yml", "-e", "voicenote_version=1.1.0", "-e", f"voicenote_artifact={bundle}",
        "-e", "voicenote_promotion_from=staging", "-e", f"voicenote_audit_dir={audit_dir}", *extra,
    )  # fmt: skip


def records(audit_dir) -> list[dict]:
    trail = audit_dir / f"{DEPLOY_LAB}.jsonl"
    return [json.loads(line) for line in trail.read_text().splitlines()]


def test_a_commit_staging_never_ran_is_refused(bundle, tmp_path):
    done = prod_rule_deploy(bundle, tmp_path)
    assert done.returncode != 0
    assert "was never deployed successfully to a lab made --like staging" in done.stdout
    assert records(tmp_path)[-1]["result"] == "refused"


def test_a_commit_staging_ran_goes_through(bundle, tmp_path):
    """A record of the commit that a staging-like lab's lock host signed (with the lab's key)."""
    commit = verify_bundle(bundle).source_commit
    staging = {"format": 1, "operation": "deploy", "result": "succeeded", "rules": "staging",
               "lab": True, "source_commit": commit, "environment": "stage-lab"}  # fmt: skip
    signed = audit.sign(staging, str(lab_audit_key(tmp_path)))
    (tmp_path / "stage-lab.jsonl").write_text(json.dumps(signed) + "\n")
    done = prod_rule_deploy(bundle, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert records(tmp_path)[-1]["result"] == "succeeded"


def test_an_override_is_recorded_as_typed(bundle, tmp_path):
    """The reason goes in as CI would pass it (ci vars, -e @FILE): template syntax and all, it
    reaches the audit record byte for byte and runs nothing."""
    canary = tmp_path / "canary"
    reason = f"hotfix INC-42 {{{{ lookup('pipe', 'touch {canary}') }}}} {{{{ 7*7 }}}}"
    variables = tmp_path / "vars.yml"
    written = run_cli("ci", "vars", "--out", str(variables), "--override-promotion", reason)
    assert written.returncode == 0, written.stderr
    done = prod_rule_deploy(bundle, tmp_path, "-e", f"@{variables}")
    assert done.returncode == 0, done.stdout[-2000:]
    assert records(tmp_path)[-1]["promotion_override"] == reason
    assert not canary.exists()
