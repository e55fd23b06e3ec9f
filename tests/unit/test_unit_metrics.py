"""voicenote-unit-metrics: systemd's word on each app unit and its cgroup's figures, as the
node exporter's textfile collector reads them, from fake cgroup trees and `systemctl show`."""

import subprocess
from pathlib import Path

import pytest

from tests.conftest import role_plugin

pytestmark = pytest.mark.unit

metrics = role_plugin("unit_metrics", "files", "voicenote_unit_metrics")

BLUE, GREEN = "voicenote@blue.service", "voicenote@green.service"
BLUE_GROUP = "/system.slice/system-voicenote.slice/voicenote@blue.service"
# As systemd 252 prints them for root, one block per unit in the order asked.
SHOW = f"""\
Result=oom-kill
NRestarts=3
ControlGroup={BLUE_GROUP}
Id={BLUE}
LoadState=loaded
ActiveState=active

Result=success
NRestarts=0
ControlGroup=
Id={GREEN}
LoadState=not-found
ActiveState=inactive
"""


def write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text + "\n")


def v1_host(root: Path, limit: str = "536870912", quota: str = "-1") -> Path:
    """A cgroup v1 container's view: each controller mounted at the container's own cgroup,
    read-only, so no system.slice below it."""
    write(
        root / "memory",
        {
            "memory.usage_in_bytes": "68194304",
            "memory.limit_in_bytes": limit,
            "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2",
        },
    )
    write(root / "cpuacct", {"cpuacct.usage": "876498285"})
    write(root / "cpu", {"cpu.cfs_quota_us": quota, "cpu.cfs_period_us": "100000"})
    return root


def v2_unit(root: Path, memory_max: str = "1073741824", cpu_max: str = "150000 100000") -> Path:
    (root / "cgroup.controllers").parent.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    write(
        root / BLUE_GROUP.lstrip("/"),
        {
            "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000",
            "cpu.max": cpu_max,
            "memory.current": "104857600",
            "memory.max": memory_max,
            "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0",
        },
    )
    return root


def state(group: str = BLUE_GROUP, loaded: bool = True, active: bool = True):
    return metrics.UnitState(
        loaded=loaded, active=active, result="success", restarts=0, control_group=group
    )


def test_parse_show_reads_each_units_block_in_order():
    states = metrics.parse_show(SHOW, [BLUE, GREEN])
    assert states[BLUE] == metrics.UnitState(
        loaded=True, active=True, result="oom-kill", restarts=3, control_group=BLUE_GROUP
    )
    assert states[GREEN] == metrics.UnitState(
        loaded=False, active=False, result="success", restarts=0, control_group=""
    )


def test_parse_show_refuses_output_that_does_not_match_the_units():
    with pytest.raises(ValueError, match="1 blocks for 2 units"):
        metrics.parse_show(SHOW.split("\n\n")[0], [BLUE, GREEN])


def test_one_systemctl_call_asks_for_every_unit():
    calls = []

    def run(argv, **options):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, stdout=SHOW, stderr="")

    assert set(metrics.systemd_states([BLUE, GREEN], run)) == {BLUE, GREEN}
    assert calls == [
        [
            "systemctl",
            "show",
            "--property=Id,LoadState,ActiveState,Result,NRestarts,ControlGroup",
            "--",
            BLUE,
            GREEN,
        ]
    ]


@pytest.mark.parametrize(("text", "count"), [("0-3", 4), ("0", 1), ("0-1,4,6-7", 5)])
def test_online_cpus_counts_the_kernels_list(tmp_path, text, count):
    (tmp_path / "online").write_text(text + "\n")
    assert metrics.online_cpus(tmp_path / "online") == count


# A v1 container reads the host's figures; a v2 unit its own.
FIGURES = {
    "v1 host": (
        v1_host, 2, "host",
        metrics.Usage(cpu_seconds=0.876498285, cpu_cores=2, memory_bytes=68194304,
                      memory_limit_bytes=536870912, oom_kills=2),
    ),
    "v2 unit": (
        v2_unit, 4, "unit",
        metrics.Usage(cpu_seconds=2.5, cpu_cores=1.5, memory_bytes=104857600,
                      memory_limit_bytes=1073741824, oom_kills=1),
    ),
}  # fmt: skip


@pytest.mark.parametrize("layout", sorted(FIGURES))
def test_each_cgroup_layout_gives_its_figures(tmp_path, layout):
    make, cpus, scope, usage = FIGURES[layout]
    assert metrics.Cgroups(make(tmp_path), cpus=cpus).for_unit(state()) == (scope, usage)


def test_a_v1_quota_gives_the_cores_and_no_limit_gives_no_limit(tmp_path):
    cgroups = metrics.Cgroups(v1_host(tmp_path, "9223372036854771712", "50000"), cpus=2)
    _, usage = cgroups.for_unit(state())
    assert (usage.cpu_cores, usage.memory_limit_bytes) == (0.5, None)


def test_a_v1_host_with_unit_cgroups_reads_the_units_own(tmp_path):
    v1_host(tmp_path)
    unit = tmp_path / "memory" / BLUE_GROUP.lstrip("/")
    write(unit, {"memory.usage_in_bytes": "1000", "memory.limit_in_bytes": "2000"})
    scope, usage = metrics.Cgroups(tmp_path, cpus=2).for_unit(state())
    assert (scope, usage.memory_bytes, usage.memory_limit_bytes) == ("unit", 1000, 2000)
    # The unit's cpu and cpuacct folders are missing: those figures are not the host's.
    assert (usage.cpu_seconds, usage.oom_kills) == (None, None)


def test_a_v2_unit_without_limits_has_the_online_cpus_and_no_memory_limit(tmp_path):
    cgroups = metrics.Cgroups(v2_unit(tmp_path, memory_max="max", cpu_max="max 100000"), cpus=4)
    _, usage = cgroups.for_unit(state())
    assert (usage.cpu_cores, usage.memory_limit_bytes) == (4, None)


def test_a_stopped_unit_has_no_figures_where_units_have_cgroups(tmp_path):
    assert metrics.Cgroups(v2_unit(tmp_path), cpus=4).for_unit(state("", active=False)) is None


def test_a_unit_not_installed_yet_has_no_figures(tmp_path):
    not_found = state("", loaded=False, active=False)
    assert metrics.Cgroups(v1_host(tmp_path), cpus=2).for_unit(not_found) is None


def test_the_textfile_before_the_first_deploy(tmp_path):
    """Neither unit exists: systemd's lines only, and nothing fails."""
    show = SHOW.split("\n\n")[1]

    def run(argv, **options):
        return subprocess.CompletedProcess(argv, 0, stdout=f"{show}\n\n{show}", stderr="")

    text = metrics.collect([BLUE, GREEN], metrics.Cgroups(v1_host(tmp_path), cpus=2), run)
    assert "scope=" not in text
    assert f'voicenote_unit_active{{unit="{GREEN}"}} 0' in text.splitlines()


def test_the_textfile_of_a_v1_container(tmp_path):
    def run(argv, **options):
        return subprocess.CompletedProcess(argv, 0, stdout=SHOW, stderr="")

    text = metrics.collect([BLUE, GREEN], metrics.Cgroups(v1_host(tmp_path), cpus=2), run)
    assert text == (
        "# HELP voicenote_unit_restarts_total Automatic restarts systemd made (NRestarts).\n"
        "# TYPE voicenote_unit_restarts_total counter\n"
        'voicenote_unit_restarts_total{unit="voicenote@blue.service"} 3\n'
        'voicenote_unit_restarts_total{unit="voicenote@green.service"} 0\n'
        "# HELP voicenote_unit_active 1 when systemd reports the unit active.\n"
        "# TYPE voicenote_unit_active gauge\n"
        'voicenote_unit_active{unit="voicenote@blue.service"} 1\n'
        'voicenote_unit_active{unit="voicenote@green.service"} 0\n'
        "# HELP voicenote_unit_result 1 for systemd's Result of the unit's last run.\n"
        "# TYPE voicenote_unit_result gauge\n"
        'voicenote_unit_result{unit="voicenote@blue.service",result="oom-kill"} 1\n'
        'voicenote_unit_result{unit="voicenote@green.service",result="success"} 1\n'
        "# HELP voicenote_unit_cpu_seconds_total CPU time used by the cgroup.\n"
        "# TYPE voicenote_unit_cpu_seconds_total counter\n"
        'voicenote_unit_cpu_seconds_total{unit="voicenote@blue.service",scope="host"} 0.876498285\n'
        "# HELP voicenote_unit_cpu_cores CPUs the cgroup may use: its quota, else online CPUs.\n"
        "# TYPE voicenote_unit_cpu_cores gauge\n"
        'voicenote_unit_cpu_cores{unit="voicenote@blue.service",scope="host"} 2\n'
        "# HELP voicenote_unit_memory_bytes Memory the cgroup uses, page cache included.\n"
        "# TYPE voicenote_unit_memory_bytes gauge\n"
        'voicenote_unit_memory_bytes{unit="voicenote@blue.service",scope="host"} 68194304\n'
        "# HELP voicenote_unit_memory_limit_bytes The cgroup's memory limit; absent if none.\n"
        "# TYPE voicenote_unit_memory_limit_bytes gauge\n"
        'voicenote_unit_memory_limit_bytes{unit="voicenote@blue.service",scope="host"} 536870912\n'
        "# HELP voicenote_unit_oom_kills_total Processes the OOM killer killed in the cgroup.\n"
        "# TYPE voicenote_unit_oom_kills_total counter\n"
        'voicenote_unit_oom_kills_total{unit="voicenote@blue.service",scope="host"} 2\n'
    )


def test_label_values_are_escaped():
    odd = metrics.UnitState(
        loaded=False, active=False, result='a"b\\c\nd', restarts=0, control_group=""
    )
    text = metrics.render({"x": odd}, {"x": None})
    assert 'voicenote_unit_result{unit="x",result="a\\"b\\\\c\\nd"} 1' in text


def test_write_atomically_replaces_the_file_readable_by_all(tmp_path):
    target = tmp_path / metrics.OUTPUT_NAME
    target.write_text("old\n")
    metrics.write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [metrics.OUTPUT_NAME]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / metrics.OUTPUT_NAME
    target.write_text("old\n")

    def refuse(source, destination):
        raise OSError("read-only")

    monkeypatch.setattr(metrics.os, "replace", refuse)
    with pytest.raises(OSError, match="read-only"):
        metrics.write_atomically(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == [metrics.OUTPUT_NAME]


def test_once_reports_a_failure_and_exits_1(tmp_path, monkeypatch, capsys):
    def fail(units, cgroups, run=None):
        raise subprocess.CalledProcessError(1, ["systemctl"])

    monkeypatch.setattr(metrics, "collect", fail)
    assert metrics.main(["--once", "--textfile-dir", str(tmp_path), BLUE]) == 1
    assert "not updated" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
