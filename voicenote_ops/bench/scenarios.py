"""What `voicenote-ops bench` measures, on labs of its own, through the same services the CLI
runs: provision, deploy, no-op redeploy, rollback (and the switch inside it), and deploys on 1 to
8 app hosts, each under every compared setting in the same run.

Runs of the settings alternate (tuned, stock, tuned, stock, ...) so that a change in the shared
machine's load falls on both. Every lab the benchmark makes is removed at the end, also when it
is interrupted.
"""

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.bench import measure, probe
from voicenote_ops.bench.report import Results
from voicenote_ops.bench.settings import Setting, Variant
from voicenote_ops.bundle import build_bundle
from voicenote_ops.bundle.signature import lab_signing_key
from voicenote_ops.environments import Environment, resolve
from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.lab import hosts as lab_hosts
from voicenote_ops.lab import service as lab_service
from voicenote_ops.lab.topology import Topology
from voicenote_ops.load.target import lab_target
from voicenote_ops.models.results import RunResult
from voicenote_ops.paths import PROJECT_ENV, project_dir
from voicenote_ops.runner import ANSIBLE_CONFIG_ENV, run_playbook
from voicenote_ops.services import deploy as deploy_service
from voicenote_ops.services import provision as provision_service
from voicenote_ops.services import rollback as rollback_service

SCENARIOS = ("provision", "deploy", "noop", "rollback", "scaling")
# Scenarios whose every run needs fresh hosts or grown labs: --slow-runs applies to them.
SLOW = frozenset({"provision", "scaling"})
SCALING_HOSTS = (1, 2, 4, 8)
# Labs are PREFIX-prod (provision, deploy, noop, rollback) and PREFIX-scale (scaling).
LAB_PREFIX = "bench"
APP_DIR = Path("examples") / "voicenote-api"
LAB_UP_ATTEMPTS = 3
# Releases the benchmark builds: 1.0.0 first, then a new 1.0.N for every deploy it measures.
RELEASE_LINE = "1.0"


@dataclass(frozen=True)
class Plan:
    scenarios: tuple[str, ...]
    runs: int
    slow_runs: int
    scaling_hosts: tuple[int, ...] = SCALING_HOSTS

    def runs_of(self, scenario: str) -> int:
        return self.slow_runs if scenario in SLOW else self.runs


def plan(
    only: list[str] | None,
    runs: int,
    slow_runs: int | None,
    scaling_hosts: list[int] | None = None,
) -> Plan:
    """The validated request; a bad name or count is refused before any lab is touched."""
    wrong = [n for n in scaling_hosts or [] if n not in SCALING_HOSTS]
    if wrong:
        raise InvalidInput(
            f"--app-hosts {wrong[0]} is not one the benchmark measures.",
            f"Pick from: {', '.join(map(str, SCALING_HOSTS))}.",
        )
    unknown = [name for name in only or [] if name not in SCENARIOS]
    if unknown:
        raise InvalidInput(
            f"--only {unknown[0]!r} is not a benchmark.", f"Pick from: {', '.join(SCENARIOS)}."
        )
    for option, value in (("--runs", runs), ("--slow-runs", slow_runs)):
        if value is not None and not 1 <= value <= 20:
            raise InvalidInput(f"{option} must be from 1 to 20, not {value}.", "Pick a count.")
    chosen = tuple(name for name in SCENARIOS if not only or name in only)
    hosts = tuple(sorted(set(scaling_hosts))) if scaling_hosts else SCALING_HOSTS
    return Plan(chosen, runs, slow_runs if slow_runs is not None else runs, hosts)


def _quiet(_step: object) -> None:
    """Progress of the measured runs is not shown: the benchmark prints its own."""


class Releases:
    """Bundles of the example app, built on demand (outside any measurement), one new version
    for every deploy measured: a deploy of a version the hosts already have is not a deploy.
    Signed with the lab's test-only key, the one the benchmark's labs trust."""

    def __init__(self, out_dir: Path) -> None:
        self._out = out_dir
        self._next = 0

    def fresh(self) -> tuple[str, Path]:
        version = f"{RELEASE_LINE}.{self._next}"
        self._next += 1
        key = lab_signing_key(project_dir())
        return version, build_bundle(project_dir() / APP_DIR, version, self._out, signing_key=key)


def _checked(what: str, result: RunResult) -> dict:
    if not result.succeeded:
        failed = {h: o.message for h, o in result.hosts.items() if o.failed or o.unreachable}
        raise NeedsAttention(f"{what} failed ({result.status}): {failed}.", "See the lab.")
    return result.to_json()


def _run_as(
    setting: Setting, environment: Environment, operation: Callable[[], RunResult], gather: bool
) -> dict:
    """In the measured child: the setting's ansible.cfg and project, its fact gathering, the
    operation."""
    if setting.config is not None:
        os.environ[ANSIBLE_CONFIG_ENV] = str(setting.config)
    if setting.project is not None:
        os.environ[PROJECT_ENV] = str(setting.project)
    if gather and setting.gather_playbook is not None:
        gathering = environment.playbook_run(str(setting.gather_playbook))
        _checked("gathering facts", run_playbook(gathering, _quiet))
    return _checked(setting.variant.value, operation())


class Bench:
    def __init__(
        self,
        settings: list[Setting],
        results: Results,
        releases: Releases,
        say: Callable[[str], None],
        lab_prefix: str = LAB_PREFIX,
        on_measured: Callable[[], None] = lambda: None,
    ) -> None:
        # Called after every measurement: the figures so far are written as they come.
        self.on_measured = on_measured
        self.prod_lab = f"{lab_prefix}-prod"
        self.scaling_lab = f"{lab_prefix}-scale"
        self.settings = settings
        # Provisioning and scaling compare the tuned settings with the baseline only (mitogen,
        # when measured, on the prod lab's operations: the slow benchmarks would double).
        self.pair = [s for s in settings if s.variant in (Variant.TUNED, Variant.STOCK)]
        self.results = results
        self.releases = releases
        self.say = say
        self.live: dict[str, str] = {}
        self.made_labs: set[str] = set()
        # The prod lab was just provisioned by the provision benchmark.
        self.provisioned = False

    # Labs and unmeasured steps.

    def lab(self, name: str, app_hosts: int, fresh: bool = False) -> None:
        if fresh:
            lab_hosts.down(name)
        self.made_labs.add(name)
        for attempt in range(LAB_UP_ATTEMPTS):
            try:
                lab_service.up(name, Topology.PROD, app_hosts)
                return
            except NeedsAttention as error:
                # On a machine this busy a new host's sshd can take longer than lab up waits;
                # lab up again keeps the hosts and waits again.
                if attempt == LAB_UP_ATTEMPTS - 1:
                    raise
                self.say(f"{name}: {error.message} Trying again.")

    def remove_labs(self) -> None:
        for name in sorted(self.made_labs):
            lab_hosts.down(name)
        self.made_labs.clear()

    def provision(self, lab: str) -> None:
        env = resolve(lab)
        _checked("provision", provision_service.provision(
            provision_service.prepare(env, False), _quiet))  # fmt: skip

    def deploy(self, lab: str, version: str, artifact: Path, batch_size: int = 1) -> RunResult:
        request = deploy_service.prepare(lab, version, artifact, batch_size=batch_size)
        return deploy_service.deploy(request, _quiet)

    def rollback(self, lab: str, stop_previous: bool) -> RunResult:
        request = rollback_service.prepare(lab, None, stop_previous=stop_previous)
        return rollback_service.rollback(request, _quiet)

    # Measuring.

    def measured(
        self,
        row: str,
        setting: Setting,
        lab: str,
        operation: Callable[[], RunResult],
        before_start: Callable[[], None] = lambda: None,
        gather: bool = True,
    ) -> measure.Usage:
        """One measured operation; `gather`: the stock baseline gathers every fact first (not
        for provisioning, whose plays gather facts themselves)."""
        environment = resolve(lab)
        usage = measure.measure(
            lambda: _run_as(setting, environment, operation, gather),
            measure.host_counters(lab),
            before_start,
        )
        if not usage.succeeded:
            raise NeedsAttention(
                f"{row} with {setting.variant} settings failed: {usage.outcome['error']}",
                f"Look at lab {lab} (voicenote-ops status {lab}).",
            )
        self.results.add_usage(row, setting.variant, usage)
        self.on_measured()
        self.say(
            f"{row} [{setting.variant}]: {usage.wall:.1f} s, controller CPU "
            f"{usage.controller_cpu:.1f} s, hosts' CPU {sum(usage.hosts_cpu.values()):.1f} s, "
            f"peak {usage.controller_peak_mb:.0f} MB"
        )
        return usage

    def measured_rollback(self, row: str, setting: Setting, stop_previous: bool) -> None:
        target_version = self.live["previous"]
        watcher = probe.Probe(lab_target(self.prod_lab))
        lab = self.prod_lab
        with self._watching(watcher) as start:
            usage = self.measured(
                row, setting, lab, lambda: self.rollback(lab, stop_previous), start
            )
        served = probe.served_at(watcher.answers, target_version, usage.started)
        switch = probe.switch_seconds(watcher.answers)
        failed = probe.failed_requests(watcher.answers)
        if served is not None:
            self.results.add(row, setting.variant, "served", served)
        if switch is not None and not stop_previous:
            self.results.add("switch", setting.variant, "wall", switch)
        self.results.add(row, setting.variant, "failed_requests", failed)
        self.on_measured()
        self.say(
            f"{row} [{setting.variant}]: {target_version} served through the load balancer "
            f"after {served if served is None else round(served, 1)} s; switch "
            f"{switch if switch is None else round(switch, 2)} s; {failed} failed requests"
        )
        self.live["previous"], self.live["current"] = self.live["current"], target_version

    @contextmanager
    def _watching(self, watcher: probe.Probe) -> Iterator[Callable[[], None]]:
        """The probe starts right before the operation is let go, and stops after it."""
        started = []

        def start() -> None:
            watcher.__enter__()
            started.append(True)
            time.sleep(0.5)  # a few answers of the old release first

        try:
            yield start
        finally:
            if started:
                watcher.__exit__(None, None, None)

    # Scenarios.

    def run_provision(self, runs: int) -> None:
        for run in range(runs):
            for setting in self.pair:
                self.say(f"provision run {run + 1}/{runs} [{setting.variant}]: fresh hosts")
                self.lab(self.prod_lab, 2, fresh=True)
                self.measured("provision", setting, self.prod_lab,
                              self._provision_run, gather=False)  # fmt: skip
        self.live.clear()
        self.provisioned = True

    def _provision_run(self) -> RunResult:
        request = provision_service.prepare(resolve(self.prod_lab), False)
        return provision_service.provision(request, _quiet)

    def prepare_prod(self) -> None:
        """A provisioned prod lab serving a release (not measured)."""
        if self.live:
            return
        if not self.provisioned:
            self.lab(self.prod_lab, 2)
            self.say(f"{self.prod_lab}: provision (not measured)")
            self.provision(self.prod_lab)
        self.say(f"{self.prod_lab}: first deploy (not measured)")
        version, artifact = self.releases.fresh()
        _checked("first deploy", self.deploy(self.prod_lab, version, artifact))
        self.live.update(current=version, previous="", artifact=str(artifact))

    def run_prod(self, scenarios: tuple[str, ...], runs: int) -> None:
        """deploy, noop and rollback on the prod lab, each run under every setting."""
        self.prepare_prod()
        for run in range(runs):
            for setting in self.settings:
                self.say(f"run {run + 1}/{runs} [{setting.variant}]")
                self._prod_round(scenarios, setting)

    def _prod_round(self, scenarios: tuple[str, ...], setting: Setting) -> None:
        if "deploy" in scenarios or not self.live["previous"]:
            version, artifact = self.releases.fresh()
            operation = lambda: self.deploy(self.prod_lab, version, artifact)  # noqa: E731
            if "deploy" in scenarios:
                self.measured("deploy", setting, self.prod_lab, operation)
            else:
                _checked("deploy", operation())
            self.live.update(previous=self.live["current"], current=version,
                             artifact=str(artifact))  # fmt: skip
        if "noop" in scenarios:
            current, artifact = self.live["current"], Path(self.live["artifact"])
            self.measured("noop", setting, self.prod_lab,
                          lambda: self.deploy(self.prod_lab, current, artifact))  # fmt: skip
        if "rollback" in scenarios:
            self.measured_rollback("rollback", setting, stop_previous=False)
            self._redeploy_rolled_back()
            self.measured_rollback("rollback-stop", setting, stop_previous=True)
            self._redeploy_rolled_back()

    def _redeploy_rolled_back(self) -> None:
        """Serve again the release a rollback went back from (not measured): the next rollback
        goes back the same way."""
        version, artifact = self.live["previous"], Path(self.live["artifact"])
        _checked("redeploy", self.deploy(self.prod_lab, version, artifact))
        self.live["previous"], self.live["current"] = self.live["current"], version

    def run_scaling(self, runs: int, scaling_hosts: tuple[int, ...] = SCALING_HOSTS) -> None:
        """A deploy of a new release on 1, 2, 4 and 8 app hosts; half the hosts at a time."""
        base: tuple[str, Path] | None = None
        lab = self.scaling_lab
        for hosts in scaling_hosts:
            self.say(f"{self.scaling_lab}: {hosts} app host(s), provision (not measured)")
            self.lab(self.scaling_lab, hosts)
            self.provision(self.scaling_lab)
            base = base or self.releases.fresh()
            _checked("base deploy", self.deploy(self.scaling_lab, *base, batch_size=hosts))
            for _ in range(runs):
                for setting in self.pair:
                    version, artifact = self.releases.fresh()
                    self.measured(f"scaling-{hosts}", setting, lab,
                                  lambda v=version, a=artifact, n=hosts: self.deploy(
                                      lab, v, a, batch_size=math.ceil(n / 2)))  # fmt: skip
                    base = (version, artifact)


def run(plan: Plan, bench: Bench) -> None:
    """Every chosen scenario; the labs are removed at the end whatever happens."""
    try:
        if "provision" in plan.scenarios:
            bench.run_provision(plan.runs_of("provision"))
        prod = tuple(name for name in plan.scenarios if name in ("deploy", "noop", "rollback"))
        if prod:
            bench.run_prod(prod, plan.runs)
        if bench.prod_lab in bench.made_labs:
            lab_hosts.down(bench.prod_lab)
            bench.made_labs.discard(bench.prod_lab)
        if "scaling" in plan.scenarios:
            bench.run_scaling(plan.runs_of("scaling"), plan.scaling_hosts)
    finally:
        bench.remove_labs()
