"""24-hour coverage (Art 16): gaps across midnight, open sessions, Asia/Shanghai days."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from anfang.duty.coverage import LOCAL, day_bounds, day_coverage, gaps, merge

DAY = dt.date(2026, 11, 24)


def at(hour: float, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL) + dt.timedelta(hours=hour)


LATER = at(48)


def test_a_local_day_is_24_hours_from_local_midnight():
    start, end = day_bounds(DAY)
    assert start.utcoffset() == dt.timedelta(hours=8) and end - start == dt.timedelta(hours=24)
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 11, 23, 16, tzinfo=dt.UTC)


def test_sessions_over_midnight_count_for_both_days():
    sessions = [(at(-4), at(8)), (at(8), at(20)), (at(20), at(32))]
    assert day_coverage(DAY, sessions, LATER).gaps == []
    assert day_coverage(DAY - dt.timedelta(days=1), sessions, LATER).gaps == [(at(-24), at(-4))]


def test_gaps_are_named_with_their_minutes():
    cov = day_coverage(DAY, [(at(0), at(7.5)), (at(8), at(23))], LATER)
    assert cov.gaps == [(at(7.5), at(8)), (at(23), at(24))]
    assert cov.unstaffed_minutes == 90
    assert round(cov.staffed_ratio, 4) == round(1 - 90 / 1440, 4)


def test_an_open_session_runs_until_now_and_today_is_judged_until_now():
    cov = day_coverage(DAY, [(at(1), None)], now=at(10))
    assert cov.gaps == [(at(0), at(1))] and cov.until == at(10)


def test_overlapping_operators_do_not_double_count():
    cov = day_coverage(DAY, [(at(0), at(13)), (at(12), at(24)), (at(5), at(6))], LATER)
    assert cov.gaps == [] and cov.unstaffed_minutes == 0


def test_nobody_at_all_is_one_whole_day_gap():
    cov = day_coverage(DAY, [], LATER)
    assert cov.gaps == [day_bounds(DAY)] and cov.unstaffed_minutes == 1440


hours = st.floats(min_value=-30, max_value=54, allow_nan=False)


@given(st.lists(st.tuples(hours, hours), max_size=8))
def test_staffed_and_gaps_partition_the_day(pairs):
    sessions = [(at(min(a, b)), at(max(a, b))) for a, b in pairs]
    cov = day_coverage(DAY, sessions, LATER)
    window = day_bounds(DAY)
    total = sum((b - a).total_seconds() for a, b in cov.staffed + cov.gaps)
    assert abs(total - 86400) < 1e-6
    for a, b in cov.gaps:  # no gap overlaps a session
        assert all(not (s < b and e > a) for s, e in sessions if e > s)
    assert merge(cov.staffed + cov.gaps) == [window]


@given(st.lists(st.tuples(hours, hours), max_size=8), st.tuples(hours, hours))
def test_adding_a_session_never_adds_a_gap(pairs, extra):
    sessions = [(at(min(a, b)), at(max(a, b))) for a, b in pairs]
    more = [*sessions, (at(min(extra)), at(max(extra)))]
    window = day_bounds(DAY)
    before = sum((b - a).total_seconds() for a, b in gaps(window, sessions))
    after = sum((b - a).total_seconds() for a, b in gaps(window, more))
    assert after <= before
