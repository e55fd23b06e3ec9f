"""The load command's pure parts: its bounds, its summary, and where it may send traffic."""

import pytest

from voicenote_ops.errors import InvalidInput
from voicenote_ops.load.generator import LoadPlan, LoadRun, Sample, Target
from voicenote_ops.load.report import summarize
from voicenote_ops.load.target import lab_target

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "options",
    [{"rate": 0}, {"rate": 10_000}, {"requests": 0}, {"duration": 100_000},
     {"long_seconds": 30, "duration": 10}],
)  # fmt: skip
def test_a_load_is_bounded_in_rate_count_and_time(options):
    plan = {"rate": 10, "requests": 100, "duration": 60, **options}
    with pytest.raises(InvalidInput):
        LoadPlan(**plan)


def test_the_summary_counts_errors_versions_and_long_requests():
    samples = [
        Sample("health", 0.1, 0.01, 200, version="1.0.0"),
        Sample("health", 5.0, 0.01, 200, version="1.1.0"),
        Sample("write", 5.1, 0.02, 502),
        Sample("read", 5.2, 0.0, None, error="ConnectionResetError"),
        Sample("long", 0.0, 20.0, 200),
    ]
    run = LoadRun(Target("127.0.0.1", 8443), LoadPlan(10, 100, 60), samples, 25.0)
    summary = summarize(run)
    assert (summary["requests"], summary["non_2xx"], summary["socket_errors"]) == (5, 1, 1)
    assert summary["versions"] == {"1.0.0": 1, "1.1.0": 1}
    assert summary["last_version"] == "1.1.0"
    assert summary["long"]["completed"] == 1
    assert summary["ok"] is False


@pytest.mark.parametrize("environment", ["prod", "staging", "dev"])
def test_load_goes_only_to_a_lab(environment):
    with pytest.raises(InvalidInput, match="not a lab"):
        lab_target(environment)
