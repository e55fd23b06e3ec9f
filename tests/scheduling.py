"""How scripts/test.sh spreads the tests over its workers (pytest-xdist): longest first.

A unit of work is a test file (its module's labs and servers stay on one worker), except in
the files of SPLIT, whose tests are independent of each other (each molecule scenario makes and
removes a lab of its own) and are units of their own. Units go out longest first, by the seconds
each took in a measured run (tests/durations.json, written by scripts/test_durations.py), so that
no long file starts last while the other workers idle; a worker is given its next unit only when
it has one test left, so no long unit waits queued on a busy worker while another is free.

The files of a folder in SHARED_LABS share a lab each worker makes once for the session (the
deploy lab, tests/integration/deploy_lab/conftest.py; the image lab, image_lab/conftest.py): only
that many workers take them, so the lab is made that many times, not once per worker.
"""

import json
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

DURATIONS = Path(__file__).with_name("durations.json")
# Files whose tests are units of their own.
SPLIT = {"tests/molecule/test_scenarios.py"}
# A unit the table does not know yet (a new file or test): lab tests are assumed long, so a new
# one starts early rather than last; other tests are a fraction of a second each.
UNKNOWN_LAB_TEST_SECONDS = 120.0
UNKNOWN_TEST_SECONDS = 0.2
LAB_FOLDERS = ("tests/integration/", "tests/molecule/")
# Folders whose files share a session-wide lab per worker, and how many workers may make one.
SHARED_LABS = {"tests/integration/deploy_lab/": 2, "tests/integration/image_lab/": 1}


def unit_of(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return nodeid if path in SPLIT else path


def expected_seconds(unit: str, tests: int, known: dict[str, float]) -> float:
    if unit in known:
        return known[unit]
    per_test = UNKNOWN_LAB_TEST_SECONDS if unit.startswith(LAB_FOLDERS) else UNKNOWN_TEST_SECONDS
    return per_test * tests


def longest_first(nodeids: list[str], known: dict[str, float]) -> list[str]:
    """The node ids grouped by unit, the longest unit first (ties: collection order), each unit's
    tests in their collection order."""
    units: dict[str, list[str]] = {}
    for nodeid in nodeids:
        units.setdefault(unit_of(nodeid), []).append(nodeid)
    ordered = sorted(units, key=lambda unit: -expected_seconds(unit, len(units[unit]), known))
    return [nodeid for unit in ordered for nodeid in units[unit]]


def known_durations() -> dict[str, float]:
    return json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every worker orders its collection the same way; the scheduler hands it out in order."""
    position = {nodeid: index for index, nodeid in enumerate(longest_first(
        [item.nodeid for item in items], known_durations()))}  # fmt: skip
    items.sort(key=lambda item: position[item.nodeid])


def shared_lab(unit: str) -> str | None:
    return next((folder for folder in SHARED_LABS if unit.startswith(folder)), None)


class LongestFirst(LoadScopeScheduling):
    """xdist's scope scheduler with this module's units, handed out in collection order, those
    of a shared lab only to the workers that make it."""

    def __init__(self, config, log=None) -> None:
        super().__init__(config, log)
        self.lab_makers: dict[str, set] = {folder: set() for folder in SHARED_LABS}

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _may_take(self, node, unit: str) -> bool:
        folder = shared_lab(unit)
        makers = self.lab_makers.get(folder)
        return makers is None or node in makers or len(makers) < SHARED_LABS[folder]

    def _assign_work_unit(self, node) -> None:
        unit = next((unit for unit in self.workqueue if self._may_take(node, unit)), None)
        if unit is None:
            # What is left is for the workers that made its lab; that only grows stricter.
            node.shutdown()
            return
        if folder := shared_lab(unit):
            self.lab_makers[folder].add(node)
        self.workqueue.move_to_end(unit, last=False)
        super()._assign_work_unit(node)

    def _reschedule(self, node) -> None:
        # xdist's own rule hands out a unit while two tests are still pending; this one waits for
        # the last (a worker runs a test only once it knows the next one, or that none follows).
        if node.shutting_down or not self.workqueue:
            super()._reschedule(node)
        elif self._pending_of(self.assigned_work[node]) <= 1:
            self._assign_work_unit(node)


def pytest_xdist_make_scheduler(config: pytest.Config, log) -> LongestFirst:
    # The collection arrives longest first: keep that order rather than xdist's (most tests first).
    config.option.loadscopereorder = False
    return LongestFirst(config, log)
