"""What a playbook run gives back: its progress as it goes, each host's outcome, the result."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One step of a run as the display shows it."""

    play: str
    task: str
    host: str | None = None
    # ok, changed, failed, unreachable, skipped; notice: said to the operator; None: task started
    status: str | None = None


@dataclass
class HostOutcome:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    failed_task: str | None = None
    message: str | None = None
    # Last result of each task by name (ansible has already censored no_log results).
    results: dict[str, dict] = field(default_factory=dict)


@dataclass
class RunResult:
    status: str
    rc: int
    duration: float
    hosts: dict[str, HostOutcome] = field(default_factory=dict)
    # What the playbook reported with set_stats (e.g. the deploy's outcome).
    reported: dict[str, Any] = field(default_factory=dict)
    # Ctrl-C or SIGTERM received: 1 asked the run to stop at its next phase, 2 stopped it at once.
    interrupts: int = 0

    @property
    def succeeded(self) -> bool:
        return self.rc == 0 and self.status == "successful"

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "rc": self.rc,
            "duration": round(self.duration, 3),
            "hosts": {
                name: {k: v for k, v in vars(host).items() if k != "results"}
                for name, host in self.hosts.items()
            },
            "reported": self.reported,
            "interrupts": self.interrupts,
        }
