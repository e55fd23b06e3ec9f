"""The alerting rules the prometheus role installs (templates/alerts.rules.yml.j2), rendered with
the role's defaults: they hold the alerts of docs/monitoring.md, promtool accepts them, and
promtool's unit tests (tests/promtool) find each alert firing and quiet where it should be."""

import re
import shutil
import subprocess
from pathlib import Path

import jinja2
import jinja2.meta
import pytest
import yaml

from tests.conftest import PROJECT

pytestmark = pytest.mark.unit

ROLE = PROJECT / "roles" / "prometheus"
TEMPLATE = ROLE / "templates" / "alerts.rules.yml.j2"
DEFAULTS = ROLE / "defaults" / "main"
ALERT_DEFAULTS = DEFAULTS / "alerts.yml"
PROMTOOL_TESTS = PROJECT / "tests" / "promtool"
# The name the promtool test files give the rules file they test.
RULES = "alerts.rules.yml"
# The Prometheus of the monitoring host, Debian 12's package: the rules are tested by the same.
# The monitoring hosts' Prometheus (Debian 12's) is 2.42; a newer 2.x reads the same rules.
PROMTOOL_OLDEST = (2, 42)
INSTALL = "run make promtool (as root on Debian: sudo make promtool)"
# A row of the alerts table of docs/monitoring.md: name and severity.
ALERT_ROW = re.compile(r"^\| `(Voicenote\w+)` +\| (critical|warning) +\|", re.MULTILINE)
# As Ansible's template module renders: blocks trimmed, an undefined variable an error, and no
# escaping (the rules are YAML, not HTML).
JINJA = jinja2.Environment(  # noqa: S701
    undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True
)


def promtool() -> str:
    """promtool as scripts/bootstrap.sh installs it in .venv/bin, else from PATH."""
    installed = PROJECT / ".venv" / "bin" / "promtool"
    found = str(installed) if installed.is_file() else shutil.which("promtool")
    if found is None:
        pytest.fail(f"no promtool in .venv/bin or on PATH: {INSTALL}")
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    number = re.search(r"version (\d+)\.(\d+)\.", version)
    if number is None or not PROMTOOL_OLDEST <= (int(number[1]), int(number[2])) < (3, 0):
        pytest.fail(f"{found} is not promtool 2.42 or a newer 2.x ({version.strip()!r}): {INSTALL}")
    return found


def role_defaults() -> dict:
    """The variables of defaults/main/, merged in file name order as Ansible does."""
    defaults: dict = {}
    for path in sorted(DEFAULTS.glob("*.yml")):
        defaults |= yaml.safe_load(path.read_text(encoding="utf-8"))
    return defaults


def render(folder: Path, **overrides) -> Path:
    """The rules rendered into FOLDER with the role's defaults (and OVERRIDES), with the promtool
    tests beside them."""
    template = JINJA.from_string(TEMPLATE.read_text(encoding="utf-8"))
    variables = role_defaults() | overrides | {"ansible_managed": "Ansible managed"}
    (folder / RULES).write_text(template.render(variables), encoding="utf-8")
    for test_file in PROMTOOL_TESTS.glob("*.yml"):
        shutil.copy(test_file, folder)
    return folder


def run_promtool(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool(), *args], cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )


def promtool_test_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.test.yml"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("alerts"))


def test_the_rules_are_the_alerts_of_the_docs(rendered):
    documented = dict(ALERT_ROW.findall((PROJECT / "docs" / "monitoring.md").read_text()))
    groups = yaml.safe_load((rendered / RULES).read_text(encoding="utf-8"))["groups"]
    assert [group["name"] for group in groups] == ["voicenote"]
    rules = groups[0]["rules"]
    assert {rule["alert"]: rule["labels"]["severity"] for rule in rules} == documented
    assert len(rules) == len(documented)
    for rule in rules:
        assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]


def test_the_rules_use_every_alert_default_and_nothing_else():
    parsed = JINJA.parse(TEMPLATE.read_text(encoding="utf-8"))
    used = jinja2.meta.find_undeclared_variables(parsed) - {"ansible_managed"}
    assert used == set(yaml.safe_load(ALERT_DEFAULTS.read_text(encoding="utf-8")))
    assert all(name.startswith("prometheus_alert_") for name in used)


def test_ansible_reads_the_defaults_folder():
    """Ansible reads defaults/main.yml instead of the folder defaults/main/ when both exist."""
    assert DEFAULTS.is_dir()
    assert not (ROLE / "defaults" / "main.yml").exists(), (
        "roles/prometheus/defaults/main.yml hides defaults/main/: move its variables into a file "
        "of defaults/main/"
    )


def test_every_alert_has_a_firing_and_a_quiet_case():
    cases: dict[str, set[bool]] = {}
    for path in PROMTOOL_TESTS.glob("*.test.yml"):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in group["alert_rule_test"]:
                cases.setdefault(case["alertname"], set()).add(bool(case["exp_alerts"]))
    documented = ALERT_ROW.findall((PROJECT / "docs" / "monitoring.md").read_text())
    assert cases == {name: {True, False} for name, _ in documented}


def test_promtool_accepts_the_rules(rendered):
    checked = run_promtool(rendered, "check", "rules", RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_fire_where_they_should(rendered):
    tested = run_promtool(rendered, "test", "rules", *promtool_test_files(rendered))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_finds_a_wrong_threshold(tmp_path):
    """With the 5xx threshold at 50%, the 6% of 5xx the tests expect to fire no longer does."""
    folder = render(tmp_path, prometheus_alert_error_ratio=0.5)
    tested = run_promtool(folder, "test", "rules", *promtool_test_files(folder))
    assert tested.returncode == 1, tested.stdout + tested.stderr
    assert "alertname: VoicenoteErrorRatioHigh" in tested.stderr
