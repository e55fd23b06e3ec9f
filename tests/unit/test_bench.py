"""`voicenote-ops bench`: its pure parts (figures, tables, the baseline's settings, the load
balancer probe's arithmetic, CPU counters) and its refusals, without any host."""

import json
import os
from pathlib import Path

import pytest

from voicenote_ops.bench import measure, probe, report, scenarios, settings
from voicenote_ops.bench.stats import Figure, ratio, spread
from voicenote_ops.errors import ExitCode, InvalidInput

pytestmark = pytest.mark.unit


def test_a_figure_is_median_min_and_max():
    figure = Figure([3.0, 1.0, 2.0, 10.0])
    assert (figure.median, figure.low, figure.high) == (2.5, 1.0, 10.0)
    assert spread(figure) == "2.5 (1.0-10.0)"
    assert spread(Figure([4.25])) == "4.2"
    assert spread(Figure()) == "-"


def test_the_ratio_is_the_baseline_over_the_measured_median():
    assert ratio(Figure([20.0, 22.0, 18.0]), Figure([10.0])) == 2.0
    assert ratio(Figure(), Figure([1.0])) is None
    assert ratio(Figure([1.0]), Figure([0.0])) is None


class FakeUsage:
    def __init__(self, wall: float, peak: float) -> None:
        self.wall, self.controller_cpu, self.controller_peak_mb = wall, wall / 4, peak
        self.hosts_cpu = {"app1": 2.0, "app2": 4.0, "db1": 1.0}


def _results() -> report.Results:
    results = report.Results()
    for wall in (8.0, 9.0, 12.0):
        results.add_usage("noop", "tuned", FakeUsage(wall, 90))
    for wall in (20.0, 19.0, 25.0):
        results.add_usage("noop", "stock", FakeUsage(wall, 120))
    results.add("rollback", "tuned", "served", 2.5)
    results.add("switch", "tuned", "wall", 0.42)
    for hosts, wall in ((1, 10.0), (8, 16.0)):
        results.add_usage(f"scaling-{hosts}", "tuned", FakeUsage(wall, 140))
    return results


def test_the_main_table_shows_each_setting_and_the_speedup():
    columns, rows = report.main_table(_results())
    assert columns == ("what", "tuned s", "stock s (baseline)", "tuned vs stock",
                       "tuned vs stock, CPU s")  # fmt: skip
    noop = next(row for row in rows if row[0].startswith("no-op"))
    # CPU: a quarter of the wall on the controller plus 7 s on the hosts, per run
    assert noop == ("no-op redeploy of the live version", "9.0 (8.0-12.0)", "20.0 (19.0-25.0)",
                    "2.22x", "1.30x")  # fmt: skip
    switch = next(row for row in rows if row[0].startswith("switch"))
    assert switch[1] == "0.42"


def test_against_a_ref_each_row_shows_the_tuned_ratio_over_it_too():
    results = _results()
    for wall in (18.0, 17.0, 19.0):
        results.add_usage("noop", "ref", FakeUsage(wall, 100))
    results.settings.sort(key=lambda s: (s == report.BASELINE, s != report.TUNED, s))
    columns, rows = report.main_table(results)
    assert columns[:6] == ("what", "tuned s", "ref s", "stock s (baseline)", "tuned vs stock",
                           "ref vs stock")  # fmt: skip
    assert columns[6] == "tuned vs ref"
    noop = next(row for row in rows if row[0].startswith("no-op"))
    assert noop[6] == "2.00x"
    goal = next(t for t in report.targets(results) if "noop at least 2x" in t.what)
    assert goal.met is True and goal.figure == "2.00x (9.0 s / 18.0 s)"


def test_the_ref_is_its_git_tree_and_a_name_git_does_not_know_is_refused(tmp_path):
    project = Path(__file__).resolve().parents[2]
    setting = settings.ref_setting(project, "HEAD", tmp_path)
    assert setting.variant == "ref" and setting.project == tmp_path / "ref"
    assert setting.config == tmp_path / "ref" / "ansible.cfg" and setting.config.is_file()
    assert (setting.project / "playbooks" / "rollback.yml").is_file()
    with pytest.raises(InvalidInput, match="--against no-such-ref is not a commit"):
        settings.ref_setting(project, "no-such-ref", tmp_path / "other")


def test_the_cpu_table_keeps_the_controller_and_the_hosts_apart():
    _, rows = report.cpu_table(_results())
    noop_tuned = next(row for row in rows if row[:2] == ("noop", "tuned"))
    # wall, controller CPU (a quarter of the wall here), hosts' CPU 7 s, 3 s per app host, 90 MB
    assert noop_tuned[2:] == ("9.0 (8.0-12.0)", "2.2 (2.0-3.0)", "7.0 (7.0-7.0)",
                              "3.0 (3.0-3.0)", "90 (90-90)")  # fmt: skip


def test_the_scaling_table_shows_the_work_per_app_host():
    _, rows = report.scaling_table(_results())
    assert [row[:4] for row in rows] == [("1", "tuned", "10.0", "1.00x"),
                                         ("8", "tuned", "16.0", "1.60x")]  # fmt: skip
    # controller CPU 4 s over 8 hosts; 3 s per app host, 24 s for the 8
    assert rows[1][4:] == ("4.0", "0.50", "24.0", "3.0")


def test_targets_are_judged_on_the_medians():
    verdicts = {t.what.split()[0]: t.met for t in report.targets(_results())}
    assert verdicts == {"no-op": True, "rollback": True, "8": False, "controller": True}


def test_the_markdown_replaces_only_its_own_part(tmp_path):
    document = tmp_path / "BENCHMARKS.md"
    stale = f"{report.BEGIN}\nstale figures\n{report.END}"
    document.write_text(f"# Benchmarks\n\nWhy.\n\n{stale}\n\nAfter.\n")
    entry = {"machine": {"host": "ci", "cpu": "2 cores"}, "runs": "3",
             "figures": _results().to_json()}  # fmt: skip
    generated = report.markdown([entry])
    report.write_markdown(document, generated, "# unused\n")
    text = document.read_text()
    assert text.startswith("# Benchmarks\n\nWhy.\n\n" + report.BEGIN)
    assert "stale figures" not in text and text.endswith("After.\n")
    assert "| no-op redeploy of the live version | 9.0 (8.0-12.0) |" in text
    assert (
        "- noop, rollback, scaling-1, scaling-8, switch: 1-3 run(s) done of 3 asked. "
        "host ci; cpu 2 cores." in text
    )


def test_a_new_markdown_file_starts_with_the_preamble(tmp_path):
    document = tmp_path / "B.md"
    entry = {"machine": {}, "runs": "1", "figures": _results().to_json()}
    report.write_markdown(document, report.markdown([entry]), "# Benchmarks\n")
    assert document.read_text().startswith("# Benchmarks\n\n" + report.BEGIN)


def test_a_run_replaces_the_rows_it_measured_and_keeps_the_others(tmp_path):
    figures = tmp_path / "BENCHMARKS.json"
    report.merge(figures, _results(), {"date": "monday"}, "3")
    again = report.Results()
    again.add_usage("noop", "tuned", FakeUsage(5.0, 80))
    again.add_usage("noop", "stock", FakeUsage(11.0, 80))
    entries = report.merge(figures, again, {"date": "tuesday"}, "1")
    assert [e["machine"]["date"] for e in entries] == ["monday", "tuesday"]
    assert "noop" not in entries[0]["figures"] and "switch" in entries[0]["figures"]
    merged = report.combined(entries)
    assert merged.settings == ["tuned", "stock"]
    assert merged.figure("noop", "tuned").samples == [5.0]
    assert merged.figure("switch", "tuned").samples == [0.42]
    assert report.combined(json.loads(figures.read_text())).figures == merged.figures


def test_the_stock_config_keeps_only_what_correctness_needs(tmp_path):
    text = settings.stock_config_text(Path("/project"))
    assert "roles_path = /project/roles" in text
    assert "host_key_checking = True" in text
    assert "allow_world_readable_tmpfiles = True" in text
    keys = [line.split("=")[0].strip() for line in text.splitlines() if "=" in line]
    for tuned in ("pipelining", "ssh_args", "forks", "gathering", "fact_caching", "strategy"):
        assert tuned not in keys


def test_prepare_writes_the_baseline_and_its_fact_gathering(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "mitogen_strategy_dir", lambda: None)
    compared = settings.prepare(Path("/project"), tmp_path)
    assert [s.variant for s in compared] == ["tuned", "stock"]
    tuned, stock = compared
    assert tuned.config is None and tuned.gather_playbook is None
    assert stock.config.read_text() == settings.stock_config_text(Path("/project"))
    assert "gather_facts: true" in stock.gather_playbook.read_text()


def test_mitogen_is_the_tuned_config_with_its_strategy(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "ansible.cfg").write_text(
        "[defaults]\nroles_path = roles\ncallback_plugins = plugins/callback\nforks = 20\n"
    )
    text = settings.mitogen_config_text(project, Path("/m/strategy"))
    assert f"roles_path = {project / 'roles'}" in text
    assert f"callback_plugins = {project / 'plugins/callback'}" in text
    assert "strategy_plugins = /m/strategy\nstrategy = mitogen_linear" in text
    assert "forks = 20" in text


@pytest.mark.parametrize(
    ("only", "runs", "slow", "message"),
    [
        (["nope"], 3, None, "--only 'nope' is not a benchmark"),
        (None, 0, None, "--runs must be from 1 to 20, not 0"),
        (None, 3, 0, "--slow-runs must be from 1 to 20, not 0"),
    ],
)
def test_the_plan_refuses_bad_input(only, runs, slow, message):
    with pytest.raises(InvalidInput, match=message):
        scenarios.plan(only, runs, slow)


def test_the_plan_keeps_the_order_and_the_slow_runs():
    plan = scenarios.plan(["rollback", "noop", "scaling"], 3, 1)
    assert plan.scenarios == ("noop", "rollback", "scaling")
    assert (plan.runs_of("noop"), plan.runs_of("scaling")) == (3, 1)
    assert scenarios.plan(None, 2, None).runs_of("provision") == 2


@pytest.mark.parametrize(("args", "phrase"), [
    (("--only", "fastest"), "--only 'fastest' is not a benchmark."),
    (("--runs", "0"), "--runs must be from 1 to 20, not 0."),
])  # fmt: skip
def test_the_cli_refuses_bad_input_in_one_sentence(cli, args, phrase):
    result = cli("bench", *args)
    assert result.returncode == ExitCode.INVALID, result.stderr
    assert phrase in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def _answer(sent, done, color, host="app1", version=None, kind="health"):
    return probe.Answer(sent, done, kind, 200, version=version, host=host, color=color)


def test_served_is_when_the_load_balancer_settles_on_the_release():
    answers = [
        _answer(10.0, 10.1, "blue", version="1.1.0"),
        _answer(11.0, 11.1, "green", version="1.0.0"),
        _answer(11.2, 11.3, "blue", "app2", version="1.1.0"),
        _answer(12.0, 12.2, "green", "app2", version="1.0.0"),
        _answer(12.5, 12.6, "green", version="1.0.0"),
    ]
    assert probe.served_at(answers, "1.0.0", since=10.0) == pytest.approx(2.2)
    assert probe.served_at(answers, "2.0.0", since=10.0) is None


def test_the_switch_lasts_until_the_old_colors_last_request_ends():
    answers = [
        _answer(0.0, 3.0, "blue", kind="long"),  # in flight on the old color
        _answer(1.0, 1.1, "blue"),
        _answer(1.5, 1.6, "green"),  # nginx sends to the new color from here
        _answer(2.0, 2.1, "green"),
        _answer(0.0, 0.1, "blue", "app2"),
        _answer(1.0, 1.1, "blue", "app2"),  # app2 did not switch
    ]
    assert probe.switch_seconds(answers) == pytest.approx(1.5)
    assert probe.switch_seconds(answers[4:]) is None


def test_failed_requests_are_counted():
    answers = [
        _answer(0, 1, "blue"),
        probe.Answer(0, 1, "long", None),
        probe.Answer(0, 1, "x", 502),
    ]
    assert probe.failed_requests(answers) == 2


def test_a_containers_cpu_counter_is_found_from_its_init_process(tmp_path, monkeypatch):
    proc = tmp_path / "proc"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "cgroup").write_text(
        "2:cpuacct:/libpod_parent/libpod-abc\n0::/libpod_parent/libpod-abc/init.scope\n"
    )
    unified = tmp_path / "unified"
    stat = unified / "libpod_parent" / "libpod-abc" / "cpu.stat"
    stat.parent.mkdir(parents=True)
    stat.write_text("usage_usec 2500000\nuser_usec 2000000\n")
    monkeypatch.setattr(measure, "CGROUP_ROOTS", (unified,))
    assert measure.cgroup_cpu_file(42, proc) == stat
    assert measure.read_cpu_seconds(stat) == 2.5
    stat.unlink()
    cpuacct = tmp_path / "cpuacct"
    usage = cpuacct / "libpod_parent" / "libpod-abc" / "cpuacct.usage"
    usage.parent.mkdir(parents=True)
    usage.write_text("1500000000\n")
    monkeypatch.setattr(measure, "CPUACCT_ROOT", cpuacct)
    assert measure.cgroup_cpu_file(42, proc) == usage
    assert measure.read_cpu_seconds(usage) == 1.5


def test_an_operation_is_measured_in_a_child_of_its_own(tmp_path):
    counter = tmp_path / "cpu.stat"
    counter.write_text("usage_usec 1000000\n")

    def operation() -> dict:
        sum(range(200_000))
        return {"status": "successful", "pid": os.getpid()}

    usage = measure.measure(operation, {"app1": counter})
    assert usage.succeeded and usage.outcome["pid"] != os.getpid()
    assert usage.wall > 0 and usage.controller_cpu > 0 and usage.controller_peak_mb > 1
    assert usage.hosts_cpu == {"app1": 0.0}


def test_a_failing_operation_is_reported_not_raised():
    def operation() -> dict:
        raise InvalidInput("Bundle x does not exist.", "Build it.")

    usage = measure.measure(operation, {})
    assert not usage.succeeded
    assert usage.outcome["error"] == "InvalidInput: Bundle x does not exist."


def test_render_writes_the_markdown_again_from_its_json(cli, tmp_path):
    document = tmp_path / "BENCHMARKS.md"
    report.merge(tmp_path / "BENCHMARKS.json", _results(), {"host": "ci"}, "3")
    result = cli("bench", "--render", "--output", str(document))
    assert result.returncode == 0, result.stderr
    assert "| no-op redeploy of the live version | 9.0 (8.0-12.0) |" in document.read_text()
    missing = cli("bench", "--render", "--output", str(tmp_path / "none.md"))
    assert missing.returncode == ExitCode.INVALID
    assert "none.json does not exist. Run the benchmark first." in missing.stderr
