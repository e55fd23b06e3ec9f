#!/usr/bin/python3 -I
"""Write the app units' state and resource use for the node exporter's textfile collector.

    voicenote-unit-metrics --textfile-dir DIR [--interval SECONDS] [--once] UNIT...

Every INTERVAL seconds it asks systemd for each unit's restarts, state and last result, reads
the unit's cgroup (or, where systemd has no cgroup per unit, the host's) and replaces
DIR/voicenote_units.prom in one rename, so the collector never reads half a file.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

OUTPUT_NAME = "voicenote_units.prom"
PROPERTIES = ("Id", "LoadState", "ActiveState", "Result", "NRestarts", "ControlGroup")
# cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit number; anything this
# large is no limit a host could reach.
V1_UNLIMITED = 2**62
# The cgroup v1 hierarchies read, each mounted at /sys/fs/cgroup/<name>.
CONTROLLERS = ("memory", "cpu", "cpuacct")

HELP = {
    "voicenote_unit_restarts_total": ("counter", "Automatic restarts systemd made (NRestarts)."),
    "voicenote_unit_active": ("gauge", "1 when systemd reports the unit active."),
    "voicenote_unit_result": ("gauge", "1 for systemd's Result of the unit's last run."),
    "voicenote_unit_cpu_seconds_total": ("counter", "CPU time used by the cgroup."),
    "voicenote_unit_cpu_cores": ("gauge", "CPUs the cgroup may use: its quota, else online CPUs."),
    "voicenote_unit_memory_bytes": ("gauge", "Memory the cgroup uses, page cache included."),
    "voicenote_unit_memory_limit_bytes": ("gauge", "The cgroup's memory limit; absent if none."),
    "voicenote_unit_oom_kills_total": ("counter", "Processes the OOM killer killed in the cgroup."),
}


@dataclass(frozen=True)
class UnitState:
    """What `systemctl show` says of one unit."""

    loaded: bool
    active: bool
    result: str
    restarts: int
    control_group: str


@dataclass(frozen=True)
class Usage:
    """A cgroup's figures; None where the cgroup does not tell."""

    cpu_seconds: float | None = None
    cpu_cores: float | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    oom_kills: int | None = None


def show_command(units: Iterable[str]) -> list[str]:
    return ["systemctl", "show", "--property=" + ",".join(PROPERTIES), "--", *units]


def parse_show(text: str, units: list[str]) -> dict[str, UnitState]:
    """Each unit's state from `systemctl show` of those units: one block per unit, in order."""
    blocks = [block for block in text.strip().split("\n\n") if block.strip()]
    if len(blocks) != len(units):
        raise ValueError(f"systemctl show gave {len(blocks)} blocks for {len(units)} units")
    states = {}
    for unit, block in zip(units, blocks, strict=True):
        values = dict(line.partition("=")[::2] for line in block.splitlines() if "=" in line)
        states[unit] = UnitState(
            loaded=values.get("LoadState") not in (None, "", "not-found"),
            active=values.get("ActiveState") == "active",
            result=values.get("Result", ""),
            restarts=int(values.get("NRestarts") or 0),
            control_group=values.get("ControlGroup", ""),
        )
    return states


def systemd_states(units: list[str], run: Callable = subprocess.run) -> dict[str, UnitState]:
    shown = run(show_command(units), capture_output=True, text=True, check=True, timeout=30)
    return parse_show(shown.stdout, units)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _keyed(path: Path, key: str) -> int | None:
    """KEY's value in a flat-keyed cgroup file (cpu.stat, memory.events, memory.oom_control)."""
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return None


def _int(path: Path) -> int | None:
    text = _read(path)
    return int(text) if text not in (None, "") else None


def online_cpus(path: Path = Path("/sys/devices/system/cpu/online")) -> int:
    """The number of online CPUs, from a list such as 0-3,6."""
    count = 0
    for part in (_read(path) or "").split(","):
        first, _, last = part.partition("-")
        if first:
            count += int(last or first) - int(first) + 1
    return count or os.cpu_count() or 1


def v2_usage(directory: Path, cpus: int) -> Usage:
    usec = _keyed(directory / "cpu.stat", "usage_usec")
    quota, _, period = (_read(directory / "cpu.max") or "max").partition(" ")
    memory_max = _read(directory / "memory.max")
    return Usage(
        cpu_seconds=usec / 1e6 if usec is not None else None,
        cpu_cores=int(quota) / int(period) if quota != "max" and period else cpus,
        memory_bytes=_int(directory / "memory.current"),
        memory_limit_bytes=int(memory_max) if memory_max not in (None, "", "max") else None,
        oom_kills=_keyed(directory / "memory.events", "oom_kill"),
    )


def v1_usage(root: Path, group: str, cpus: int) -> Usage:
    """A v1 cgroup's figures; GROUP is its path inside each controller's hierarchy."""
    memory, cpu, cpuacct = (root / controller / group.lstrip("/") for controller in CONTROLLERS)
    nanoseconds = _int(cpuacct / "cpuacct.usage")
    quota, period = _int(cpu / "cpu.cfs_quota_us"), _int(cpu / "cpu.cfs_period_us")
    limit = _int(memory / "memory.limit_in_bytes")
    return Usage(
        cpu_seconds=nanoseconds / 1e9 if nanoseconds is not None else None,
        cpu_cores=quota / period if quota and quota > 0 and period else cpus,
        memory_bytes=_int(memory / "memory.usage_in_bytes"),
        memory_limit_bytes=limit if limit is not None and limit < V1_UNLIMITED else None,
        oom_kills=_keyed(memory / "memory.oom_control", "oom_kill"),
    )


@dataclass(frozen=True)
class Cgroups:
    """The cgroup hierarchy as this program sees it, mounted at ROOT."""

    root: Path = Path("/sys/fs/cgroup")
    cpus: int = 0

    @property
    def unified(self) -> bool:
        return (self.root / "cgroup.controllers").is_file()

    def _hierarchy(self) -> Path:
        return self.root if self.unified else self.root / "memory"

    def per_unit(self) -> bool:
        """Whether systemd gives units cgroups of their own here: in a cgroup v1 container whose
        hierarchies are mounted read-only it cannot, and every unit shares the host's."""
        return (self._hierarchy() / "system.slice").is_dir()

    def usage(self, group: str) -> Usage:
        cpus = self.cpus or online_cpus()
        if self.unified:
            return v2_usage(self.root / group.lstrip("/"), cpus)
        return v1_usage(self.root, group, cpus)

    def for_unit(self, state: UnitState) -> tuple[str, Usage] | None:
        """The scope ("unit" or "host") and figures that stand for a unit, or None when there
        are none: a unit systemd does not know, or one not running where units have cgroups."""
        if not state.loaded:
            return None
        if not self.per_unit():
            return "host", self.usage("/")
        group = state.control_group.lstrip("/")
        if group and (self._hierarchy() / group).is_dir():
            return "unit", self.usage(group)
        return None


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{name}="{escape(value)}"' for name, value in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(states: dict[str, UnitState], usages: dict[str, tuple[str, Usage] | None]) -> str:
    """The textfile: every metric's HELP and TYPE, then its samples, one per unit."""
    samples: dict[str, list[str]] = {name: [] for name in HELP}

    def add(name: str, value: float | None, **labels: str) -> None:
        if value is not None:
            samples[name].append(f"{name}{_labels(**labels)} {_number(value)}")

    for unit, state in states.items():
        add("voicenote_unit_restarts_total", state.restarts, unit=unit)
        add("voicenote_unit_active", int(state.active), unit=unit)
        if state.result:
            add("voicenote_unit_result", 1, unit=unit, result=state.result)
        found = usages.get(unit)
        if found is None:
            continue
        scope, usage = found
        add("voicenote_unit_cpu_seconds_total", usage.cpu_seconds, unit=unit, scope=scope)
        add("voicenote_unit_cpu_cores", usage.cpu_cores, unit=unit, scope=scope)
        add("voicenote_unit_memory_bytes", usage.memory_bytes, unit=unit, scope=scope)
        add("voicenote_unit_memory_limit_bytes", usage.memory_limit_bytes, unit=unit, scope=scope)
        add("voicenote_unit_oom_kills_total", usage.oom_kills, unit=unit, scope=scope)
    lines = []
    for name, (kind, text) in HELP.items():
        if samples[name]:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *samples[name]]
    return "\n".join(lines) + "\n"


def collect(units: list[str], cgroups: Cgroups, run: Callable = subprocess.run) -> str:
    states = systemd_states(units, run)
    return render(states, {unit: cgroups.for_unit(state) for unit, state in states.items()})


def write_atomically(path: Path, text: str) -> None:
    """Replace PATH with TEXT (mode 0644) by a rename in its folder: readers see the old file
    or the new one, never part of one. The temporary name does not end in .prom, so the
    collector skips it."""
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicenote-unit-metrics", description=__doc__)
    parser.add_argument("units", nargs="+", metavar="UNIT")
    parser.add_argument("--textfile-dir", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--once", action="store_true", help="write the file once and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A stop between writing and renaming must still remove the temporary file.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    output, cgroups = args.textfile_dir / OUTPUT_NAME, Cgroups()
    while True:
        try:
            write_atomically(output, collect(args.units, cgroups))
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            # The old file stays; its age (node_textfile_mtime_seconds) shows it is stale.
            print(f"voicenote-unit-metrics: not updated: {error}", file=sys.stderr, flush=True)
            if args.once:
                return 1
        if args.once:
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
