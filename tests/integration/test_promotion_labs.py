"""Promotion between two labs, with the CLI as an operator runs it: a lab made --like prod
(prod's rule: voicenote_promotion_from=staging) refuses a commit that no lab made --like staging
deployed, takes it once one did and its trail was brought to the controller with
`voicenote-ops history`, and records an operator's override. One host per lab (--topology
single) keeps it cheap; both labs are removed even when the test fails."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, lab_name, run_cli
from tests.integration.labs import host_state, lab_up
from tests.unit.test_cli_errors import assert_refused
from voicenote_ops.bundle import verify_bundle
from voicenote_ops.bundle.signature import LAB_SIGNING_KEY
from voicenote_ops.errors import ExitCode

# The stress tier's: the default tier checks the same guard on the deploy lab through the plain
# ansible-playbook path (deploy_lab/test_promotion.py); this is the CLI's path between two labs.
pytestmark = [pytest.mark.integration, pytest.mark.security, pytest.mark.stress]

STAGING_LIKE = lab_name("staging-like")
PROD_LIKE = lab_name("prod-like")
NODE = ("node1",)


def provision_both() -> None:
    """Both labs at once: provisioning is the slow part, and the two share nothing."""
    runs = {
        lab: subprocess.Popen(
            [sys.executable, "-m", "voicenote_ops", "provision", lab, "--yes"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=PROJECT,
        )
        for lab in (STAGING_LIKE, PROD_LIKE)
    }
    for lab, run in runs.items():
        output, _ = run.communicate(timeout=1200)
        assert run.returncode == 0, f"provision {lab}: {output[-3000:]}"


@pytest.fixture(scope="module")
def labs():
    with (
        lab_up(STAGING_LIKE, "--topology", "single", "--like", "staging", "--image", "packages"),
        lab_up(PROD_LIKE, "--topology", "single", "--like", "prod", "--image", "packages"),
    ):
        provision_both()
        yield


def deploy(lab: str, bundle: Path, version: str, *options: str):
    # No watch window (the labs' rules would watch 30 and 60 s after each switch): what is
    # checked here is the promotion guard before any host changes; tests/integration/
    # deploy_lab/test_guards.py watches, test_alerts.py switches back on a breach.
    return run_cli(
        "deploy", lab, "--version", version, "--artifact", str(bundle), "--yes", "--json",
        "--watch", "0", *options, timeout=900,
    )  # fmt: skip


def trail(lab: str) -> Path:
    """The controller's copy of a lab's audit trail (the promotion guard reads these)."""
    return Path(os.environ["VOICENOTE_OPS_STATE"]) / "audit" / f"{lab}.jsonl"


def records(lab: str) -> list[dict]:
    return [json.loads(line) for line in trail(lab).read_text().splitlines()]


def serves(lab: str) -> str | None:
    result = run_cli("status", lab, "--json")
    assert result.returncode == 0, result.stderr
    (host,) = json.loads(result.stdout)["hosts"]
    return host["live_version"]


def build(version: str, out: Path) -> Path:
    """The deploy job's build step: the example app, as this checkout has it, signed with the
    key labs trust (CI's is its secret RELEASE_SIGNING_KEY)."""
    built = run_cli(
        "build", "--version", version, "--signing-key", str(PROJECT / LAB_SIGNING_KEY),
        "--out", str(out), "--json", timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    return Path(json.loads(built.stdout)["bundle"])


def test_prod_like_lab_takes_only_what_a_staging_like_lab_ran(labs, release_bundle, tmp_path):
    """The deploy job's commands on a prod-like lab (build, deploy, health, smoke test,
    rollback), with the promotion guard between it and a staging-like lab."""
    first, second = release_bundle("1.0.0"), build("1.0.1", tmp_path / "dist")
    commit = verify_bundle(second).source_commit
    assert verify_bundle(first).source_commit == commit  # both built from this checkout

    # No staging-like lab has run this commit: only an override lets it through, recorded.
    overridden = deploy(PROD_LIKE, first, "1.0.0", "--override-promotion", "INC-7 first install")
    assert overridden.returncode == 0, overridden.stderr[-3000:]
    assert records(PROD_LIKE)[-1]["promotion_override"] == "INC-7 first install"
    assert serves(PROD_LIKE) == "1.0.0"

    # Without one, refused with the reason, and nothing on the host changes.
    before = host_state(PROD_LIKE, NODE, db_host="node1")
    refused = deploy(PROD_LIKE, second, "1.0.1")
    assert_refused(
        refused, ExitCode.REFUSED,
        f"The source commit {commit} was never deployed successfully to a lab made --like "
        "staging", "Nothing changed",
    )  # fmt: skip
    assert host_state(PROD_LIKE, NODE, db_host="node1") == before
    assert (records(PROD_LIKE)[-1]["result"], records(PROD_LIKE)[-1]["lab"]) == ("refused", True)
    assert serves(PROD_LIKE) == "1.0.0"

    # The staging-like lab runs it. Its deploy was made elsewhere as far as this controller
    # knows (its copy of the trail is moved away): the evidence is on the lab's lock host only.
    staged = deploy(STAGING_LIKE, second, "1.0.1")
    assert staged.returncode == 0, staged.stderr[-3000:]
    shutil.move(trail(STAGING_LIKE), tmp_path / "elsewhere.jsonl")
    # A line written by hand into the controller's audit folder, saying just what the lab's
    # lock host said but without its signature, proves nothing: refused, the host unchanged.
    (staged_record,) = [
        r for r in map(json.loads, (tmp_path / "elsewhere.jsonl").read_text().splitlines())
        if r["operation"] == "deploy" and r["result"] == "succeeded"
    ]  # fmt: skip
    forged = {key: value for key, value in staged_record.items() if key != "signature"}
    trail("handwritten").write_text(json.dumps(forged) + "\n")
    still_refused = deploy(PROD_LIKE, second, "1.0.1")
    assert_refused(
        still_refused, ExitCode.REFUSED, "was never deployed successfully",
        "1 record(s) of it carry no signature of a pinned key",
    )  # fmt: skip
    assert host_state(PROD_LIKE, NODE, db_host="node1") == before
    assert serves(PROD_LIKE) == "1.0.0"

    # `voicenote-ops history` brings the staging-like lab's trail here; now the deploy passes.
    history = run_cli("history", STAGING_LIKE, "--lines", "1000", "--json")
    assert history.returncode == 0, history.stderr
    (staging_record,) = [
        r for r in json.loads(history.stdout)["records"]
        if r["operation"] == "deploy" and r["result"] == "succeeded"
    ]  # fmt: skip
    assert staging_record == staged_record  # signature and all
    assert staging_record["source_commit"] == commit
    assert (staging_record["rules"], staging_record["lab"]) == ("staging", True)
    assert trail(STAGING_LIKE).is_file()
    promoted = deploy(PROD_LIKE, second, "1.0.1")
    assert promoted.returncode == 0, promoted.stderr[-3000:]
    assert serves(PROD_LIKE) == "1.0.1"
    assert records(PROD_LIKE)[-1]["result"] == "succeeded"
    assert records(PROD_LIKE)[-1]["promotion_override"] is None

    # The deploy job's checks after a deploy, then its rollback (run there when a check fails).
    healthy = run_cli("health", PROD_LIKE)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    smoke = run_cli("health", PROD_LIKE, "--smoke")
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    rolled_back = run_cli("rollback", PROD_LIKE, "--yes")
    assert rolled_back.returncode == 0, rolled_back.stderr[-3000:]
    assert serves(PROD_LIKE) == "1.0.0"
