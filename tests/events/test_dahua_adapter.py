"""Dahua event stream: framing of the multipart stream, the record parser and the mapping table,
on protocol-exact fixtures (tests/events/fixtures/dahua); fuzzing of both parsers."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anfang.devices.choices import Vendor
from anfang.events import choices as c
from anfang.events.adapters import adapter_for
from anfang.events.adapters.base import Payload
from anfang.events.adapters.dahua import (
    ADAPTER,
    CODES,
    StreamParser,
    boundary_from,
    parse_record,
    split_stream,
)
from anfang.events.ingest import Rejected
from anfang.simulator import dahua as fake
from tests import factories as f

FIXTURES = Path(__file__).parent / "fixtures" / "dahua"
K = c.EventKind
S = c.EventState


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def payload(body: bytes) -> Payload:
    return Payload(body=body, content_type="text/plain", received_at=timezone.now(), source=c.Source.DAHUA)


@pytest.fixture
def nvr(db):
    return f.DeviceFactory(vendor=Vendor.DAHUA, serial="6J0000ANFANG01")


def feed_in_pieces(data: bytes, size: int, boundary: str = "myboundary"):
    parser = StreamParser(boundary)
    blocks = []
    for i in range(0, len(data), size):
        blocks += parser.feed(data[i : i + size])
    return blocks + parser.finish()


# --- The fixtures are what the protocol says ------------------------------------------------------

EVENT_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.block") if p.name != "two-records-no-length.block")


@pytest.mark.parametrize("name", EVENT_FIXTURES)
def test_fixtures_follow_the_dahua_framing(name):
    data = fixture(name)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[:2] == [b"--myboundary", b"Content-Type: text/plain"]
    length = int(re.fullmatch(rb"Content-Length: (\d+)", lines[2]).group(1))
    # The declared length covers the record and its CRLF (the heartbeat: its 9 letters), then a blank line.
    assert rest[length:] == b"\r\n\r\n"
    body = rest[:length]
    assert body == b"Heartbeat" or body.endswith(b"\r\n")
    assert body.startswith(b"Code=") or name in ("Heartbeat.block", "malformed-not-a-record.block")


def test_the_api_example_has_the_api_lengths():
    assert b"Content-Length: 39\r\n\r\nCode=VideoMotion;action=Start;index=0\r\n\r\n" in fixture(
        "VideoMotion-start.block"
    )
    assert b"Content-Length: 38\r\n\r\nCode=VideoBlind;action=Start;index=0\r\n\r\n" in fixture(
        "VideoBlind-start.block"
    )
    assert fixture("Heartbeat.block").endswith(b"Content-Length: 9\r\n\r\nHeartbeat\r\n\r\n")


@pytest.mark.parametrize(
    ("name", "code", "action", "index", "data_from"),
    [
        ("VideoMotion-start.block", "VideoMotion", "Start", 0, None),
        ("CrossLineDetection-start.block", "CrossLineDetection", "Start", 0, "CrossLineDetection-start.block"),
        ("TrafficJunction-pulse.block", "TrafficJunction", "Pulse", 0, "TrafficJunction-pulse.block"),
    ],
)
def test_the_simulated_device_sends_the_fixture_bytes(name, code, action, index, data_from):
    data = None
    if data_from:
        [block] = split_stream(fixture(data_from))
        data = parse_record(block.body.decode()).data
    assert fake.event_part(code, action, index, data) == fixture(name)
    assert fixture("Heartbeat.block") == fake.HEARTBEAT_PART


# --- Framing --------------------------------------------------------------------------------------

API_EXAMPLE = fixture("VideoMotion-start.block") + fixture("VideoBlind-start.block") + fixture("Heartbeat.block")


@pytest.mark.parametrize("size", [1, 2, 7, 13, 64, 4096])
def test_blocks_come_out_the_same_however_the_stream_is_cut(size):
    blocks = feed_in_pieces(API_EXAMPLE + fixture("CrossLineDetection-start.block"), size)
    assert [b.problem for b in blocks] == [None] * 4
    assert [b.body.split(b";")[0] for b in blocks] == [
        b"Code=VideoMotion",
        b"Code=VideoBlind",
        b"Heartbeat",
        b"Code=CrossLineDetection",
    ]
    assert blocks[2].is_heartbeat and blocks[3].body.endswith(b"}\r\n")
    assert blocks[0].raw == fixture("VideoMotion-start.block").rstrip(b"\r\n") + b"\r\n"


def test_a_block_is_delivered_as_soon_as_its_content_length_is_in():
    parser = StreamParser()
    data = fixture("CrossLineDetection-start.block")
    cut = data.index(b"\r\n\r\n") + 4 + int(re.search(rb"Content-Length: (\d+)", data).group(1))
    assert parser.feed(data[: cut - 1]) == []
    [block] = parser.feed(data[cut - 1 : cut])  # no boundary after it yet
    assert block.problem is None and b'"UTCMS" : 702' in block.body


def test_framing_quirks_of_real_devices():
    blocks = split_stream(fixture("stream-quirks.bin"))
    kinds = [(b.body.strip(), b.problem.reason if b.problem else None) for b in blocks]
    assert kinds == [
        (b"Heartbeat", None),
        (b"Code=AlarmLocal;action=Stop;index=5", None),  # no blank line, "Content-Length:37"
        (b"", c.DeadLetterReason.MALFORMED),  # stray status line between parts: kept
        (b"Code=VideoLoss;action=Stop;index=1", None),  # Content-Length 20 < body: read to boundary
        (b"Code=VideoMotion;action=Start;index=0", None),
    ]
    assert blocks[2].raw == b"HTTP/1.1 200 OK\r\n\r\n"


def test_content_length_past_the_next_boundary_is_not_trusted():
    data = (
        b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\nCode=VideoMotion;action=Start;index=0\r\n\r\n"
        + fixture("Heartbeat.block")
    )
    blocks = split_stream(data)
    assert [b.body for b in blocks] == [b"Code=VideoMotion;action=Start;index=0", b"Heartbeat"]


def test_bare_lf_and_missing_content_length_and_closing_delimiter():
    data = b"--myboundary\nContent-Type: text/plain\n\nCode=VideoLoss;action=Start;index=2\n\n--myboundary--\n"
    [block] = split_stream(data)
    assert block.body == b"Code=VideoLoss;action=Start;index=2" and block.problem is None


def test_a_stream_ending_inside_a_block_gives_the_torn_block_with_a_problem():
    data = fixture("VideoMotion-start.block") + fixture("CrossLineDetection-start.block")[:200]
    blocks = split_stream(data)
    assert blocks[0].problem is None
    assert blocks[1].problem.reason == c.DeadLetterReason.MALFORMED
    assert blocks[1].raw == fixture("CrossLineDetection-start.block")[:200]


def test_an_oversized_part_is_refused_and_the_stream_goes_on():
    huge = b"--myboundary\r\nContent-Type: text/plain\r\n\r\nCode=X;action=Start;data=" + b"A" * 5000 + b"\r\n"
    parser = StreamParser(max_block=1024)
    blocks = []
    for i in range(0, len(huge), 100):
        blocks += parser.feed(huge[i : i + 100])
    blocks += parser.feed(fixture("VideoMotion-start.block"))
    assert blocks[0].problem.reason == c.DeadLetterReason.TOO_LARGE and len(blocks[0].body) == 1024
    assert "5" in blocks[0].problem.detail  # the true size is told
    assert blocks[1].body.startswith(b"Code=VideoMotion")


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/x-mixed-replace; boundary=myboundary", "myboundary"),
        ('multipart/x-mixed-replace; boundary="other"', "other"),
        ("multipart/x-mixed-replace; boundary=--dashed", "dashed"),
        ("text/plain", "myboundary"),
        (None, "myboundary"),
    ],
)
def test_boundary_from_content_type(header, boundary):
    assert boundary_from(header) == boundary


# --- Records --------------------------------------------------------------------------------------


def test_record_with_semicolons_and_equals_inside_the_json():
    event = parse_record(
        'Code=CrossRegionDetection;action=Start;index=0;data={\n   "Name" : "Drive; Gate=1",\n   "X" : "a=="\n}\r\n'
    )
    assert (event.code, event.action, event.index) == ("CrossRegionDetection", "Start", 0)
    assert event.data == {"Name": "Drive; Gate=1", "X": "a=="}


def test_data_that_is_not_json_keeps_the_event_with_the_raw_text():
    event = parse_record("Code=VideoMotion;action=Start;index=0;data={ not json")
    assert event.data is None and event.data_raw == "{ not json" and "data_error" in event.extra


def test_trailing_bytes_after_the_json_object_are_tolerated():
    assert parse_record('Code=X;action=Pulse;index=0;data={"a":1}\x00garbage').data == {"a": 1}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Code=;action=Start;index=0", c.DeadLetterReason.MALFORMED),
        ("Code=Video Motion;action=Start", c.DeadLetterReason.MALFORMED),
        ("Code=VideoMotion;index=0", c.DeadLetterReason.INVALID),
        ("Code=VideoMotion;action=Start;index=one", c.DeadLetterReason.INVALID),
        ("Code=VideoMotion;action=Start;index=-1", c.DeadLetterReason.INVALID),
        ("Code=VideoMotion action Start", c.DeadLetterReason.MALFORMED),
        ("Event=VideoMotion", c.DeadLetterReason.MALFORMED),
    ],
)
def test_broken_records_are_rejected_with_a_reason(text, reason):
    with pytest.raises(Rejected) as caught:
        parse_record(text)
    assert caught.value.reason == reason


# --- Mapping: every mapped code, from its fixture -------------------------------------------------

MAPPING = [
    # fixture, kind, state, channel (index + 1, None for disks)
    ("VideoMotion-start.block", K.MOTION, S.START, 1),
    ("VideoMotion-stop-data.block", K.MOTION, S.STOP, 1),
    ("VideoLoss-start.block", K.VIDEO_LOSS, S.START, 2),
    ("VideoBlind-start.block", K.TAMPER, S.START, 1),
    ("CrossLineDetection-start.block", K.LINE_CROSSING, S.START, 1),
    ("CrossRegionDetection-cross-enter.block", K.REGION_ENTRANCE, S.START, 2),
    ("CrossRegionDetection-cross-leave.block", K.REGION_EXIT, S.START, 2),
    ("CrossRegionDetection-appear.block", K.PERIMETER_INTRUSION, S.START, 2),
    ("CrossRegionDetection-start.block", K.PERIMETER_INTRUSION, S.START, 1),
    ("AlarmLocal-start.block", K.ALARM_INPUT, S.START, 6),
    ("StorageFailure-start.block", K.STORAGE_FAULT, S.START, None),
    ("StorageNotExist-start.block", K.STORAGE_FAULT, S.START, None),
    ("StorageLowSpace-start.block", K.STORAGE_FAULT, S.START, None),
    ("TrafficJunction-pulse.block", K.ANPR_PASSAGE, S.PULSE, 1),
    ("AccessControl-granted.block", K.ACCESS_GRANTED, S.PULSE, 1),
    ("AccessControl-denied.block", K.ACCESS_DENIED, S.PULSE, 2),
    ("DoorStatus-open.block", K.DOOR_OPEN, S.PULSE, 1),
    ("DoorStatus-close.block", K.DOOR_CLOSED, S.PULSE, 1),
    ("BreakIn-pulse.block", K.DOOR_FORCED, S.PULSE, 1),
    ("DoorNotClosed-start.block", K.DOOR_HELD, S.START, 1),
    ("ChassisIntruded-start.block", K.TAMPER, S.START, 1),
    ("CallNoAnswered-start.block", K.INTERCOM_CALL, S.START, 1),
    ("FaceDetection-start.block", K.UNMAPPED, S.START, 1),
]


def test_every_code_of_the_table_has_a_fixture():
    covered = {name.split("-")[0] for name, *_ in MAPPING}
    assert set(CODES) - covered == {"SmartMotionHuman", "SmartMotionVehicle", "Invite"}  # aliases of covered kinds


@pytest.mark.parametrize(("name", "kind", "state", "channel"), MAPPING)
def test_mapping(nvr, name, kind, state, channel):
    parsed = adapter_for("dahua").parse(payload(fixture(name)), nvr)
    [event] = parsed.events
    assert not parsed.rejects
    assert (event.kind, event.state, event.channel) == (kind, state, channel)
    assert event.vendor_code == name.split("-")[0] and event.source == c.Source.DAHUA
    assert (event.device_id, event.compound_id) == (nvr.pk, nvr.compound_id)


def test_device_time_comes_from_utc_then_localetime_then_receipt(nvr):
    [line] = ADAPTER.parse(payload(fixture("CrossLineDetection-start.block")), nvr).events
    assert line.occurred_at == dt.datetime(2025, 11, 25, 6, 4, 58, 702000, tzinfo=dt.UTC)
    assert line.flags == [] and line.payload["rule"] == "北门越界" and line.payload["object"] == "Human"
    local_only = b'Code=BreakIn;action=Pulse;index=0;data={"LocaleTime" : "2025-11-25 14:06:58"}'
    [forced] = ADAPTER.parse(payload(local_only), nvr).events
    assert forced.occurred_at == dt.datetime(2025, 11, 25, 6, 6, 58, tzinfo=dt.UTC)
    assert forced.flags == [c.Flag.ZONE_ASSUMED]
    received = payload(fixture("VideoMotion-start.block"))
    [motion] = ADAPTER.parse(received, nvr).events
    assert motion.occurred_at == received.received_at and motion.payload["time"] == "received"


def test_payload_keeps_what_the_device_said(nvr):
    [anpr] = ADAPTER.parse(payload(fixture("TrafficJunction-pulse.block")), nvr).events
    assert anpr.payload["plate"] == "辽H12345" and anpr.payload["data"]["TrafficCar"]["VehicleColor"] == "White"
    [card] = ADAPTER.parse(payload(fixture("AccessControl-granted.block")), nvr).events
    assert (card.payload["user_id"], card.payload["card_no"], card.payload["method"]) == ("1011", "8A3F21C4", 1)
    [storage] = ADAPTER.parse(payload(fixture("StorageLowSpace-start.block")), nvr).events
    assert storage.payload["index"] == 1  # disk 1 (0-based), not a channel
    [unknown] = ADAPTER.parse(payload(fixture("FaceDetection-start.block")), nvr).events
    assert unknown.vendor_code == "FaceDetection" and unknown.payload["data"]["Name"] == "FaceDetection"


def test_plate_from_object_text_and_other_actions_kept(nvr):
    text = b'Code=TrafficJunction;action=Pulse;index=0;data={"Object":{"ObjectType":"Plate","Text":"KA01EF0001"}}'
    assert ADAPTER.parse(payload(text), nvr).events[0].payload["plate"] == "KA01EF0001"
    [invite] = ADAPTER.parse(payload(b"Code=Invite;action=Invite;index=0"), nvr).events
    assert (invite.kind, invite.state, invite.payload["action"]) == (K.INTERCOM_CALL, S.PULSE, "Invite")


def test_access_record_without_an_outcome_is_kept_unmapped(nvr):
    [event] = ADAPTER.parse(payload(b'Code=AccessControl;action=Pulse;index=0;data={"UserID":"7"}'), nvr).events
    assert event.kind == K.UNMAPPED and event.vendor_code == "AccessControl"


def test_two_records_in_one_part_are_two_events(nvr):
    parsed = ADAPTER.parse(payload(fixture("two-records-no-length.block")), nvr)
    assert [e.kind for e in parsed.events] == [K.DOOR_OPEN, K.ACCESS_GRANTED]


def test_heartbeat_is_no_event(nvr):
    parsed = ADAPTER.parse(payload(fixture("Heartbeat.block")), nvr)
    assert parsed.events == [] and parsed.rejects == []


def test_malformed_block_is_rejected_whole(nvr):
    with pytest.raises(Rejected) as caught:
        ADAPTER.parse(payload(fixture("malformed-not-a-record.block")), nvr)
    assert caught.value.reason == c.DeadLetterReason.MALFORMED


def test_one_bad_record_does_not_sink_its_neighbour(nvr):
    body = b"--myboundary\r\nContent-Type: text/plain\r\n\r\nCode=VideoLoss;action=Start;index=0\r\nCode=VideoLoss;action=Start;index=x\r\n\r\n"
    parsed = ADAPTER.parse(payload(body), nvr)
    assert [e.kind for e in parsed.events] == [K.VIDEO_LOSS]
    [(rejected, fragment)] = parsed.rejects
    assert rejected.reason == c.DeadLetterReason.INVALID and fragment.startswith(b"Code=VideoLoss;action=Start;index=x")


def test_gb18030_text_from_chinese_firmware(nvr):
    body = 'Code=BreakIn;action=Pulse;index=0;data={"Name" : "东门"}'.encode("gb18030")
    [event] = ADAPTER.parse(payload(body), nvr).events
    assert event.payload["rule"] == "东门" and event.payload["encoding"] == "gb18030"


def test_a_whole_capture_parses_to_events_and_rejects(nvr):
    parsed = ADAPTER.parse(payload(fixture("stream-quirks.bin")), nvr)
    assert [e.vendor_code for e in parsed.events] == ["AlarmLocal", "VideoLoss", "VideoMotion"]
    assert [r.reason for r, _ in parsed.rejects] == [c.DeadLetterReason.MALFORMED]


def test_no_device_no_events():
    with pytest.raises(Rejected) as caught:
        ADAPTER.parse(payload(fixture("VideoMotion-start.block")), None)
    assert caught.value.reason == c.DeadLetterReason.UNKNOWN_DEVICE


# --- Fuzz -----------------------------------------------------------------------------------------

pieces = st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=40)


@given(st.binary(max_size=3000), pieces)
@settings(max_examples=300, deadline=None)
def test_stream_parser_never_raises_on_any_bytes_cut_anywhere(data, sizes):
    parser = StreamParser(max_block=512)
    at = 0
    for size in sizes * (len(data) // max(1, sum(sizes)) + 1):
        if at >= len(data):
            break
        parser.feed(data[at : at + size])
        at += size
    parser.feed(data[at:])
    parser.finish()


record_text = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda code, action, index, tail: f"Code={code};action={action};index={index}{tail}",
        st.text(max_size=20),
        st.sampled_from(["Start", "Stop", "Pulse", "", "Öffnen", "Invite"]),
        st.one_of(st.integers(-5, 70000).map(str), st.text(max_size=5)),
        st.one_of(st.just(""), st.text(max_size=80).map(lambda t: ";data=" + t), st.just(';data={"UTC": 1e308}')),
    ),
)


@given(record_text, st.sampled_from(["utf-8", "gb18030", "latin-1"]), st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_adapter_only_ever_answers_with_events_or_rejected(nvr, text, encoding, framed):
    body = text.encode(encoding, "replace")
    if framed:
        body = fake.part(body)
    try:
        parsed = ADAPTER.parse(payload(body), nvr)
    except Rejected as rejected:
        assert rejected.reason in c.DeadLetterReason.values
        return
    for event in parsed.events:
        assert event.kind in c.EventKind.values and event.state in c.EventState.values
        assert "\x00" not in event.vendor_code


@given(st.binary(max_size=1500))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_adapter_on_random_bytes(nvr, data):
    for body in (data, b"--myboundary\r\n" + data):
        with contextlib.suppress(Rejected):
            ADAPTER.parse(payload(body), nvr)


@given(st.lists(st.sampled_from(EVENT_FIXTURES), min_size=1, max_size=8), st.data())
@settings(max_examples=100, deadline=None)
def test_valid_blocks_survive_any_split(names, data):
    stream = b"".join(fixture(n) for n in names)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=20)))
    parser = StreamParser()
    blocks = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        blocks += parser.feed(stream[a:b])
    blocks += parser.finish()
    assert [b.raw.rstrip(b"\r\n") for b in blocks] == [fixture(n).rstrip(b"\r\n") for n in names]
