"""Watching a lab's load balancer while a rollback runs: which release answers, on which app
host and color, and when the requests that were in flight on the old color finish.

A few threads, bounded in time: one asks /health every `interval` seconds (when the previous
release answers through the load balancer), and `long_lanes` more keep one slow transcription
each in flight, back to back, so a switch has requests to drain (when the last request on the old
color finishes). Only the lab's 127.0.0.1 HTTPS port is ever asked.
"""

import http.client
import json
import threading
import time
from dataclasses import dataclass, field

from voicenote_ops.load.generator import Target, json_object

# The lab load balancer's server name (inventories/lab/group_vars/all/main.yml).
LAB_DOMAIN = "voicenote.lab.test"
# A probe never outlives this, whatever happens to the operation it watches.
MAX_SECONDS = 300.0


@dataclass(frozen=True)
class Answer:
    """One request through the load balancer, times on the monotonic clock."""

    sent: float
    done: float
    kind: str  # health or long
    status: int | None
    version: str | None = None
    host: str | None = None
    color: str | None = None


@dataclass
class Probe:
    target: Target
    interval: float = 0.05
    long_lanes: int = 2
    long_seconds: float = 2.0
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._deadline = time.monotonic() + MAX_SECONDS

    def __enter__(self) -> "Probe":
        note = self._create_note()
        self._threads = [threading.Thread(target=self._health, daemon=True)]
        if note is not None:
            self._threads += [
                threading.Thread(target=self._long, args=(note,), daemon=True)
                for _ in range(self.long_lanes)
            ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.long_seconds + 15)

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _request(
        self, conn: http.client.HTTPSConnection, method: str, path: str, kind: str
    ) -> tuple[Answer, dict | None]:
        sent = time.monotonic()
        try:
            conn.request(method, path, headers={"Host": LAB_DOMAIN, "Accept": "application/json"})
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            answer = Answer(sent, time.monotonic(), kind, None)
            self.answers.append(answer)
            return answer, None
        data = json_object(body) if 200 <= response.status < 300 else None
        answer = Answer(
            sent,
            time.monotonic(),
            kind,
            response.status,
            version=(data or {}).get("version") if kind == "health" else None,
            host=response.getheader("X-Voicenote-App-Host"),
            color=response.getheader("X-Voicenote-Color"),
        )
        self.answers.append(answer)
        return answer, data

    def _create_note(self) -> int | None:
        conn = self.target.connect(timeout=10)
        try:
            body = json.dumps({"title": "bench switch probe", "duration_seconds": 1}).encode()
            conn.request(
                "POST", "/notes", body=body,
                headers={"Host": LAB_DOMAIN, "Content-Type": "application/json"},
            )  # fmt: skip
            response = conn.getresponse()
            data = json_object(response.read())
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()
        note = (data or {}).get("id")
        return note if isinstance(note, int) else None

    def _health(self) -> None:
        conn = self.target.connect(timeout=5)
        while self._running():
            self._request(conn, "GET", "/health", "health")
            self._stop.wait(self.interval)
        conn.close()

    def _long(self, note: int) -> None:
        conn = self.target.connect(timeout=self.long_seconds + 30)
        path = f"/notes/{note}/transcribe?seconds={self.long_seconds:g}"
        while self._running():
            self._request(conn, "POST", path, "long")
        conn.close()


def served_at(answers: list[Answer], version: str, since: float) -> float | None:
    """Seconds from `since` until the load balancer answered /health with `version` and
    never with anything else afterwards; None when it never settled on it."""
    health = sorted((a for a in answers if a.kind == "health" and a.sent >= since),
                    key=lambda a: a.done)  # fmt: skip
    settled = None
    for answer in health:
        if answer.version == version:
            settled = settled if settled is not None else answer.done
        else:
            settled = None
    return None if settled is None else settled - since


def switch_seconds(answers: list[Answer]) -> float | None:
    """The longest switch of any app host: from the first request its new color answered until
    the last request its old color answered finished (0 when nothing was left in flight).

    Per host, the old color is the one that answered the first request sent and the new one the
    one that answered the last request sent. The first request the new color answered was sent
    at most one probe interval after nginx began sending there, so the figure can be short by
    that much, never long."""
    by_host: dict[str, list[Answer]] = {}
    for answer in answers:
        if answer.host and answer.color and answer.status is not None:
            by_host.setdefault(answer.host, []).append(answer)
    longest = None
    for seen in by_host.values():
        seen.sort(key=lambda a: a.sent)
        old, new = seen[0].color, seen[-1].color
        if old == new:
            continue
        first_new = min(a.sent for a in seen if a.color == new)
        last_old = max(a.done for a in seen if a.color == old)
        switch = max(0.0, last_old - first_new)
        longest = switch if longest is None else max(longest, switch)
    return longest


def failed_requests(answers: list[Answer]) -> int:
    """Requests that failed through the load balancer (socket errors and non-2xx)."""
    return sum(1 for a in answers if a.status is None or not 200 <= a.status < 300)
