"""A fixed-rate load of the VoiceNote API over persistent HTTP/1.1 connections (TLS).

Open loop: request i is due at start + i/rate whatever happened to the requests before it, so a
stalled backend shows up as latency and lag, never as a quietly lower rate. No request is ever
retried: a request whose connection fails is counted as a socket error, and the next request of
that connection opens a new one.
"""

import functools
import http.client
import itertools
import json
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from voicenote_ops.errors import InvalidInput

# Bounds of one run: a load is a measurement, never an open-ended flood.
MAX_RATE = 500
MAX_REQUESTS = 200_000
MAX_DURATION = 600
MAX_LONG = 32
MAX_CONNECTIONS = 64
# The app refuses longer transcriptions (voicenote_api.notes.MAX_TRANSCRIBE_SECONDS).
MAX_LONG_SECONDS = 30

# The scheduled requests: the cheapest answer, DB-backed reads and DB-backed writes.
MIX = (("health", 60), ("read", 25), ("write", 15))
LONG = "long"

# Short requests time out like the load balancer (60 s); long ones get their length on top.
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class LoadPlan:
    rate: float
    requests: int
    duration: float
    long_requests: int = 4
    long_seconds: float = 20.0
    connections: int = 16
    seed: int = 1

    def __post_init__(self) -> None:
        bounds = (
            ("--rate", self.rate, 1, MAX_RATE),
            ("--requests", self.requests, 1, MAX_REQUESTS),
            ("--duration", self.duration, 1, MAX_DURATION),
            ("--long", self.long_requests, 0, MAX_LONG),
            ("--long-seconds", self.long_seconds, 1, MAX_LONG_SECONDS),
            ("--connections", self.connections, 1, MAX_CONNECTIONS),
        )
        for option, value, low, high in bounds:
            if not low <= value <= high:
                raise InvalidInput(
                    f"{option} must be from {low} to {high}, not {value:g}.", "Pick a value within."
                )
        if self.long_requests and self.long_seconds > self.duration:
            raise InvalidInput(
                f"--long-seconds ({self.long_seconds:g}) is longer than --duration "
                f"({self.duration:g}).",
                "Shorten the long requests or lengthen the run.",
            )


@dataclass(frozen=True)
class Target:
    """The lab load balancer's HTTPS port on 127.0.0.1 (a self-signed certificate)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def connect(self, timeout: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, timeout=timeout, context=lab_tls_context()
        )


@functools.cache
def lab_tls_context() -> ssl.SSLContext:
    """One client context for every connection: labs sign their own certificate and only a
    lab's 127.0.0.1 port is ever a target, so it verifies nothing and loads no trust store
    (loading the system's took 74 ms of CPU a connection, on every reconnect after a failure)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: when it was sent (seconds since the run began), how it ended."""

    kind: str
    sent: float
    latency: float
    status: int | None
    error: str | None = None
    version: str | None = None
    # How late it was sent after it was due (the client's own backlog).
    lag: float = 0.0


@dataclass(frozen=True)
class LoadRun:
    target: Target
    plan: LoadPlan
    samples: list[Sample]
    elapsed: float


@dataclass(frozen=True)
class Progress:
    elapsed: float
    requests: int
    failures: int


class _Budget:
    """The run's bounds, shared by every thread: no request starts past either."""

    def __init__(self, plan: LoadPlan, started: float) -> None:
        self._left = plan.requests
        self._lock = threading.Lock()
        self.deadline = started + plan.duration

    def take(self, finishes_by: float | None = None) -> bool:
        """One more request, if the count allows it and it starts (or ends) before the deadline."""
        if (finishes_by or time.monotonic()) > self.deadline:
            return False
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


class _Connection:
    """One persistent connection: sends a request, records it, never retries it."""

    def __init__(self, target: Target, started: float, samples: list[Sample], timeout: float):
        self._target, self._started, self._samples = target, started, samples
        self._timeout = timeout
        self._conn: http.client.HTTPSConnection | None = None

    def send(
        self, kind: str, method: str, path: str, body: dict | None = None, due: float | None = None
    ) -> dict | None:
        """Record the request; return its JSON answer when it was 2xx."""
        if self._conn is None:
            self._conn = self._target.connect(self._timeout)
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        sent = time.monotonic()
        try:
            self._conn.request(method, path, body=payload, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            self._record(kind, sent, due, None, error=type(error).__name__)
            return None
        answer = json_object(data) if 200 <= response.status < 300 else None
        version = answer.get("version") if kind == "health" and answer else None
        self._record(kind, sent, due, response.status, version=version)
        return answer

    def _record(self, kind: str, sent: float, due: float | None, status: int | None, **extra):
        self._samples.append(
            Sample(
                kind,
                sent - self._started,
                time.monotonic() - sent,
                status,
                lag=max(0.0, sent - due) if due is not None else 0.0,
                **extra,
            )
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def json_object(data: bytes) -> dict | None:
    """The JSON object of an answer's body, or None when it is not one."""
    try:
        answer = json.loads(data)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


class _Notes:
    """Ids of the notes this run created: what the reads read."""

    def __init__(self) -> None:
        self._ids: list[int] = []

    def add(self, answer: dict | None) -> int | None:
        note_id = answer.get("id") if answer else None
        if isinstance(note_id, int):
            self._ids.append(note_id)
            return note_id
        return None

    def pick(self, rng: random.Random) -> int | None:
        return rng.choice(self._ids) if self._ids else None


def _write(conn: _Connection, notes: _Notes, number: int, due: float | None = None) -> int | None:
    body = {"title": f"load note {number}", "duration_seconds": 1.5}
    return notes.add(conn.send("write", "POST", "/notes", body, due))


def run(
    target: Target,
    plan: LoadPlan,
    stop: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every: float = 10.0,
) -> LoadRun:
    """Send the plan's load to the target; return every request's record.

    `connections` threads share the scheduled requests; `long_requests` more threads keep one
    long transcription each in flight from the start, back to back, as long as one still ends
    within the duration. Setting `stop` ends the run early (in-flight requests finish).
    """
    stop = stop or threading.Event()
    samples: list[Sample] = []
    notes = _Notes()
    numbers = itertools.count()
    jobs: queue.Queue[tuple[str, float] | None] = queue.Queue()
    scheduling_done = threading.Event()
    started = time.monotonic()
    budget = _Budget(plan, started)

    def scheduled(worker: int) -> None:
        rng = random.Random(plan.seed * 1000 + worker)  # noqa: S311 # nosec B311 - no secret
        conn = _Connection(target, started, samples, REQUEST_TIMEOUT)
        while (job := jobs.get()) is not None:
            kind, due = job
            note_id = notes.pick(rng) if kind == "read" else None
            if kind == "health":
                conn.send("health", "GET", "/health", due=due)
            elif note_id is not None:
                conn.send("read", "GET", f"/notes/{note_id}", due=due)
            else:  # a write, or a read before any note exists
                _write(conn, notes, next(numbers), due)
        conn.close()

    def long_lane() -> None:
        conn = _Connection(target, started, samples, REQUEST_TIMEOUT + plan.long_seconds)
        note_id = _write(conn, notes, next(numbers)) if budget.take() else None
        path = f"/notes/{note_id}/transcribe?seconds={plan.long_seconds:g}"
        while (
            note_id is not None
            and not scheduling_done.is_set()
            and budget.take(finishes_by=time.monotonic() + plan.long_seconds)
        ):
            conn.send(LONG, "POST", path)
        conn.close()

    threads = [
        *(threading.Thread(target=scheduled, args=(n,), daemon=True)
          for n in range(plan.connections)),
        *(threading.Thread(target=long_lane, daemon=True) for _ in range(plan.long_requests)),
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    kinds = random.Random(plan.seed)  # noqa: S311 # nosec B311 - a reproducible mix
    names, weights = zip(*MIX, strict=True)
    next_progress = started + progress_every
    try:
        for number in itertools.count():
            due = started + number / plan.rate
            if stop.wait(max(0.0, due - time.monotonic())) or not budget.take(finishes_by=due):
                break
            jobs.put((kinds.choices(names, weights)[0], due))
            if on_progress and due >= next_progress:
                next_progress += progress_every
                on_progress(_progress(samples, due - started))
    finally:
        scheduling_done.set()
        for _ in range(plan.connections):
            jobs.put(None)
        for thread in threads:
            thread.join()
    return LoadRun(target, plan, samples, time.monotonic() - started)


def _progress(samples: list[Sample], elapsed: float) -> Progress:
    done = list(samples)
    failures = sum(1 for s in done if s.status is None or not 200 <= s.status < 300)
    return Progress(elapsed, len(done), failures)
