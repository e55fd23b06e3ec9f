"""The runs the services build, pinned: the exact playbook and extra vars of each request, what
CI passes to ansible-playbook with -e for the same request (docs/cicd.md). A change to one of
these is a change of the playbooks' interface and shows up here."""

from pathlib import Path

import pytest

from tests.conftest import PROJECT
from voicenote_ops.bundle.manifest import Manifest
from voicenote_ops.environments import Environment, Kind
from voicenote_ops.models import playbook_vars
from voicenote_ops.models.requests import DeployRequest, RollbackRequest
from voicenote_ops.services.deploy import deploy_run
from voicenote_ops.services.rollback import rollback_run
from voicenote_ops.services.rotate import Rotation, rotate_run

pytestmark = pytest.mark.unit

PROD = Environment("prod", Kind.INVENTORY, Path("/srv/ops/inventories/prod"), "prod")
ARTIFACT = Path("/srv/ops/dist/voicenote-api-1.4.2.tar.gz")


@pytest.fixture(autouse=True)
def _vault_password_file(monkeypatch):
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", "/run/secrets/prod.vault-password")


def _deploy(**fields) -> DeployRequest:
    return DeployRequest(PROD, "1.4.2", ARTIFACT, Manifest.model_construct(), **fields)


def test_a_plain_deploy_passes_only_what_it_always_needs():
    run = deploy_run(_deploy())
    assert (run.playbook, run.inventories, run.interruptible) == (
        "deploy.yml",
        (PROD.inventory,),
        True,
    )
    assert run.vault_password_file == Path("/run/secrets/prod.vault-password")
    assert (run.check, run.limit, run.verbosity) == (False, None, 0)
    assert run.extravars == {
        "voicenote_version": "1.4.2",
        "voicenote_artifact": str(ARTIFACT),
        "voicenote_batch_size": 1,
        "voicenote_stop_previous": False,
        "voicenote_lock_wait": 0,
        "voicenote_lock_take_over": False,
        "voicenote_env_name": "prod",
    }


def test_a_deploy_passes_each_option_asked_for():
    request = _deploy(
        stop_previous=True,
        batch_size=2,
        lock_wait=30,
        verbosity=2,
        override_promotion="hotfix for INC-12",
        ignore_alerts="the alert is the bug",
        watch_seconds=0,
        take_over=True,
        image_digest="registry1:5000/voicenote-api@sha256:" + "a" * 64,
    )
    run = deploy_run(request)
    assert run.verbosity == 2
    assert run.extravars == {
        "voicenote_version": "1.4.2",
        "voicenote_artifact": str(ARTIFACT),
        "voicenote_batch_size": 2,
        "voicenote_stop_previous": True,
        "voicenote_lock_wait": 30,
        "voicenote_lock_take_over": True,
        "voicenote_env_name": "prod",
        "voicenote_promotion_override": "hotfix for INC-12",
        "voicenote_ignore_alerts_reason": "the alert is the bug",
        "voicenote_image_digest": "registry1:5000/voicenote-api@sha256:" + "a" * 64,
        # 0 is asked for (no watch), not left to the inventory.
        "voicenote_watch_seconds": 0,
    }


def test_a_plan_is_the_same_request_on_plan_yml_and_is_not_interruptible():
    deploy, plan = deploy_run(_deploy(batch_size=3)), deploy_run(_deploy(batch_size=3), "plan.yml")
    assert (plan.playbook, plan.interruptible) == ("plan.yml", False)
    assert plan.extravars == deploy.extravars


def test_a_rollback_to_the_previous_release():
    run = rollback_run(RollbackRequest(PROD))
    assert (run.playbook, run.interruptible) == ("rollback.yml", True)
    assert run.extravars == {
        "voicenote_rollback_to": "",
        "voicenote_lock_wait": 0,
        "voicenote_lock_take_over": False,
        "voicenote_allow_downgrade": False,
        "voicenote_stop_previous": False,
        "voicenote_env_name": "prod",
    }


def test_a_rollback_to_a_named_release_with_every_option():
    request = RollbackRequest(
        PROD, "1.3.0", lock_wait=60, downgrade=True, stop_previous=True, take_over=True
    )
    assert rollback_run(request).extravars == {
        "voicenote_rollback_to": "1.3.0",
        "voicenote_lock_wait": 60,
        "voicenote_lock_take_over": True,
        "voicenote_allow_downgrade": True,
        "voicenote_stop_previous": True,
        "voicenote_env_name": "prod",
    }


def test_a_rotation_names_only_its_secret_never_a_value():
    rotation = Rotation(PROD, "redis-password", PROD.vault_file, resumed=False)
    run = rotate_run(rotation, lock_wait=10)
    assert (run.playbook, run.interruptible) == ("rotate.yml", True)
    assert run.extravars == {
        "voicenote_lock_wait": 10,
        "voicenote_env_name": "prod",
        "voicenote_rotate_secret": "redis-password",
    }


def test_every_variable_the_runs_pass_is_one_a_playbook_reads():
    """The table the runs and `ci vars` pass their fields through names only variables the
    playbooks (or the tasks they import) read: a misspelt name would be passed and ignored."""
    read = "\n".join(path.read_text() for path in (PROJECT / "playbooks").rglob("*.yml"))
    assert not [name for name in playbook_vars.NAMES.values() if name not in read]
