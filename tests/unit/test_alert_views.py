"""The alerts as the CLI, the deploy's alert guard and the audit trail read them: Alertmanager's
answer made short records, and an environment without monitoring refused before any host."""

import pytest
import yaml

from tests.conftest import role_plugin
from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import ExitCode, InvalidInput
from voicenote_ops.inventory import check_inventory
from voicenote_ops.services import inspect

pytestmark = pytest.mark.unit

alerts = role_plugin("alertmanager", "filter_plugins", "alerts")


def api_alert(name, started, state="active", host=None, severity="critical"):
    labels = {"alertname": name, "severity": severity, **({"host": host} if host else {})}
    return {
        "labels": labels, "annotations": {"summary": f"{name} summary"},
        "startsAt": started, "status": {"state": state},
    }  # fmt: skip


def test_firing_alerts_are_short_records_oldest_first_and_only_active():
    answer = [
        api_alert("VoicenoteLatencyHigh", "2026-11-30T03:10:00Z", severity="warning"),
        api_alert("VoicenoteHostDown", "2026-11-30T03:00:00Z", host="app2"),
        api_alert("VoicenoteCpuSaturated", "2026-11-30T02:00:00Z", state="suppressed"),
    ]
    assert alerts.firing_alerts(answer) == [
        {"name": "VoicenoteHostDown", "severity": "critical", "host": "app2",
         "summary": "VoicenoteHostDown summary", "since": "2026-11-30T03:00:00Z"},
        {"name": "VoicenoteLatencyHigh", "severity": "warning", "host": "",
         "summary": "VoicenoteLatencyHigh summary", "since": "2026-11-30T03:10:00Z"},
    ]  # fmt: skip
    assert alerts.firing_alerts(None) == []


def test_alerts_of_an_environment_without_monitoring_are_refused_before_any_host(tmp_path):
    environment = Environment("dev", Kind.INVENTORY, tmp_path, "dev", monitored=False)
    with pytest.raises(InvalidInput) as refused:
        inspect.alerts(environment, lambda _: None)
    assert refused.value.code == ExitCode.INVALID
    assert (
        "no monitoring host" in refused.value.message and "lab up --monitoring" in refused.value.fix
    )


@pytest.mark.parametrize(("monitoring", "monitored"), [({"mon1": None}, True), ({}, False)])
def test_an_inventory_is_monitored_when_its_monitoring_group_has_a_host(
    tmp_path, monitoring, monitored
):
    hosts = tmp_path / "hosts.yml"
    groups = {name: {"hosts": {f"{name}1": None}} for name in ("lb", "app", "db")}
    groups["monitoring"] = {"hosts": monitoring}
    hosts.write_text(yaml.safe_dump({"all": {"children": groups}}))
    assert bool(check_inventory(hosts).hosts_of("monitoring")) is monitored
