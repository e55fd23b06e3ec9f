"""The post-switch watch's judgement, from nginx log lines it reads like the module on a host."""

import importlib.util
import os
from datetime import UTC, datetime

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location(
    "voicenote_watch", PROJECT / "roles" / "watch" / "library" / "voicenote_watch.py"
)
watch_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(watch_module)

SWITCHED = 1_800_000_000.0
NEW, OLD = 8002, 8001


def line(status=200, port=NEW, seconds="0.010", path="/health", at=SWITCHED + 1):
    return f"{at:.3f}|{status}|127.0.0.1:{port}|{seconds}|green|1.2.0|GET {path}\n"


def params(log, **changes):
    return {
        "access_log": str(log), "port": NEW, "since": SWITCHED, "seconds": 5, "interval": 1,
        "max_5xx_percent": 1.0, "max_p95_ms": 2000, "min_requests": 20,
        "exclude_latency": ["/transcribe"], "ready_url": "", "ready_failures": 3,
        "alerts_url": "", "alerts_host": "", "alert_severities": ["critical"], **changes,
    }  # fmt: skip


class FakeTime:
    """A clock that moves only when the watch sleeps, running `each_second` as time passes."""

    def __init__(self, each_second=lambda second: None):
        self.now, self.each_second = 0.0, each_second

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.each_second(int(self.now))


def test_parse_takes_the_last_upstream_of_a_retry_and_the_path_without_query():
    parsed = watch_module.parse("1.5|502|127.0.0.1:8002, 127.0.0.1:8002|0.001, 0.250|GET /a b\n")
    assert parsed == (1.5, 502, 8002, 0.25, "/a b")


@pytest.mark.parametrize("text", ["", "garbage", "x|200|a|b|GET /", "1.0|abc|a|-|GET /"])
def test_parse_ignores_lines_it_cannot_read(text):
    assert watch_module.parse(text) is None


def test_parse_reads_the_color_and_version_format_with_a_bar_in_the_path():
    parsed = watch_module.parse("1.5|200|127.0.0.1:8002|0.020|green|1.2.0|GET /a|b|c|d\n")
    assert parsed == (1.5, 200, 8002, 0.02, "/a|b|c|d")


def test_a_request_nginx_never_sent_upstream_has_no_port_and_no_time():
    assert watch_module.parse("2.0|499|-|-|GET /notes") == (2.0, 499, None, None, "/notes")


def test_only_the_new_colors_requests_since_the_switch_count(tmp_path):
    log = tmp_path / "access.log"
    old_color = [line(status=500, port=OLD)] * 30
    before_switch = [line(status=500, at=SWITCHED - 5)] * 30
    log.write_text("".join(old_color + before_switch + [line()] * 25))
    result = watch_module.watch(params(log, seconds=0))
    assert (result["breach"], result["requests"], result["errors_5xx"]) == ("", 25, 0)


def test_a_5xx_share_over_the_limit_is_a_breach_at_once(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join([line()] * 18 + [line(status=500)] * 2))
    result = watch_module.watch(params(log, seconds=60))
    assert result["breach"].startswith("2 of 20 requests to the new color got a 5xx (10.0 %")
    assert result["watched_seconds"] == 0


def test_5xx_are_not_judged_before_enough_requests(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(line(status=503) * 5)
    time = FakeTime()
    result = watch_module.watch(params(log, seconds=3), clock=time.clock, sleep=time.sleep)
    assert (result["breach"], result["errors_5xx"], result["watched_seconds"]) == ("", 5, 3)


def test_slow_answers_are_a_breach_but_long_requests_by_design_are_not(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(line(seconds="25.000", path="/notes/4/transcribe") * 30 + line() * 20)
    assert watch_module.watch(params(log, seconds=0))["breach"] == ""
    with log.open("a") as more:
        more.write(line(seconds="3.100") * 30)
    result = watch_module.watch(params(log, seconds=0))
    assert "95th percentile latency is 3100 ms over 50 requests (limit 2000 ms)" in result["breach"]


def test_lines_written_during_the_window_and_after_a_rotation_are_read(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(line() * 10)

    def traffic(second):
        if second == 2:
            os.rename(log, tmp_path / "access.log.1")
            log.write_text(line(status=502) * 15)
        elif second == 3:
            with log.open("a") as more:
                more.write(line()[:10])  # a line nginx is still writing is not read yet

    time = FakeTime(traffic)
    result = watch_module.watch(params(log, seconds=10), clock=time.clock, sleep=time.sleep)
    assert result["breach"].startswith("15 of 25 requests")
    assert result["watched_seconds"] == 2


def test_ready_failing_in_a_row_is_a_breach_and_one_pass_resets_the_count(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("")
    answers = iter([False, False, True, False, False, False, True])
    time = FakeTime()
    result = watch_module.watch(
        params(log, seconds=30, ready_url="http://127.0.0.1:8002/ready"),
        clock=time.clock, sleep=time.sleep, ask_ready=lambda url: next(answers),
    )  # fmt: skip
    assert result["breach"] == "the new color's /ready failed 3 times in a row"
    assert result["watched_seconds"] == 5


def test_a_missing_log_is_no_traffic(tmp_path):
    result = watch_module.watch(params(tmp_path / "absent.log", seconds=0))
    assert (result["breach"], result["requests"]) == ("", 0)


# The alerts that start on the switched host (docs/monitoring.md).


def alert(name="VoicenoteAppOutOfMemory", host="app1", severity="critical", at=SWITCHED + 10):
    started = datetime.fromtimestamp(at, tz=UTC).isoformat().replace("+00:00", "Z")
    labels = {"alertname": name, "host": host, "severity": severity}
    return {"labels": labels, "startsAt": started, "status": {"state": "active"}}


def test_only_critical_alerts_of_this_host_started_since_the_switch_count():
    answer = [
        alert(),
        alert("VoicenoteHostErrorRatioHigh", severity="warning"),
        alert("VoicenoteColorCrashLooping", host="app2"),
        alert("VoicenoteHostDown", at=SWITCHED - 60),
        {**alert("VoicenoteCpuSaturated"), "status": {"state": "suppressed"}},
        {"labels": {"host": "app1", "severity": "critical"}, "startsAt": "not a time"},
    ]
    assert watch_module.new_alerts(answer, "app1", SWITCHED, ["critical"]) == [
        "VoicenoteAppOutOfMemory"
    ]
    assert watch_module.new_alerts(answer, "app1", SWITCHED, ["critical", "warning"]) == [
        "VoicenoteAppOutOfMemory", "VoicenoteHostErrorRatioHigh",
    ]  # fmt: skip


def test_an_alert_that_starts_on_the_host_is_a_breach(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(line() * 30)
    answers = iter([[], [alert(at=SWITCHED + 3)]])
    result = watch_module.watch(
        params(log, alerts_url="http://mon1:9093/api/v2/alerts", alerts_host="app1"),
        clock=FakeTime().clock, sleep=lambda _: None, ask_ready=lambda _: True,
        ask_alerts=lambda _: next(answers),
    )  # fmt: skip
    assert result["breach"] == "VoicenoteAppOutOfMemory started to fire on app1"


def test_no_alerts_url_asks_nothing(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(line() * 30)
    clock = FakeTime()

    def never(_):
        raise AssertionError("asked Alertmanager")

    result = watch_module.watch(
        params(log, alerts_host="app1"),
        clock=clock.clock, sleep=clock.sleep, ask_ready=lambda _: True, ask_alerts=never,
    )  # fmt: skip
    assert result["breach"] == ""


def test_an_alertmanager_that_does_not_answer_is_no_breach():
    assert watch_module.firing("http://127.0.0.1:9/api/v2/alerts") == []
