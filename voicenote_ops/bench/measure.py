"""Measuring one operation: wall time, the controller's CPU and peak memory, the hosts' CPU.

The operation runs in a forked child of the benchmark, so `wait4` returns the resource usage of
exactly that operation: the CLI's own Python, ansible-playbook and every worker and ssh client
it waited for (persisted ssh control masters detach and are not counted; they only relay bytes).
Peak memory is the largest resident set of any one process of that tree. Each lab host is a
container, and its cgroup's CPU counter is read before and after the operation.
"""

import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voicenote_ops.lab import hosts, podman, service

CGROUP_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
CPUACCT_ROOT = Path("/sys/fs/cgroup/cpuacct")


@dataclass
class Usage:
    """What one operation cost."""

    wall: float
    controller_cpu: float
    controller_peak_mb: float
    hosts_cpu: dict[str, float] = field(default_factory=dict)
    # What the operation returned (its run's JSON), or its error as one line.
    outcome: dict = field(default_factory=dict)
    # When the operation was let go, on this process's monotonic clock.
    started: float = 0.0

    @property
    def succeeded(self) -> bool:
        return not self.outcome.get("error")


def cgroup_cpu_file(pid: int, proc: Path = Path("/proc")) -> Path | None:
    """The CPU counter of the container whose init process is `pid` (cgroup v2, else v1)."""
    lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    for line in lines:
        number, _, path = line.split(":", 2)
        if number == "0":
            # The container's own cgroup: systemd inside it put init into init.scope.
            relative = path.removesuffix("/init.scope").lstrip("/")
            for root in CGROUP_ROOTS:
                candidate = root / relative / "cpu.stat"
                if candidate.is_file():
                    return candidate
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            candidate = CPUACCT_ROOT / path.lstrip("/") / "cpuacct.usage"
            if candidate.is_file():
                return candidate
    return None


def read_cpu_seconds(counter: Path) -> float:
    """cpu.stat's usage_usec, or cpuacct.usage's nanoseconds, as seconds."""
    text = counter.read_text()
    if counter.name == "cpuacct.usage":
        return int(text.strip()) / 1e9
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    raise ValueError(f"{counter} has no usage_usec")


def host_counters(lab: str) -> dict[str, Path]:
    """Each running host of the lab and its container's CPU counter."""
    counters = {}
    for host in service.status(lab).hosts:
        if host.state != "running":
            continue
        _, pid = podman.run(
            ["podman", "inspect", "--format", "{{.State.Pid}}",
             hosts.container_name(lab, host.name)]
        )  # fmt: skip
        counter = cgroup_cpu_file(int(pid.strip()))
        if counter is not None:
            counters[host.name] = counter
    return counters


def _read_all(counters: dict[str, Path]) -> dict[str, float]:
    return {host: read_cpu_seconds(path) for host, path in counters.items()}


def measure(
    operation: Callable[[], dict],
    counters: dict[str, Path],
    before_start: Callable[[], None] = lambda: None,
) -> Usage:
    """Run `operation` in a forked child and measure it; `before_start` runs in this process
    right before the child is let go (e.g. to start watching the load balancer)."""
    go_read, go_write = os.pipe()
    out_read, out_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: wait for the go, run, send back the outcome
        os.close(go_write)
        os.close(out_read)
        code = 0
        try:
            os.read(go_read, 1)
            outcome = operation()
        except BaseException as error:  # reported to the parent, never raised here
            code = 1
            outcome = {"error": f"{type(error).__name__}: {error}".splitlines()[0][:500]}
            if not hasattr(error, "render"):
                outcome["traceback"] = traceback.format_exc()[-2000:]
        with os.fdopen(out_write, "w") as out:
            json.dump(outcome, out, default=str)
        os._exit(code)
    os.close(go_read)
    os.close(out_write)
    try:
        before_start()
        cpu_before = _read_all(counters)
        started = time.monotonic()
        os.write(go_write, b"g")
        os.close(go_write)
        with os.fdopen(out_read) as out:
            sent = out.read()
        _, _, rusage = os.wait4(pid, 0)
    except BaseException:
        # Interrupted: end the operation's child too, so no run goes on unwatched.
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        raise
    wall = time.monotonic() - started
    cpu_after = _read_all(counters)
    outcome = json.loads(sent) if sent else {"error": "the operation ended without a word"}
    return Usage(
        wall=wall,
        controller_cpu=rusage.ru_utime + rusage.ru_stime,
        controller_peak_mb=rusage.ru_maxrss / 1024,
        hosts_cpu={host: cpu_after[host] - cpu_before[host] for host in counters},
        outcome=outcome,
        started=started,
    )
