"""Reader uploads (巡更棒): CSV and JSON, rejected lines named by number, replays counted once,
overlapping uploads not counted twice, unknown tags kept."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anfang.patrol import choices as c
from anfang.patrol.models import Checkin, ReaderUpload
from anfang.patrol.readers import ingest_upload, parse

from .factories import local, site

pytestmark = pytest.mark.django_db

RECEIVED = local(2026, 11, 25, 23, 0)


class FakeReader:
    pk = 7
    serial = "RD-7"
    name = "巡更棒7"


def test_csv_with_header_comments_clock_and_bad_lines():
    body = "\n".join(
        [
            "tag,time,reader",
            "# exported by PatrolTool 2.1",
            "A-1,2026-11-25 22:01:00,RD-7",
            "A-2,,RD-7",
            ",2026-11-25 22:03:00",
            "A-3,25/11/2026 22:04,RD-7",
            "A-4,2026-11-25T22:05:00+08:00,RD-9",
            "A-4,1764079500",
            "clock,2026-11-25 22:59:00",
            "",
        ]
    )
    parsed = parse(body, "text/csv", FakeReader())
    assert [(r.line, r.tag) for r in parsed.reads] == [(3, "A-1"), (8, "A-4")]
    assert [(e["line"], e["field"]) for e in parsed.errors] == [(4, "time"), (5, "tag"), (6, "time"), (7, "reader")]
    assert parsed.reader_clock == local(2026, 11, 25, 22, 59)
    assert parsed.reads[0].device_time == local(2026, 11, 25, 22, 1)


def test_json_object_and_bare_list():
    body = json.dumps(
        {
            "reader": "RD-7",
            "clock": "2026-11-25T22:59:00+08:00",
            "reads": [
                {"tag": "A-1", "time": "2026-11-25 22:01:00"},
                {"tag": "A-2"},
                "x",
                {"tag": "A-3", "time": 1764079500},
            ],
        }
    )
    parsed = parse(body, "application/json", FakeReader())
    assert [(r.line, r.tag) for r in parsed.reads] == [(1, "A-1"), (4, "A-3")]
    assert [(e["line"], e["field"]) for e in parsed.errors] == [(2, "time"), (3, "reads.3")]
    bare = parse(json.dumps([{"code": "A-1", "timestamp": "2026-11-25 22:01:00"}]), "", FakeReader())
    assert len(bare.reads) == 1 and not bare.errors


def test_malformed_json_names_the_line():
    parsed = parse('{"reads": [\n{"tag": "A-1",\n"time": }\n]}', "application/json", FakeReader())
    assert parsed.reads == [] and parsed.errors[0]["line"] == 3 and parsed.errors[0]["field"] == "body"
    wrong_reader = parse(json.dumps({"reader": "RD-9", "reads": []}), "application/json", FakeReader())
    assert wrong_reader.errors[0]["field"] == "reader"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_parses_to_reads_or_named_errors(text):
    """Whatever arrives, nothing raises and every non-blank, non-comment line is a read, an error
    or the clock line."""
    parsed = parse(text, "text/csv", FakeReader())
    lines = {r.line for r in parsed.reads} | {e["line"] for e in parsed.errors}
    assert all(isinstance(e["message"], str) and e["message"] for e in parsed.errors)
    assert all(line >= 1 for line in lines)
    parse(text, "application/json", FakeReader())


def _upload(s, reads, **kwargs):
    reader = kwargs.pop("reader", None) or s.reader()
    body = "\n".join(f"{code},{t.strftime('%Y-%m-%d %H:%M:%S')}" for code, t in reads)
    return reader, ingest_upload(reader, body, received_at=kwargs.pop("received_at", RECEIVED), **kwargs)


def test_upload_replayed_twice_is_counted_once():
    s = site()
    run = s.run(local(2026, 11, 25, 22, 0))
    reads = [(cp.code, local(2026, 11, 25, 22, 1 + 6 * i)) for i, cp in enumerate(s.checkpoints)]
    reader, first = _upload(s, reads)
    assert not first.replayed and first.upload.accepted_count == 4
    for _ in range(2):
        _r, again = _upload(s, reads, reader=reader, received_at=RECEIVED + dt.timedelta(minutes=5))
        assert again.replayed and again.upload.pk == first.upload.pk
    assert ReaderUpload.objects.count() == 1 and Checkin.objects.count() == 4
    run.refresh_from_db()
    assert run.completed_count == 4


def test_overlapping_upload_stores_only_the_new_reads():
    s = site()
    run = s.run(local(2026, 11, 25, 22, 0))
    reads = [(cp.code, local(2026, 11, 25, 22, 1 + 6 * i)) for i, cp in enumerate(s.checkpoints)]
    reader, _first = _upload(s, reads[:2])
    _r, second = _upload(s, reads, reader=reader)  # the reader sends its whole memory again
    assert (second.upload.accepted_count, second.upload.duplicate_count) == (2, 2)
    assert Checkin.objects.count() == 4
    run.refresh_from_db()
    assert (run.completed_count, run.repeat_reads) == (4, 0)


def test_unknown_tags_and_reads_outside_any_patrol_are_kept_and_counted_in_the_upload():
    s = site()
    s.run(local(2026, 11, 25, 22, 0))
    reads = [("ZZ-404", local(2026, 11, 25, 22, 3)), (s.checkpoints[0].code, local(2026, 11, 25, 15, 0))]
    _reader, result = _upload(s, reads)
    assert (result.upload.accepted_count, result.upload.unknown_count) == (2, 1)
    unknown = Checkin.objects.get(code="ZZ-404")
    outside = Checkin.objects.get(code=s.checkpoints[0].code)
    assert c.CheckinFlag.UNKNOWN_TAG in unknown.flags
    assert outside.flags == [c.CheckinFlag.NO_RUNNING_PATROL] and outside.run_id is None


def test_future_and_too_old_reads_are_rejected_by_line():
    s = site()
    reads = [
        (s.checkpoints[0].code, RECEIVED + dt.timedelta(hours=2)),
        (s.checkpoints[1].code, RECEIVED - dt.timedelta(days=40)),
    ]
    _reader, result = _upload(s, reads)
    assert [(e["line"], e["field"]) for e in result.upload.errors] == [(1, "time"), (2, "time")]
    assert result.upload.rejected_count == 2 and Checkin.objects.count() == 0
    assert result.upload.raw.startswith(s.checkpoints[0].code)  # kept for audit and replay


def test_reader_of_a_team_serves_every_compound_of_the_team():
    """Art 6: a community patrol team covers several compounds with one reader."""
    from tests import factories as f

    from .factories import team

    a = site(compound=f.CompoundFactory(community=None), prefix="A")
    b = site(compound=f.CompoundFactory(), guard=a.guard, prefix="B")
    team(f.OrganisationFactory(kind="community", name="青年社区"), [a.compound, b.compound], [a.guard])
    run_b = b.run(local(2026, 11, 25, 22, 0))
    reader = a.reader()
    _r, result = _upload(a, [(b.checkpoints[0].code, local(2026, 11, 25, 22, 5))], reader=reader)
    read = Checkin.objects.get(upload_id=result.upload.pk)
    assert read.run_id == run_b.pk and read.compound_id == b.compound.pk and read.eligible
