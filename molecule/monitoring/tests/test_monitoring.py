"""monitoring: every exporter and Prometheus and Alertmanager listen on the private address
only; Prometheus scrapes every host of the inventory and loads every alert of
docs/monitoring.md; no secret is in a configuration file others may read or in a command line."""

import json
import time

import pytest

pytestmark = pytest.mark.molecule

# Which hosts listen on which port (docs/monitoring.md).
LISTENERS = {
    9100: ("lb1", "app1", "db1", "mon1"),  # node exporter
    3903: ("app1",),  # mtail: request metrics
    9187: ("db1",),  # PostgreSQL exporter
    9121: ("db1",),  # Redis exporter
    9090: ("mon1",),  # Prometheus
    9093: ("mon1",),  # Alertmanager
}
ALERTS = {
    "VoicenoteDeployFailed", "VoicenoteErrorRatioHigh", "VoicenoteHostErrorRatioHigh",
    "VoicenoteLatencyHigh", "VoicenoteAppOutOfMemory", "VoicenoteAppMemoryNearLimit",
    "VoicenoteCpuSaturated", "VoicenoteColorCrashLooping", "VoicenoteHostDown",
    "VoicenoteExporterDown", "VoicenoteDatabaseDown",
}  # fmt: skip
# converge.yml's webhook: where alerts would go (nothing listens there in this scenario).
WEBHOOK_URL = "http://127.0.0.1:9/alerts-webhook"


def api(hosts, address, port: int, path: str):
    answer = hosts["mon1"].run(f"curl -sf --max-time 5 http://{address('mon1')}:{port}{path}")
    assert answer.rc == 0, answer.stderr
    return json.loads(answer.stdout)


@pytest.mark.parametrize("port", sorted(LISTENERS))
def test_each_listens_on_the_private_address_only(hosts, address, listening_on, port):
    for name in LISTENERS[port]:
        assert listening_on(name, port) == {f"{address(name)}:{port}"}, name
    for name in set(hosts) - set(LISTENERS[port]):
        assert listening_on(name, port) == set(), f"{name} has nothing on {port}"


def test_alertmanager_has_no_cluster_port(hosts):
    assert hosts["mon1"].run("ss -Hltn 'sport = :9094'").stdout.strip() == ""


def test_prometheus_scrapes_every_target_of_the_inventory(hosts, address):
    def targets():
        found = api(hosts, address, 9090, "/api/v1/targets")["data"]["activeTargets"]
        return {(t["labels"]["job"], t["labels"]["host"]): t["health"] for t in found}

    wanted = {("node", name) for name in hosts} | {
        ("requests", "app1"), ("postgresql", "db1"), ("redis", "db1"), ("alertmanager", "mon1"),
    }  # fmt: skip
    # Each target is scraped first within one scrape interval (5 s in labs) of the start.
    deadline = time.monotonic() + 60
    while "unknown" in targets().values() and time.monotonic() < deadline:
        time.sleep(1)
    assert targets() == dict.fromkeys(wanted, "up")


def test_every_alert_is_loaded_with_a_severity(hosts, address):
    groups = api(hosts, address, 9090, "/api/v1/rules")["data"]["groups"]
    rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(rules) == ALERTS
    assert {rule["labels"]["severity"] for rule in rules.values()} <= {"critical", "warning"}


def test_the_databases_report_up_to_their_exporters(hosts, address):
    for query in ("pg_up", "redis_up"):
        answer = api(hosts, address, 9090, f"/api/v1/query?query={query}")["data"]["result"]
        assert [sample["value"][1] for sample in answer] == ["1"], (query, answer)


def test_the_webhook_url_is_readable_only_by_alertmanager(hosts):
    url_file = hosts["mon1"].file("/etc/prometheus/alertmanager-webhook-url")
    assert (url_file.user, url_file.group, url_file.mode) == ("root", "prometheus", 0o640)
    assert url_file.content_string == WEBHOOK_URL
    config = hosts["mon1"].file("/etc/prometheus/alertmanager.yml").content_string
    assert WEBHOOK_URL not in config and "api_url_file" in config


def test_the_redis_password_is_in_no_command_line(hosts, secrets):
    settings = hosts["db1"].file("/etc/default/prometheus-redis-exporter")
    assert (settings.user, settings.group, settings.mode) == ("root", "prometheus", 0o640)
    command_lines = hosts["db1"].run("ps -eo args").stdout
    assert secrets["vault_redis_password"] not in command_lines
