"""The one JSON event schema (MQTT and batch API): validation messages name the field, vendor codes
map or become `unmapped`, device times without a zone are assumed and flagged, the published JSON
Schema file is the model's own."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anfang.events import choices as c
from anfang.events.adapters import jsonevent
from anfang.events.ingest import DEVICE_ZONE, Rejected

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "event.schema.json"


def event(**fields):
    return {"kind": "motion", "occurred_at": "2025-03-01T08:15:00+08:00", **fields}


def errors_of(doc) -> dict[str, str]:
    with pytest.raises(Rejected) as caught:
        jsonevent.validate(doc)
    assert caught.value.reason == c.DeadLetterReason.INVALID
    return dict(part.split(": ", 1) for part in caught.value.detail.split("; "))


class FakeDevice:
    pk = 7
    compound_id = 3


def test_a_full_event_becomes_a_canonical_incoming():
    doc = event(
        external_id="cam-1",
        state="start",
        channel=2,
        severity=3,
        payload={"zone": "北墙"},
        vendor_code="VMD",
    )
    incoming = jsonevent.validate(doc).to_incoming(FakeDevice(), c.Source.MQTT)
    assert (incoming.kind, incoming.vendor_code, incoming.state, incoming.channel) == ("motion", "VMD", "start", 2)
    assert (incoming.device_id, incoming.compound_id, incoming.severity) == (7, 3, 3)
    assert incoming.occurred_at == dt.datetime(2025, 3, 1, 0, 15, tzinfo=dt.UTC)
    assert incoming.payload == {"zone": "北墙"} and incoming.flags == []


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("VMD", "motion"),
        ("linedetection", "line_crossing"),
        ("CrossRegionDetection", "perimeter_intrusion"),
        ("PANIC", "household_panic"),
        ("CHECKPOINT_READ", "patrol_checkin"),
        ("SomethingNew", "unmapped"),
    ],
)
def test_vendor_codes_map_through_the_table_or_become_unmapped(code, kind):
    incoming = jsonevent.validate({"vendor_code": code, "occurred_at": "2025-03-01T08:15:00Z"}).to_incoming(
        FakeDevice(), c.Source.API
    )
    assert (incoming.kind, incoming.vendor_code) == (kind, code)


def test_kind_decides_over_vendor_code_and_one_of_them_is_required():
    assert jsonevent.validate(event(vendor_code="PANIC")).canonical_kind == "motion"
    assert errors_of({"occurred_at": "2025-03-01T08:15:00Z"}) == {
        "kind": "kind 与 vendor_code 至少填写一项 / either kind or vendor_code is required"
    }


def test_time_without_zone_is_read_as_beijing_time_and_flagged():
    incoming = jsonevent.validate(event(occurred_at="2025-03-01T08:15:00")).to_incoming(FakeDevice(), "mqtt")
    assert incoming.occurred_at == dt.datetime(2025, 3, 1, 8, 15, tzinfo=DEVICE_ZONE)
    assert incoming.flags == [c.Flag.ZONE_ASSUMED]


def test_far_future_time_is_accepted_here_and_flagged_later_by_normalise():
    from django.utils import timezone

    from anfang.events.ingest import normalise

    doc = event(occurred_at="2031-01-01T00:00:00+08:00")
    incoming = jsonevent.validate(doc).to_incoming(FakeDevice(), "mqtt")
    assert c.Flag.CLOCK_SKEW in normalise(incoming, timezone.now()).flags


def test_every_bad_field_is_named_with_its_reason():
    problems = errors_of(
        {
            "kind": "motoin",
            "occurred_at": "yesterday",
            "channel": 70000,
            "severity": 9,
            "state": "on",
            "device": "5",
            "colour": "red",
            "payload": {"zone": {"name": "a\x00b"}},
        }
    )
    assert set(problems) == {"kind", "occurred_at", "channel", "severity", "state", "device", "colour", "payload"}
    assert "invalid timestamp 'yesterday'" in problems["occurred_at"]
    assert "65535" in problems["channel"]
    assert problems["colour"] == "Extra inputs are not permitted"
    assert problems["payload"].startswith("zone.name: ")


def test_payload_must_be_storable_json_within_the_size_limit():
    assert "64-bit" in errors_of(event(payload={"n": 2**70}))["payload"]
    assert "limit" in errors_of(event(payload={"blob": "x" * (jsonevent.MAX_PAYLOAD_BYTES + 1)}))["payload"]


def test_nul_in_a_key_never_reaches_a_text_column():
    detail = "; ".join(f"{k}: {v}" for k, v in errors_of(event(**{"bad\x00key": 1})).items())
    assert "\x00" not in detail and "bad\\x00key" in detail


def test_not_an_object_and_not_json():
    assert errors_of([1, 2]) == {"(event)": "事件必须是 JSON 对象 / an event must be a JSON object"}
    with pytest.raises(Rejected) as caught:
        jsonevent.decode(b'{"kind": "motion",')
    assert caught.value.reason == c.DeadLetterReason.MALFORMED
    assert "malformed JSON" in caught.value.detail


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_end_as_a_rejection_never_an_exception(body):
    try:
        jsonevent.validate(jsonevent.decode(body))
    except Rejected as rejected:
        assert rejected.reason in {c.DeadLetterReason.MALFORMED, c.DeadLetterReason.INVALID}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=120, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["external_id", "kind", "vendor_code", "state", "channel", "occurred_at", "severity", "payload", "device"]
        )
        | st.text(max_size=8),
        json_values,
        max_size=8,
    )
)
def test_random_json_objects_either_validate_or_are_rejected_with_field_names(doc):
    try:
        parsed = jsonevent.validate(doc)
    except Rejected as rejected:
        assert rejected.detail and "\x00" not in rejected.detail
    else:
        assert parsed.canonical_kind in c.EventKind.values
        orjson.dumps(parsed.payload)


def test_published_schema_file_is_the_models_own():
    text = jsonevent.schema_text()
    if os.environ.get("ANFANG_WRITE_SCHEMA"):
        SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_FILE.write_text(text, encoding="utf-8")
    assert SCHEMA_FILE.exists(), "run ANFANG_WRITE_SCHEMA=1 pytest tests/events/test_jsonevent.py"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text, (
        "docs/schemas/event.schema.json is stale: ANFANG_WRITE_SCHEMA=1 pytest tests/events/test_jsonevent.py"
    )


def test_schema_lists_every_kind_and_requires_the_time():
    schema = jsonevent.json_schema()
    assert schema["required"] == ["occurred_at"]
    assert schema["additionalProperties"] is False
    kinds = schema["properties"]["kind"]["anyOf"][0]["enum"]
    assert kinds == list(c.EventKind.values)
