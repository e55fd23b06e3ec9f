"""The figures of a load run: requests, failures by kind, versions seen, long requests."""

import statistics
from collections import Counter

from voicenote_ops.load.generator import LONG, MIX, LoadRun, Sample


def _ok(sample: Sample) -> bool:
    return sample.status is not None and 200 <= sample.status < 300


def _latencies_ms(samples: list[Sample]) -> dict:
    latencies = sorted(s.latency * 1000 for s in samples)
    if not latencies:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    p99 = (
        statistics.quantiles(latencies, n=100, method="inclusive")[98]
        if len(latencies) > 1
        else latencies[0]
    )
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(latencies[-1], 1),
    }


def _by_kind(samples: list[Sample]) -> dict:
    return {
        "requests": len(samples),
        "non_2xx": sum(1 for s in samples if s.status is not None and not _ok(s)),
        "socket_errors": sum(1 for s in samples if s.status is None),
        **_latencies_ms(samples),
    }


def summarize(run: LoadRun) -> dict:
    """One JSON-ready document; `ok` is true when every request got a 2xx answer."""
    samples = run.samples
    kinds = [name for name, _ in MIX] + [LONG]
    long = [s for s in samples if s.kind == LONG]
    answered = [s for s in samples if s.version]
    versions = Counter(s.version for s in answered)
    spans = {
        version: [
            round(min(s.sent for s in answered if s.version == version), 1),
            round(max(s.sent for s in answered if s.version == version), 1),
        ]
        for version in versions
    }
    last = max(answered, key=lambda s: s.sent + s.latency).version if answered else None
    non_2xx = sum(1 for s in samples if s.status is not None and not _ok(s))
    socket_errors = sum(1 for s in samples if s.status is None)
    sending = max((s.sent for s in samples), default=0.0)
    return {
        "target": run.target.url,
        "rate": run.plan.rate,
        # Over the time requests were being sent (the last long requests then only finish).
        "achieved_rate": round(len(samples) / sending, 1) if sending else None,
        "duration_s": round(run.elapsed, 1),
        "requests": len(samples),
        "non_2xx": non_2xx,
        "socket_errors": socket_errors,
        "statuses": dict(sorted(Counter(str(s.status) for s in samples if s.status).items())),
        "errors": dict(Counter(s.error for s in samples if s.error)),
        "kinds": {kind: _by_kind([s for s in samples if s.kind == kind]) for kind in kinds},
        "versions": dict(sorted(versions.items())),
        "version_spans_s": dict(sorted(spans.items())),
        "last_version": last,
        "long": {
            "seconds": run.plan.long_seconds,
            "lanes": run.plan.long_requests,
            "started": len(long),
            "completed": sum(1 for s in long if _ok(s)),
        },
        "max_lag_ms": round(max((s.lag for s in samples), default=0.0) * 1000, 1),
        "ok": bool(samples) and non_2xx == 0 and socket_errors == 0,
    }
