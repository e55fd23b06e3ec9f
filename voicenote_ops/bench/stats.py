"""Figures of a benchmark: samples of one quantity, summarized as median, min and max."""

import statistics
from dataclasses import dataclass, field


@dataclass
class Figure:
    """Samples of one quantity (seconds, megabytes) under one set of settings."""

    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.samples.append(value)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def low(self) -> float | None:
        return min(self.samples) if self.samples else None

    @property
    def high(self) -> float | None:
        return max(self.samples) if self.samples else None

    def to_json(self) -> dict:
        return {"median": self.median, "min": self.low, "max": self.high, "samples": self.samples}


def ratio(baseline: Figure, measured: Figure) -> float | None:
    """How many times faster (or smaller) the measured median is than the baseline's."""
    if baseline.median is None or not measured.median:
        return None
    return baseline.median / measured.median


def spread(figure: Figure, digits: int = 1) -> str:
    """`median (min-max)`, or `-` for no sample; a single sample is shown alone."""
    if figure.median is None:
        return "-"
    if len(figure.samples) == 1:
        return f"{figure.median:.{digits}f}"
    return f"{figure.median:.{digits}f} ({figure.low:.{digits}f}-{figure.high:.{digits}f})"
