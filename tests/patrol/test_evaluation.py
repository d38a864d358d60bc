"""Evaluation rules (Art 10: the process of a patrol is controlled) — pure functions, examples and
hypothesis properties."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from anfang.patrol.choices import Punctuality, RunStatus
from anfang.patrol.evaluation import Read, RunSpec, Stop, evaluate_many, evaluate_run

MIN = 60
START = 1_764_000_000.0  # an instant; the rules never look at the wall clock


def spec(n: int = 4, leg: int = 5, window: int = 60, ordered: bool = True, **kw) -> RunSpec:
    stops = tuple(Stop(i + 1, 0 if i == 0 else leg * MIN) for i in range(n))
    return RunSpec(start=START, end=START + window * MIN, stops=stops, ordered=ordered, **kw)


def at(minutes: float) -> float:
    return START + minutes * MIN


def test_a_clean_round_scores_100():
    r = evaluate_run(spec(), [Read(i + 1, at(1 + 6 * i)) for i in range(4)], closed=True)
    assert (r.status, r.completed, r.missed, r.punctuality, r.score) == (
        RunStatus.COMPLETED,
        4,
        [],
        Punctuality.ON_TIME,
        100,
    )


def test_nothing_read_is_not_started_then_missed():
    assert evaluate_run(spec(), [], closed=False).status == RunStatus.NOT_STARTED
    r = evaluate_run(spec(), [], closed=True)
    assert (r.status, r.missed, r.score) == (RunStatus.MISSED, [1, 2, 3, 4], 0)


def test_missed_checkpoint_makes_the_run_incomplete():
    r = evaluate_run(spec(), [Read(1, at(1)), Read(2, at(7)), Read(4, at(20))], closed=True)
    assert (r.status, r.completed, r.missed, r.score) == (RunStatus.INCOMPLETE, 3, [3], 75)
    assert r.out_of_order == 0 and r.too_fast_legs == []  # 2 → 4 took 13 min, expected 10


def test_early_and_late():
    early = evaluate_run(spec(), [Read(i + 1, at(-10 + 6 * i)) for i in range(4)], closed=True)
    assert (early.punctuality, early.early_minutes, early.score) == (Punctuality.EARLY, 10, 90)
    late = evaluate_run(spec(window=15), [Read(i + 1, at(1 + 6 * i)) for i in range(4)], closed=True)
    assert (late.punctuality, late.late_minutes) == (Punctuality.LATE, 4)


def test_out_of_order_on_an_ordered_route_only():
    reads = [Read(1, at(1)), Read(3, at(12)), Read(2, at(20)), Read(4, at(30))]
    assert evaluate_run(spec(), reads, closed=True).out_of_order == 1
    assert evaluate_run(spec(ordered=False), reads, closed=True).out_of_order == 0


def test_too_fast_leg_is_under_half_the_expected_time():
    reads = [Read(1, at(1)), Read(2, at(2)), Read(3, at(10)), Read(4, at(16))]
    r = evaluate_run(spec(leg=5), reads, closed=True)
    assert r.too_fast_legs == [{"from": 1, "to": 2, "seconds": 60, "expected_seconds": 300}]
    assert r.score == 95


def test_duration_bounds():
    reads = [Read(i + 1, at(1 + i)) for i in range(4)]
    r = evaluate_run(spec(leg=0, min_seconds=10 * MIN, max_seconds=30 * MIN), reads, closed=True)
    assert r.duration_too_short and not r.duration_too_long
    slow = [Read(i + 1, at(1 + 15 * i)) for i in range(4)]
    r = evaluate_run(spec(leg=0, window=90, min_seconds=10 * MIN, max_seconds=30 * MIN), slow, closed=True)
    assert r.duration_too_long and not r.duration_too_short


def test_repeats_and_foreign_reads_are_counted_apart():
    reads = [Read(1, at(1)), Read(1, at(1.5)), Read(99, at(3)), Read(None, at(4)), Read(2, at(7))]
    r = evaluate_run(spec(), reads, closed=False)
    assert (r.completed, r.repeat_reads, r.foreign_reads, r.status) == (2, 1, 2, RunStatus.RUNNING)


def test_evaluate_many_groups_by_run():
    specs = {10: spec(), 11: spec(n=2)}
    rows = [(10, 1, at(1)), (11, 1, at(1)), (11, 2, at(7)), (12, 1, at(1))]
    out = evaluate_many(specs, rows, {10: True, 11: True})
    assert (out[10].status, out[11].status) == (RunStatus.INCOMPLETE, RunStatus.COMPLETED)


# --- properties --------------------------------------------------------------------------------

reads_st = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(1, 8)), st.floats(-40, 120, allow_nan=False)), max_size=30
)


def make(raw) -> list[Read]:
    return [Read(cp, at(m)) for cp, m in raw]


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 6), raw=reads_st, ordered=st.booleans(), closed=st.booleans())
def test_counts_add_up_and_score_is_bounded(n, raw, ordered, closed):
    r = evaluate_run(spec(n=n, ordered=ordered), make(raw), closed=closed)
    assert r.completed + len(r.missed) == r.expected == n
    assert 0 <= r.score <= 100
    assert r.completed + r.repeat_reads + r.foreign_reads == len(raw)
    if not ordered:
        assert r.out_of_order == 0 and r.too_fast_legs == []
    if closed:
        assert r.status in (RunStatus.COMPLETED, RunStatus.INCOMPLETE, RunStatus.MISSED)
        assert (r.status == RunStatus.COMPLETED) == (not r.missed)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 6), raw=reads_st, seed=st.integers(0, 2**16))
def test_order_of_arrival_does_not_matter(n, raw, seed):
    reads = make(raw)
    shuffled = reads[:]
    random.Random(seed).shuffle(shuffled)
    assert evaluate_run(spec(n=n), reads, closed=True) == evaluate_run(spec(n=n), shuffled, closed=True)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 6), raw=reads_st, extra=st.integers(1, 5))
def test_repeating_a_read_later_changes_only_the_repeat_count(n, raw, extra):
    reads = make(raw)
    base = evaluate_run(spec(n=n), reads, closed=True)
    counted = [r for r in reads if r.checkpoint_id is not None and r.checkpoint_id <= n]
    if not counted:
        return
    last = max(r.at for r in reads)
    repeated = reads + [Read(counted[0].checkpoint_id, last + i) for i in range(1, extra + 1)]
    again = evaluate_run(spec(n=n), repeated, closed=True)
    assert dataclasses.replace(again, repeat_reads=base.repeat_reads) == base
    assert again.repeat_reads == base.repeat_reads + extra


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 6), raw=reads_st, foreign=st.lists(st.floats(-40, 120, allow_nan=False), max_size=5))
def test_other_routes_tags_never_count(n, raw, foreign):
    reads = make(raw)
    base = evaluate_run(spec(n=n), reads, closed=True)
    more = evaluate_run(spec(n=n), reads + [Read(1000, at(m)) for m in foreign], closed=True)
    assert dataclasses.replace(more, foreign_reads=base.foreign_reads) == base


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 6), raw=reads_st, shift=st.integers(-(10**6), 10**6))
def test_only_relative_times_matter(n, raw, shift):
    """A window crossing midnight is judged like any other: the rules see instants, not days."""
    base = evaluate_run(spec(n=n), make(raw), closed=True)
    moved_spec = dataclasses.replace(spec(n=n), start=START + shift, end=START + 60 * MIN + shift)
    moved = evaluate_run(moved_spec, [Read(r.checkpoint_id, r.at + shift) for r in make(raw)], closed=True)
    assert dataclasses.replace(moved, started_at=base.started_at, finished_at=base.finished_at) == base
