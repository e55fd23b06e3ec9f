"""The prometheus role's scrape configuration, rendered as Ansible renders it for an inventory
with every group: promtool accepts it (with the rules it loads), and every host of the inventory
is a target of each job its groups run, labelled with the environment and its name."""

import subprocess

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from tests.unit.test_alert_rules import ROLE, RULES, promtool, render

pytestmark = pytest.mark.unit

GROUPS = {"lb": ["lb1"], "app": ["app1", "app2"], "db": ["db1"], "monitoring": ["mon1"]}
ADDRESSES = {"lb1": "10.0.0.10", "app1": "10.0.0.21", "app2": "10.0.0.22", "db1": "10.0.0.30",
             "mon1": "10.0.0.40"}  # fmt: skip


def trusted(value):
    """The role's YAML as Ansible loads it: its strings are templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("prometheus")
    rules = render(folder) / RULES
    variables = trusted(
        yaml.safe_load((ROLE / "defaults" / "main" / "server.yml").read_text())
        | yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    )
    variables |= {
        "voicenote_environment": "prod", "voicenote_private_address": ADDRESSES["mon1"],
        "groups": GROUPS,
        "hostvars": {host: {"voicenote_private_address": a} for host, a in ADDRESSES.items()},
        "ansible_managed": "managed", "__prometheus_rules": str(rules),
    }  # fmt: skip
    templar = Templar(loader=DataLoader(), variables=variables)
    config = folder / "prometheus.yml"
    config.write_text(
        templar.template(trust_as_template((ROLE / "templates" / "prometheus.yml.j2").read_text()))
    )
    return config


def test_promtool_accepts_the_configuration_and_its_rules(rendered):
    checked = subprocess.run(
        [promtool(), "check", "config", str(rendered)], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 11 rules found" in checked.stdout + checked.stderr


def test_every_host_is_a_target_of_its_groups_jobs(rendered):
    config = yaml.safe_load(rendered.read_text())
    targets = {
        job["job_name"]: {(t["targets"][0], t["labels"]["host"], t["labels"]["env"])
                          for t in job["static_configs"]}
        for job in config["scrape_configs"]
    }  # fmt: skip
    assert targets["node"] == {(f"{a}:9100", h, "prod") for h, a in ADDRESSES.items()}
    assert targets["requests"] == {(f"{ADDRESSES[h]}:3903", h, "prod") for h in ("app1", "app2")}
    assert targets["postgresql"] == {(f"{ADDRESSES['db1']}:9187", "db1", "prod")}
    assert targets["redis"] == {(f"{ADDRESSES['db1']}:9121", "db1", "prod")}
    assert targets["alertmanager"] == {(f"{ADDRESSES['mon1']}:9093", "mon1", "prod")}
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == [f"{ADDRESSES['mon1']}:9093"]
