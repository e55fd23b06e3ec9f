"""The benchmark's figures: collected per row, setting and metric; rendered as tables (the
terminal and docs/BENCHMARKS.md), with the machine they were measured on and the targets."""

import json
import os
import platform
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from voicenote_ops.bench.settings import REF, STOCK, TUNED
from voicenote_ops.bench.stats import Figure, ratio, spread
from voicenote_ops.files import read_json_as, read_text

BASELINE = STOCK
# The generated part of docs/BENCHMARKS.md; the text around it is the project's own.
BEGIN = "<!-- bench:begin (written by voicenote-ops bench) -->"
END = "<!-- bench:end -->"


class _Usage(Protocol):
    wall: float
    controller_cpu: float
    controller_peak_mb: float
    hosts_cpu: dict[str, float]


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    metric: str = "wall"


# The main table: what an operator feels, in seconds.
ROWS = (
    Row("provision", "first provision of the prod lab"),
    Row("deploy", "deploy of a new version (bundle built)"),
    Row("noop", "no-op redeploy of the live version"),
    Row("rollback", "rollback, old color idle: until served through the LB", "served"),
    Row("rollback", "rollback, old color idle: command"),
    Row("rollback-stop", "rollback --stop-previous: until served through the LB", "served"),
    Row("rollback-stop", "rollback --stop-previous: command"),
    Row("switch", "switch: nginx on the new color until the old one's last request ends"),
    *(Row(f"scaling-{n}", f"deploy on {n} app host{'s' if n > 1 else ''}") for n in (1, 2, 4, 8)),
)


@dataclass
class Results:
    # row -> setting -> metric -> figure
    figures: dict[str, dict[str, dict[str, Figure]]] = field(default_factory=dict)
    settings: list[str] = field(default_factory=list)

    def add(self, row: str, setting: str, metric: str, value: float) -> None:
        if setting not in self.settings:
            self.settings.append(setting)
        per_setting = self.figures.setdefault(row, {}).setdefault(setting, {})
        per_setting.setdefault(metric, Figure()).add(value)

    def add_usage(self, row: str, setting: str, usage: _Usage) -> None:
        apps = [cpu for host, cpu in usage.hosts_cpu.items() if host.startswith("app")]
        self.add(row, setting, "wall", usage.wall)
        self.add(row, setting, "controller_cpu", usage.controller_cpu)
        self.add(row, setting, "hosts_cpu", sum(usage.hosts_cpu.values()))
        if apps:
            self.add(row, setting, "app_host_cpu", sum(apps) / len(apps))
        self.add(row, setting, "peak_mb", usage.controller_peak_mb)

    def figure(self, row: str, setting: str, metric: str = "wall") -> Figure:
        return self.figures.get(row, {}).get(setting, {}).get(metric, Figure())

    def peak_mb(self, setting: str) -> Figure:
        """The largest controller process of each measured operation, over every row."""
        peaks = Figure()
        for per_setting in self.figures.values():
            peaks.samples += per_setting.get(setting, {}).get("peak_mb", Figure()).samples
        return peaks

    def to_json(self) -> dict:
        return {
            row: {s: {m: f.to_json() for m, f in metrics.items()} for s, metrics in per.items()}
            for row, per in self.figures.items()
        }

    @classmethod
    def from_json(cls, figures: dict) -> "Results":
        results = cls()
        for row, per in figures.items():
            for setting, metrics in per.items():
                for metric, figure in metrics.items():
                    for value in figure["samples"]:
                        results.add(row, setting, metric, value)
        return results


class _Metric(BaseModel):
    model_config = ConfigDict(extra="allow")

    samples: list[float]


class _Entry(BaseModel):
    """One run's entry in the figures file, as `merge` writes it."""

    model_config = ConfigDict(extra="allow")

    machine: dict[str, str]
    runs: str
    figures: dict[str, dict[str, dict[str, _Metric]]]


def read_figures(path: Path) -> list[dict]:
    """The entries of the figures file (none before the first run), checked to be what `merge`
    writes: a damaged file is refused before anything is measured or rendered."""
    if not path.exists() and not path.is_symlink():
        return []
    entries = read_json_as(
        list[_Entry],
        path,
        "the benchmark figures",
        "Restore it (git checkout -- FILE) or remove it, then run the benchmark again.",
        written_by="`voicenote-ops bench`",
    )
    return [entry.model_dump() for entry in entries]


def merge(path: Path, results: Results, about: dict[str, str], runs: str) -> list[dict]:
    """The rows of this run, and those of earlier runs this one did not measure (a run of
    `--only noop` updates the no-op rows and keeps the others), saved as JSON at `path`:
    one entry per run, each with the machine it ran on and its figures."""
    earlier = read_figures(path)
    measured = set(results.figures)
    kept = []
    for entry in earlier:
        figures = {row: per for row, per in entry["figures"].items() if row not in measured}
        if figures:
            kept.append({**entry, "figures": figures})
    runs_now = kept + (
        [{"machine": about, "runs": runs, "figures": results.to_json()}] if measured else []
    )
    path.write_text(json.dumps(runs_now, indent=1, sort_keys=True) + "\n")
    return runs_now


def combined(entries: list[dict]) -> Results:
    """Every entry's figures as one set (their rows do not overlap)."""
    results = Results()
    for entry in entries:
        for row, per in Results.from_json(entry["figures"]).figures.items():
            results.figures[row] = per
            for setting in per:
                if setting not in results.settings:
                    results.settings.append(setting)
    results.settings.sort(key=lambda s: (s == BASELINE, s != TUNED, s))
    return results


def _speedup(results: Results, row: Row, setting: str, over: str = BASELINE) -> str:
    found = ratio(results.figure(row.key, over, row.metric),
                  results.figure(row.key, setting, row.metric))  # fmt: skip
    return "-" if found is None else f"{found:.2f}x"


def total_cpu(results: Results, row: str, setting: str) -> Figure:
    """The controller's and the hosts' CPU seconds of each run, added up: what the run cost the
    machine, which a busy machine inflates much less than the wall time."""
    controller = results.figure(row, setting, "controller_cpu").samples
    hosts = results.figure(row, setting, "hosts_cpu").samples
    return Figure([c + h for c, h in zip(controller, hosts, strict=False)])


def _cpu_speedup(results: Results, row: Row, setting: str) -> str:
    if row.metric != "wall":
        return "-"
    found = ratio(total_cpu(results, row.key, BASELINE), total_cpu(results, row.key, setting))
    return "-" if found is None else f"{found:.2f}x"


def main_table(results: Results) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Seconds per setting (median (min-max)), each setting's speed-up over the baseline and,
    when another ref of the project was measured (bench --against), the tuned settings' over it."""
    others = [s for s in results.settings if s != BASELINE]
    against = [REF] if REF in results.settings else []
    columns = ("what", *(f"{s} s" for s in others), f"{BASELINE} s (baseline)",
               *(f"{s} vs {BASELINE}" for s in others),
               *(f"{TUNED} vs {s}" for s in against),
               *(f"{s} vs {BASELINE}, CPU s" for s in others))  # fmt: skip
    rows = []
    for row in ROWS:
        if row.key not in results.figures:
            continue
        rows.append((
            row.label,
            *(spread(results.figure(row.key, s, row.metric), 2 if row.key == "switch" else 1)
              for s in [*others, BASELINE]),
            *(_speedup(results, row, s) for s in others),
            *(_speedup(results, row, TUNED, over=s) for s in against),
            *(_cpu_speedup(results, row, s) for s in others),
        ))  # fmt: skip
    return columns, rows


def cpu_table(results: Results) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Where the CPU went: the controller's process tree and the lab hosts, apart."""
    columns = ("what", "settings", "wall s", "controller CPU s", "hosts' CPU s",
               "CPU s per app host", "controller peak MB")  # fmt: skip
    rows = []
    seen = []
    for row in ROWS:
        if row.key in seen or row.key == "switch" or row.key not in results.figures:
            continue
        seen.append(row.key)
        for setting in results.settings:
            if setting not in results.figures[row.key]:
                continue
            rows.append((
                row.key, setting,
                *(spread(results.figure(row.key, setting, m)) for m in
                  ("wall", "controller_cpu", "hosts_cpu", "app_host_cpu")),
                spread(results.figure(row.key, setting, "peak_mb"), 0),
            ))  # fmt: skip
    return columns, rows


def _scaled(figure: Figure, factor: float) -> Figure:
    return Figure([value * factor for value in figure.samples])


def scaling_table(results: Results) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Deploys on 1 to 8 app hosts: what grows with the hosts, the controller's or the hosts'
    own work (per app host, both should stay flat; the wall time grows when the cores are full)."""
    columns = ("app hosts", "settings", "wall s", "wall vs 1 host", "controller CPU s",
               "controller CPU s per app host", "app hosts' CPU s",
               "CPU s per app host")  # fmt: skip
    rows = []
    for hosts in (1, 2, 4, 8):
        key = f"scaling-{hosts}"
        for setting in results.settings:
            wall = results.figure(key, setting)
            if wall.median is None:
                continue
            one = results.figure("scaling-1", setting).median
            controller = results.figure(key, setting, "controller_cpu")
            per_app = results.figure(key, setting, "app_host_cpu")
            rows.append((
                str(hosts), setting, spread(wall),
                f"{wall.median / one:.2f}x" if one else "-",
                spread(controller), spread(_scaled(controller, 1 / hosts), 2),
                spread(_scaled(per_app, hosts)), spread(per_app),
            ))  # fmt: skip
    return columns, rows


@dataclass(frozen=True)
class Target:
    what: str
    figure: str
    met: bool | None  # None: not measured in this run


def targets(results: Results) -> list[Target]:
    """The issue's targets, judged on the medians of this run."""

    def median(row: str, setting: str = TUNED, metric: str = "wall") -> float | None:
        return results.figure(row, setting, metric).median

    found = []
    noop, noop_base = median("noop"), median("noop", BASELINE)
    if noop is not None:
        speedup = noop_base / noop if noop_base else None
        found.append(Target(
            "no-op redeploy under 10 s and at least 2x faster than the baseline",
            f"{noop:.1f} s, {speedup:.2f}x" if speedup else f"{noop:.1f} s",
            noop < 10 and speedup is not None and speedup >= 2,
        ))  # fmt: skip
    served = median("rollback", metric="served")
    if served is not None:
        found.append(Target("rollback under 3 s with the old color idle (until served)",
                            f"{served:.1f} s", served < 3))  # fmt: skip
    # Against the ref of `bench --against` (the project before the fast paths, docs/fast-paths.md).
    for row, least in (("rollback", 4), ("noop", 2)):
        mine, theirs = median(row), median(row, REF)
        if mine and theirs:
            found.append(Target(f"{row} at least {least}x faster than the ref measured against",
                                f"{theirs / mine:.2f}x ({mine:.1f} s / {theirs:.1f} s)",
                                theirs / mine >= least))  # fmt: skip
    one, eight = median("scaling-1"), median("scaling-8")
    if one and eight:
        found.append(Target("8 app hosts at most 1.5x the wall time of 1",
                            f"{eight / one:.2f}x ({eight:.1f} s / {one:.1f} s)",
                            eight / one <= 1.5))  # fmt: skip
    peak = results.peak_mb(TUNED)
    if peak.high is not None:
        found.append(Target("controller peak memory under 150 MB", f"{peak.high:.0f} MB (largest)",
                            peak.high < 150))  # fmt: skip
    return found


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = names[0] if names else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
        memory = f"{int(total.group(1)) / 1024 / 1024:.0f} GiB" if total else memory
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host": platform.node(),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible-core": package_version("ansible-core"),
        "load average at the start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def markdown_table(columns: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    columns = list(columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _measured_on(entry: dict) -> str:
    """Which rows a run measured, how many runs each figure got (an interrupted run has fewer
    than asked for), and the machine."""
    rows = ", ".join(sorted(entry["figures"]))
    done = sorted({len(metrics["wall"]["samples"]) for per in entry["figures"].values()
                   for metrics in per.values() if "wall" in metrics})  # fmt: skip
    runs = f"{done[0]}-{done[-1]}" if len(done) > 1 else str(done[0]) if done else "0"
    about = "; ".join(f"{k} {v}" for k, v in entry["machine"].items())
    return f"- {rows}: {runs} run(s) done of {entry['runs']} asked. {about}."


def markdown(entries: list[dict]) -> str:
    """The generated part of docs/BENCHMARKS.md, from every run's entry (see `merge`)."""
    results = combined(entries)
    main_columns, main_rows = main_table(results)
    cpu_columns, cpu_rows = cpu_table(results)
    scaling_columns, scaling_rows = scaling_table(results)
    goal_rows = [(t.what, t.figure, {True: "met", False: "not met", None: "-"}[t.met])
                 for t in targets(results)]  # fmt: skip
    peaks = [(s, spread(results.peak_mb(s), 0)) for s in results.settings]
    parts = [
        BEGIN,
        "## Figures of the last run",
        "",
        "Each figure is the median (min-max) in seconds; its baseline was measured in the same",
        "run, alternating with the tuned settings. Measured on:",
        "",
        *(_measured_on(entry) for entry in entries),
        "",
        markdown_table(main_columns, main_rows),
        "",
        "### CPU and memory",
        "",
        markdown_table(cpu_columns, cpu_rows),
        "",
        markdown_table(("settings", "controller peak MB, every operation"), peaks),
        "",
        *(
            [
                "### Scaling: what grows with the app hosts",
                "",
                markdown_table(scaling_columns, scaling_rows),
                "",
            ]
            if scaling_rows
            else []
        ),
        "### Targets",
        "",
        markdown_table(("target", "measured", "verdict"), goal_rows),
        END,
    ]
    return "\n".join(parts) + "\n"


def write_markdown(path: Path, generated: str, preamble: str) -> None:
    """Replace the generated part of the file, keeping the text around it (or start the file
    with `preamble`)."""
    fix = "Name a Markdown file (UTF-8), or remove it to start a new one."
    text = read_text(path, "the benchmark page", fix) if path.is_file() else ""
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + generated + ("\n" + after if after else "")
    else:
        text = preamble.rstrip("\n") + "\n\n" + generated
    path.write_text(text)
