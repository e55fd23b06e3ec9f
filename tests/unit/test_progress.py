"""The live display says where a run stands among its operation's phases (phase k of n)."""

import time

import pytest

from tests.unit.test_phases import OPERATIONS
from voicenote_ops import rules
from voicenote_ops.cli.progress import _line
from voicenote_ops.models.results import Progress

pytestmark = pytest.mark.unit


def _where(step: Progress, phases: tuple[str, ...]) -> str:
    """The line after the elapsed time: its place among the phases, then the phase and task."""
    return _line(time.monotonic(), step, phases).split("s", 1)[1]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_phase_of_an_operation_shows_its_place(operation):
    phases = rules.phases(operation)
    shown = [_where(Progress(f"{name.capitalize()}: a play", "A task"), phases) for name in phases]
    assert shown == [f" {k:2d}/{len(phases)}] {name}: A task" for k, name in enumerate(phases, 1)]


def test_a_line_of_a_phase_starts_with_the_phase_after_the_bracket():
    # What a reader of the progress looks for (the tests that interrupt a deploy in a phase).
    step = Progress("Switch: the colors", "Switch")
    assert "] switch: Switch" in _line(time.monotonic(), step, rules.phases("deploy"))


def test_a_host_result_keeps_the_phase_and_says_the_host():
    phases = rules.phases("deploy")
    step = Progress("Upload: install the release", "Install it", "app1", "changed")
    upload = phases.index("upload") + 1
    assert _where(step, phases) == f" {upload:2d}/{len(phases)}] upload: Install it  app1: changed"


def test_a_play_outside_the_phases_shows_its_first_word_only():
    assert (
        _where(Progress("Status: read", "Read it"), rules.phases("deploy")) == "] status: Read it"
    )
    assert _where(Progress("Upload: x", "T"), ()) == "] upload: T"
    assert _where(Progress("", "Gathering"), ()) == "] Gathering"
