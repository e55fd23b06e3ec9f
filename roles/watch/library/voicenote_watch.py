#!/usr/bin/python
"""Watch a freshly switched color for a while: its 5xx rate and latency as this host's nginx
logged them, its own /ready, and, where the environment has monitoring, the alerts that start to
fire on this host. Returns at the first breach, or when the window ends.

nginx writes one line per request (the role nginx's `voicenote_watch` format):
    $msec|$status|$upstream_addr|$upstream_response_time|$request_method $uri
Only requests nginx sent to the watched color's port since the switch count; requests the
previous color finishes after the switch are that color's, not the new one's."""

import json
import math
import os
import time
import urllib.error
import urllib.request
from datetime import datetime

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_watch
short_description: Watch a switched color's 5xx rate, latency and /ready for a time window
options:
  access_log:
    description: The app site's access log, in the voicenote_watch format.
    type: path
    required: true
  port:
    description: The watched color's local port (the upstream address nginx logs).
    type: int
    required: true
  since:
    description: Epoch seconds of the switch; earlier lines are not counted.
    type: float
    required: true
  seconds:
    description: How long to watch from now.
    type: int
    required: true
  interval:
    description: Seconds between two looks.
    type: float
    default: 1
  max_5xx_percent:
    description: Breach when more than this share of the color's requests are 5xx.
    type: float
    default: 1.0
  max_p95_ms:
    description: Breach when the 95th percentile of upstream response times is above this.
    type: int
    default: 2000
  min_requests:
    description: Requests needed before the 5xx share and the latency are judged.
    type: int
    default: 20
  exclude_latency:
    description: Paths ending with one of these are left out of the latency (long by design).
    type: list
    elements: str
    default: [/transcribe]
  ready_url:
    description: The color's own /ready; empty does not ask it.
    type: str
    default: ""
  ready_failures:
    description: Breach after this many /ready failures in a row.
    type: int
    default: 3
  alerts_url:
    description: Alertmanager's list of alerts that fire (GET /api/v2/alerts); empty asks none.
    type: str
    default: ""
  alerts_host:
    description: The host label of this host's alerts.
    type: str
    default: ""
  alert_severities:
    description: Breach when an alert of one of these severities starts on this host after since.
    type: list
    elements: str
    default: [critical]
"""

RETURN = r"""
breach:
  description: Why the color is judged bad, in one sentence; empty when it held.
  type: str
requests:
  description: Requests nginx sent to the color in the window (since the switch).
  type: int
errors_5xx:
  description: How many of them nginx answered with a 5xx.
  type: int
p95_ms:
  description: The 95th percentile of upstream response times, latency-excluded paths left out.
  type: int
ready_failures:
  description: /ready failures in a row at the end.
  type: int
watched_seconds:
  description: How long the watch lasted.
  type: float
"""

# Bytes read back from the end of the log at the start: the switch was seconds ago.
_TAIL = 4 * 1024 * 1024


def parse(line: str):
    """(msec, status, upstream port or None, upstream seconds or None, path) or None. Reads the
    lines nginx writes since the format named the live color and version (seven fields, the
    request last) and those from before (five)."""
    fields = line.rstrip("\n").split("|", 6)
    if len(fields) == 7 and " " in fields[6]:
        msec, status, upstreams, times, _color, _version, request = fields
    else:
        fields = line.rstrip("\n").split("|", 4)
        if len(fields) != 5:
            return None
        msec, status, upstreams, times, request = fields
    try:
        stamp, code = float(msec), int(status)
    except ValueError:
        return None
    # After a retry nginx lists every address tried and every time: the last one answered.
    port = upstreams.split(",")[-1].strip().rpartition(":")[2]
    last_time = times.split(",")[-1].strip()
    seconds = float(last_time) if last_time.replace(".", "", 1).isdigit() else None
    path = request.partition(" ")[2]
    return stamp, code, int(port) if port.isdigit() else None, seconds, path


class Window:
    """What the color did since the switch, judged against the limits."""

    def __init__(self, port, since, max_5xx_percent, max_p95_ms, min_requests, exclude_latency):
        self.port, self.since = port, since
        self.max_5xx_percent, self.max_p95_ms = max_5xx_percent, max_p95_ms
        self.min_requests, self.exclude_latency = min_requests, tuple(exclude_latency)
        self.requests = self.errors = 0
        self.latencies: list[float] = []

    def add(self, line: str) -> None:
        entry = parse(line)
        if entry is None:
            return
        stamp, status, port, seconds, path = entry
        if stamp < self.since or port != self.port:
            return
        self.requests += 1
        self.errors += status >= 500
        if seconds is not None and not path.endswith(self.exclude_latency):
            self.latencies.append(seconds)

    def p95_ms(self) -> int:
        if not self.latencies:
            return 0
        ordered = sorted(self.latencies)
        return round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000)

    def breach(self) -> str:
        if self.requests < self.min_requests:
            return ""
        share = 100.0 * self.errors / self.requests
        if share > self.max_5xx_percent:
            return (
                f"{self.errors} of {self.requests} requests to the new color got a 5xx "
                f"({share:.1f} %, limit {self.max_5xx_percent:g} %)"
            )
        if len(self.latencies) >= self.min_requests and self.p95_ms() > self.max_p95_ms:
            return (
                f"the new color's 95th percentile latency is {self.p95_ms()} ms over "
                f"{len(self.latencies)} requests (limit {self.max_p95_ms} ms)"
            )
        return ""


class Follower:
    """Reads the lines appended to a log since the last look; survives rotation."""

    def __init__(self, path: str):
        self.path, self.handle, self.inode, self.partial = path, None, None, ""

    def _open(self, from_end_minus: int | None = None) -> None:
        """Open the log at its start, or that many bytes before its end."""
        if self.handle:
            self.handle.close()
        self.handle = open(self.path, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.inode = os.fstat(self.handle.fileno()).st_ino
        if from_end_minus is not None:
            size = os.fstat(self.handle.fileno()).st_size
            self.handle.seek(max(0, size - from_end_minus))
            if size > from_end_minus:
                self.handle.readline()  # the first line read back may be cut
        self.partial = ""

    def lines(self) -> list[str]:
        try:
            if self.handle is None:
                self._open(_TAIL)
            elif os.stat(self.path).st_ino != self.inode:
                rest = self._read_rest()  # what was written before the rotation
                self._open()
                return rest + self._read_rest()
        except FileNotFoundError:
            return []
        return self._read_rest()

    def _read_rest(self) -> list[str]:
        text = self.partial + self.handle.read()
        complete, _, self.partial = text.rpartition("\n")
        return complete.split("\n") if complete else []


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - the color's port
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def new_alerts(answer: list, host: str, since: float, severities: list[str]) -> list[str]:
    """The names of the alerts in Alertmanager's answer that fire on `host` with one of the
    severities and started at `since` or later: those the switch may have caused."""
    names = []
    for alert in answer:
        labels = alert.get("labels") or {}
        if labels.get("host") != host or labels.get("severity") not in severities:
            continue
        if (alert.get("status") or {}).get("state", "active") != "active":
            continue
        try:
            started = datetime.fromisoformat(alert.get("startsAt", "")).timestamp()
        except ValueError:
            continue
        if started >= since:
            names.append(labels.get("alertname", "an alert"))
    return sorted(set(names))


def firing(url: str) -> list:
    """Alertmanager's alerts; none when it does not answer (the other checks still hold)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - private address
            answer = json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return []
    return answer if isinstance(answer, list) else []


def watch(
    params, clock=time.monotonic, sleep=time.sleep, ask_ready=ready, ask_alerts=firing
) -> dict:
    window = Window(
        params["port"], params["since"], params["max_5xx_percent"], params["max_p95_ms"],
        params["min_requests"], params["exclude_latency"],
    )  # fmt: skip
    follower = Follower(params["access_log"])
    started = clock()
    failures, breach = 0, ""
    while True:
        for line in follower.lines():
            window.add(line)
        breach = window.breach()
        if not breach and params["ready_url"]:
            failures = 0 if ask_ready(params["ready_url"]) else failures + 1
            if failures >= params["ready_failures"]:
                breach = f"the new color's /ready failed {failures} times in a row"
        if not breach and params["alerts_url"]:
            started_alerts = new_alerts(
                ask_alerts(params["alerts_url"]), params["alerts_host"], params["since"],
                params["alert_severities"],
            )  # fmt: skip
            if started_alerts:
                breach = f"{', '.join(started_alerts)} started to fire on {params['alerts_host']}"
        if breach or clock() - started >= params["seconds"]:
            break
        sleep(params["interval"])
    return {
        "breach": breach,
        "requests": window.requests,
        "errors_5xx": window.errors,
        "p95_ms": window.p95_ms(),
        "ready_failures": failures,
        "watched_seconds": round(clock() - started, 1),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "access_log": {"type": "path", "required": True},
            "port": {"type": "int", "required": True},
            "since": {"type": "float", "required": True},
            "seconds": {"type": "int", "required": True},
            "interval": {"type": "float", "default": 1},
            "max_5xx_percent": {"type": "float", "default": 1.0},
            "max_p95_ms": {"type": "int", "default": 2000},
            "min_requests": {"type": "int", "default": 20},
            "exclude_latency": {"type": "list", "elements": "str", "default": ["/transcribe"]},
            "ready_url": {"type": "str", "default": ""},
            "ready_failures": {"type": "int", "default": 3},
            "alerts_url": {"type": "str", "default": ""},
            "alerts_host": {"type": "str", "default": ""},
            "alert_severities": {"type": "list", "elements": "str", "default": ["critical"]},
        },
        supports_check_mode=True,
    )
    if module.check_mode:
        module.exit_json(changed=False, breach="", skipped_reason="check mode watches nothing")
    result = watch(module.params)
    if result["breach"]:
        module.fail_json(msg=f"{result['breach']} within {result['watched_seconds']} s.", **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
