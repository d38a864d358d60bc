"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


@dataclass(frozen=True)
class Timing:
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    def __str__(self) -> str:
        return f"p50 {self.p50:.1f} ms, p95 {self.p95:.1f} ms over {len(self.samples_ms)}"


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def repeat(fn: Callable[[int], object], n: int, warmup: int) -> Timing:
    """Call fn(i) warmup times untimed, then n times timed; i varies so callers can rotate inputs."""
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(samples)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


@dataclass
class Report:
    """What a benchmark suite prints (as it goes) and hands back: lines, problems, figures, profiles."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


class BenchConfig:
    """A suite's settings (a dataclass subclassing this): its defaults, the smoke values of
    `--quick` (QUICK) and the command line's overrides (None: not given)."""

    QUICK: ClassVar[dict[str, Any]] = {}
    profile: bool

    @classmethod
    def make(cls, quick: bool, profile: bool = False, **overrides: Any) -> Self:
        base = cls(quick=True, **cls.QUICK) if quick else cls()  # type: ignore[call-arg]
        base.profile = profile
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base
