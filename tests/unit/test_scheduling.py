"""How the test command's workers share the tests: units, longest first, one unit ahead."""

from types import SimpleNamespace

import pytest

from tests.scheduling import LongestFirst, longest_first, unit_of

pytestmark = pytest.mark.unit

SCENARIOS = "tests/molecule/test_scenarios.py"


def test_a_file_is_one_unit_but_each_molecule_scenario_is_its_own():
    deploy = "tests/integration/test_deploy.py"
    assert unit_of(f"{deploy}::test_a[x]") == deploy
    assert unit_of("tests/unit/test_lock.py::Class::test_b") == "tests/unit/test_lock.py"
    assert unit_of(f"{SCENARIOS}::test_scenario[base]") == f"{SCENARIOS}::test_scenario[base]"


def test_units_go_longest_first_each_in_its_own_order():
    nodeids = [
        "tests/unit/test_a.py::test_1", "tests/unit/test_a.py::test_2",
        "tests/integration/test_b.py::test_1", "tests/integration/test_b.py::test_2",
        f"{SCENARIOS}::test_scenario[base]", f"{SCENARIOS}::test_scenario[deploy]",
    ]  # fmt: skip
    known = {
        "tests/integration/test_b.py": 300, f"{SCENARIOS}::test_scenario[deploy]": 400,
        f"{SCENARIOS}::test_scenario[base]": 100, "tests/unit/test_a.py": 2,
    }  # fmt: skip
    assert longest_first(nodeids, known) == [
        f"{SCENARIOS}::test_scenario[deploy]",
        "tests/integration/test_b.py::test_1", "tests/integration/test_b.py::test_2",
        f"{SCENARIOS}::test_scenario[base]",
        "tests/unit/test_a.py::test_1", "tests/unit/test_a.py::test_2",
    ]  # fmt: skip


def test_a_new_lab_file_starts_before_known_short_ones_and_a_new_unit_file_after():
    nodeids = ["tests/unit/test_new.py::test_1", "tests/unit/test_old.py::test_1",
               "tests/integration/test_new.py::test_1"]  # fmt: skip
    known = {"tests/unit/test_old.py": 5}
    assert longest_first(nodeids, known) == [
        "tests/integration/test_new.py::test_1", "tests/unit/test_old.py::test_1",
        "tests/unit/test_new.py::test_1",
    ]  # fmt: skip


class Worker:
    """What the scheduler sees of an xdist worker: the test indexes it was sent."""

    def __init__(self, name: str):
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[list[int]] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.append(indexes)

    def shutdown(self) -> None:
        self.shutting_down = True


def scheduler(collection: list[str], workers: list[Worker]) -> LongestFirst:
    config = SimpleNamespace(getvalue=lambda name: [f"{len(workers)}*popen"],
                             option=SimpleNamespace(loadscopereorder=False))  # fmt: skip
    scheduling = LongestFirst(config)
    for worker in workers:
        scheduling.add_node(worker)
        scheduling.add_node_collection(worker, collection)
    return scheduling


def test_a_worker_gets_its_next_unit_only_at_its_last_test_and_units_go_in_order():
    collection = [
        "tests/integration/test_long.py::test_1", "tests/integration/test_long.py::test_2",
        "tests/integration/test_long.py::test_3",
        f"{SCENARIOS}::test_scenario[a]", f"{SCENARIOS}::test_scenario[b]",
        "tests/unit/test_short.py::test_1",
    ]  # fmt: skip
    first, second = Worker("gw0"), Worker("gw1")
    scheduling = scheduler(collection, [first, second])
    scheduling.schedule()
    # The long file to one worker, scenario a to the other; scenario a alone cannot run until
    # its worker knows what follows, so that worker also gets scenario b.
    assert first.sent == [[0, 1, 2]]
    assert second.sent == [[3], [4]]
    scheduling.mark_test_complete(first, 0)
    assert first.sent == [[0, 1, 2]], "handed out with two tests still to run"
    scheduling.mark_test_complete(first, 1)
    assert first.sent == [[0, 1, 2], [5]]
    scheduling.mark_test_complete(second, 3)
    assert second.shutting_down, "no unit left: the worker ends after its last test"


def test_only_two_workers_take_the_files_of_the_shared_deploy_lab():
    lab = "tests/integration/deploy_lab"
    collection = [
        f"{lab}/test_a.py::test_1", f"{lab}/test_b.py::test_1", f"{lab}/test_c.py::test_1",
        "tests/integration/test_other.py::test_1", "tests/unit/test_short.py::test_1",
    ]  # fmt: skip
    workers = [Worker("gw0"), Worker("gw1"), Worker("gw2")]
    scheduling = scheduler(collection, workers)
    scheduling.schedule()
    # gw0 and gw1 make the deploy lab; gw2 skips test_c, queued first, for what it may take.
    assert [worker.sent[0] for worker in workers] == [[0], [1], [3]]
    # Each needs one more unit to run its first test: test_c goes to gw0, the maker of a lab.
    assert workers[0].sent[1:] == [[2]] and workers[1].sent[1:] == [[4]]
    assert workers[2].sent[1:] == [] and workers[2].shutting_down
