"""Evaluation of one patrol run (Art 10: the process of a patrol is controlled, not only logged).
Pure functions over plain data — times are POSIX seconds — so that a month of a city's check-ins is
evaluated in one pass in Python and the rules can be property-tested.

Rules, for the reads assigned to a run and eligible (a checkpoint of the run's route, read while
the run could be walked; the recording step decides that and flags the rest):
- a checkpoint counts once, at its first read; further reads of it are `repeat_reads`;
- reads of checkpoints that are not on the route (another route's tag) are `foreign_reads`, not counted;
- completed = distinct route checkpoints read; missed = the others, in route order;
- early: the first read is before the window start; late: the last read is after the window end
  (the window may cross midnight: it is two instants, not times of day);
- out of order (ordered routes): a read of a stop positioned before a stop already read;
- too fast: a leg between consecutive stops read (in route order, ordered routes) that took less
  than TOO_FAST_FRACTION of the expected minutes summed over the stops it spans;
- duration: last − first read against the route's min/max minutes (needs two stops read);
- status: while open `not_started` / `running`; once closed `completed` (nothing missed), `missed`
  (nothing read) or `incomplete`;
- score (0–100): the completed share, minus 10 when out of order, 5 per too-fast leg (at most 20),
  10 when early or late, 10 when too short; 0 when nothing was read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .choices import Punctuality, RunStatus

TOO_FAST_FRACTION = 0.5


class Stop(NamedTuple):
    checkpoint_id: int
    expected_seconds: int = 0  # from the previous stop


@dataclass(frozen=True, slots=True)
class RunSpec:
    start: float
    end: float
    stops: tuple[Stop, ...]
    ordered: bool = True
    min_seconds: int | None = None
    max_seconds: int | None = None


class Read(NamedTuple):
    """A tuple, not a dataclass: a month of a city is a million of them."""

    checkpoint_id: int | None
    at: float


@dataclass(slots=True)
class RunResult:
    status: str
    started_at: float | None = None
    finished_at: float | None = None
    expected: int = 0
    completed: int = 0
    missed: list[int] = field(default_factory=list)
    punctuality: str = Punctuality.NONE
    early_minutes: int = 0
    late_minutes: int = 0
    out_of_order: int = 0
    too_fast_legs: list[dict[str, int]] = field(default_factory=list)
    duration_too_short: bool = False
    duration_too_long: bool = False
    repeat_reads: int = 0
    foreign_reads: int = 0
    score: int = 0


def _minutes(seconds: float) -> int:
    return math.ceil(seconds / 60) if seconds > 0 else 0


def evaluate_run(spec: RunSpec, reads: Iterable[Read], *, closed: bool) -> RunResult:
    position = {stop.checkpoint_id: i for i, stop in enumerate(spec.stops)}
    first: dict[int, float] = {}
    repeats = foreign = 0
    for read in sorted(reads, key=lambda r: (r.at, r.checkpoint_id or 0)):
        cp = read.checkpoint_id
        if cp is None or cp not in position:
            foreign += 1
        elif cp in first:
            repeats += 1
        else:
            first[cp] = read.at
    result = RunResult(
        status=RunStatus.NOT_STARTED,
        expected=len(spec.stops),
        completed=len(first),
        missed=[s.checkpoint_id for s in spec.stops if s.checkpoint_id not in first],
        repeat_reads=repeats,
        foreign_reads=foreign,
    )
    if not first:
        result.status = RunStatus.MISSED if closed else RunStatus.NOT_STARTED
        return result
    visits = sorted(first.items(), key=lambda item: (item[1], position[item[0]]))
    result.started_at, result.finished_at = visits[0][1], visits[-1][1]
    if closed:
        result.status = RunStatus.COMPLETED if not result.missed else RunStatus.INCOMPLETE
    else:
        result.status = RunStatus.RUNNING

    early, late = spec.start - result.started_at, result.finished_at - spec.end
    result.early_minutes, result.late_minutes = _minutes(early), _minutes(late)
    result.punctuality = {
        (False, False): Punctuality.ON_TIME,
        (True, False): Punctuality.EARLY,
        (False, True): Punctuality.LATE,
        (True, True): Punctuality.EARLY_LATE,
    }[(early > 0, late > 0)]

    if spec.ordered:
        highest = -1
        for cp, _at in visits:
            if position[cp] < highest:
                result.out_of_order += 1
            highest = max(highest, position[cp])
        result.too_fast_legs = _too_fast_legs(spec.stops, position, first)

    if len(visits) >= 2:
        took = result.finished_at - result.started_at
        result.duration_too_short = spec.min_seconds is not None and took < spec.min_seconds
        result.duration_too_long = spec.max_seconds is not None and took > spec.max_seconds

    result.score = score(result)
    return result


def _too_fast_legs(stops: Sequence[Stop], position: dict[int, int], first: dict[int, float]) -> list[dict[str, int]]:
    """Legs between consecutive stops read, in route order; a skipped stop's expected minutes add
    to the leg spanning it. Only forward legs (read in route order) can be judged."""
    legs = []
    previous: int | None = None
    for stop in stops:
        cp = stop.checkpoint_id
        if cp not in first:
            continue
        if previous is not None:
            expected = sum(s.expected_seconds for s in stops[position[previous] + 1 : position[cp] + 1])
            took = first[cp] - first[previous]
            if expected > 0 and 0 <= took < TOO_FAST_FRACTION * expected:
                legs.append({"from": previous, "to": cp, "seconds": int(took), "expected_seconds": expected})
        previous = cp
    return legs


def score(result: RunResult) -> int:
    if not result.completed or not result.expected:
        return 0
    value = 100 * result.completed / result.expected
    if result.out_of_order:
        value -= 10
    value -= min(20, 5 * len(result.too_fast_legs))
    if result.punctuality in (Punctuality.EARLY, Punctuality.LATE, Punctuality.EARLY_LATE):
        value -= 10
    if result.duration_too_short:
        value -= 10
    return max(0, min(100, round(value)))


def evaluate_many(
    specs: dict[int, RunSpec], reads: Iterable[tuple[int, int | None, float]], closed: dict[int, bool]
) -> dict[int, RunResult]:
    """Every run at once: `reads` are (run_id, checkpoint_id, at) rows in any order."""
    grouped: dict[int, list[Read]] = {run_id: [] for run_id in specs}
    for run_id, checkpoint_id, at in reads:
        bucket = grouped.get(run_id)
        if bucket is not None:
            bucket.append(Read(checkpoint_id, at))
    return {run_id: evaluate_run(spec, grouped[run_id], closed=closed[run_id]) for run_id, spec in specs.items()}
