"""Hikvision ISAPI adapter: protocol-exact fixtures → canonical events; bad input → clear rejects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from anfang.devices import choices as dc
from anfang.events import choices as c
from anfang.events.adapters import adapter_for
from anfang.events.adapters.isapi import ADAPTER, split_multipart
from anfang.events.ingest import Rejected
from anfang.events.media import open_picture
from tests import factories as f

from .fixtures.isapi.payloads import (
    BOUNDARY,
    JPEG,
    MULTIPART_TYPE,
    anpr_multipart,
    fixture,
    multipart,
    part,
    payload,
)

pytestmark = pytest.mark.django_db

K, S = c.EventKind, c.EventState
CST = dt.timezone(dt.timedelta(hours=8))


def parse(device, body: bytes, content_type: str = "application/xml"):
    return ADAPTER.parse(payload(body, content_type), device)


def only_event(device, body: bytes, content_type: str = "application/xml"):
    parsed = parse(device, body, content_type)
    assert not parsed.rejects
    [event] = parsed.events
    return event


def rejected(device, body: bytes, content_type: str = "application/xml") -> Rejected:
    with pytest.raises(Rejected) as caught:
        parse(device, body, content_type)
    return caught.value


# fixture → (kind, state, channel, device time, vendor code)
MAPPED = [
    ("vmd.xml", K.MOTION, S.START, 1, "2026-03-02T10:06:41", "VMD"),
    ("videoloss.xml", K.VIDEO_LOSS, S.START, 5, "2026-03-02T10:07:02", "videoloss"),
    ("heartbeat_videoloss.xml", K.HEARTBEAT, S.PULSE, 1, "2026-03-02T11:20:02", "videoloss"),
    ("heartbeat.xml", K.HEARTBEAT, S.PULSE, 1, "2026-03-02T11:20:12", "heartBeat"),
    ("shelteralarm.xml", K.TAMPER, S.START, 1, "2026-03-02T10:09:15", "shelteralarm"),
    ("tamperdetection.xml", K.TAMPER, S.STOP, 1, "2026-03-02T10:09:45", "tamperdetection"),
    ("linedetection.xml", K.LINE_CROSSING, S.START, 1, "2026-03-02T15:51:35", "linedetection"),
    ("fielddetection_inactive.xml", K.PERIMETER_INTRUSION, S.STOP, 2, "2026-03-02T15:52:10", "fielddetection"),
    ("regionentrance.xml", K.REGION_ENTRANCE, S.START, 1, "2026-03-02T15:53:00", "regionEntrance"),
    ("regionexiting.xml", K.REGION_EXIT, S.START, 1, "2026-03-02T15:53:20", "regionExiting"),
    ("io.xml", K.ALARM_INPUT, S.START, 3, "2026-03-02T02:14:07", "IO"),
    ("diskfull.xml", K.STORAGE_FAULT, S.START, None, "2026-03-02T04:00:00", "diskfull"),
    ("diskerror.xml", K.STORAGE_FAULT, S.START, None, "2026-03-02T04:05:00", "diskerror"),
    ("illaccess.xml", K.ILLEGAL_ACCESS, S.PULSE, None, "2026-03-02T23:41:09", "illaccess"),
    ("anpr.xml", K.ANPR_PASSAGE, S.PULSE, 1, "2026-03-02T17:48:03.847", "ANPR"),
    ("unknown_scenechange.xml", K.UNMAPPED, S.START, 1, "2026-03-02T10:12:00", "scenechangedetection"),
]


@pytest.mark.parametrize(("name", "kind", "state", "channel", "when", "code"), MAPPED)
def test_each_mapped_event_type(camera, name, kind, state, channel, when, code):
    event = only_event(camera, fixture(name))
    assert (event.kind, event.state, event.channel, event.vendor_code) == (kind, state, channel, code)
    assert event.occurred_at == dt.datetime.fromisoformat(when).replace(tzinfo=CST)
    assert event.source == c.Source.ISAPI and event.flags == []
    assert (event.device_id, event.compound_id) == (camera.pk, camera.compound_id)


ACCESS = [
    ("acs_door_open.json", K.DOOR_OPEN, S.PULSE, "AccessControllerEvent/5/25"),
    ("acs_door_closed.json", K.DOOR_CLOSED, S.PULSE, "AccessControllerEvent/5/26"),
    ("acs_door_forced.json", K.DOOR_FORCED, S.PULSE, "AccessControllerEvent/5/27"),
    ("acs_door_held.json", K.DOOR_HELD, S.PULSE, "AccessControllerEvent/5/28"),
    ("acs_access_granted.json", K.ACCESS_GRANTED, S.PULSE, "AccessControllerEvent/5/75"),
    ("acs_access_denied.json", K.ACCESS_DENIED, S.PULSE, "AccessControllerEvent/5/6"),
    ("acs_tamper.json", K.TAMPER, S.START, "AccessControllerEvent/1/1028"),
]


@pytest.mark.parametrize(("name", "kind", "state", "code"), ACCESS)
def test_access_controller_json_events_map_by_major_and_minor(camera, name, kind, state, code):
    body = fixture(name)
    event = only_event(camera, body, "application/json")
    sent = orjson.loads(body)
    ace = sent["AccessControllerEvent"]
    assert (event.kind, event.state, event.vendor_code, event.channel) == (kind, state, code, 1)
    assert event.external_id == f"acs:{ace['serialNo']}:{sent['dateTime']}"
    assert (event.payload["major"], event.payload["minor"]) == (ace["majorEventType"], ace["subEventType"])
    assert event.occurred_at == dt.datetime.fromisoformat(sent["dateTime"])


def test_access_event_keeps_who_and_how(camera):
    event = only_event(camera, fixture("acs_access_granted.json"), "application/json")
    assert event.payload["name"] == "张伟" and event.payload["employee_no"] == "A0102"
    assert event.payload["verify_mode"] == "cardOrFace" and event.payload["minor_hex"] == "0x4b"
    denied = only_event(camera, fixture("acs_access_denied.json"), "application/json")
    assert denied.payload["card_no"] == "3521849760"


def test_unknown_access_code_is_unmapped_with_its_code(camera):
    alert = orjson.loads(fixture("acs_door_open.json"))
    alert["AccessControllerEvent"]["subEventType"] = 0x15  # lock relay, deliberately not a door state
    event = only_event(camera, orjson.dumps(alert), "application/json")
    assert (event.kind, event.vendor_code) == (K.UNMAPPED, "AccessControllerEvent/5/21")


def test_access_event_without_codes_names_the_missing_element(camera):
    alert = orjson.loads(fixture("acs_door_open.json"))
    del alert["AccessControllerEvent"]["subEventType"]
    err = rejected(camera, orjson.dumps(alert), "application/json")
    assert err.reason == c.DeadLetterReason.INVALID
    assert "EventNotificationAlert/AccessControllerEvent/subEventType" in err.detail


def test_alert_stream_json_wrapping_is_accepted(camera):
    body = b'{"EventNotificationAlert": ' + fixture("acs_door_held.json") + b"}"
    assert only_event(camera, body, "application/json").kind == K.DOOR_HELD


def test_io_of_a_perimeter_device_is_a_perimeter_intrusion(db):
    host = f.DeviceFactory(subsystem=dc.Subsystem.PERIMETER, device_type=dc.DeviceType.ALARM_HOST)
    event = only_event(host, fixture("io.xml"))
    assert (event.kind, event.channel, event.payload["input_port"]) == (K.PERIMETER_INTRUSION, 3, 3)


def test_videoloss_inactive_is_a_heartbeat_only_when_nothing_was_posted(camera):
    body = fixture("heartbeat_videoloss.xml").replace(
        b"<activePostCount>0</activePostCount>", b"<activePostCount>4</activePostCount>"
    )
    event = only_event(camera, body)
    assert (event.kind, event.state) == (K.VIDEO_LOSS, S.STOP)


def test_detection_regions_and_device_identity_are_kept(camera):
    event = only_event(camera, fixture("linedetection.xml"))
    assert event.payload["regions"] == [{"region": "1", "target": "human"}]
    assert event.payload["mac"] == "80:be:af:89:d9:ee" and event.payload["active_post_count"] == 1
    assert event.payload["description"] == "linedetection alarm"


def test_anpr_plate_and_device_uuid(camera):
    event = only_event(camera, fixture("anpr.xml"))
    assert event.external_id == "a0fe72d4-3652-464a-aebd-3f9190010236"
    assert event.payload["plate"] == "辽H12345"
    assert event.payload["plate_color"] == "blue" and event.payload["list_type"] == "temporary"
    assert event.payload["lane"] == "1" and event.payload["direction"] == "forward"


def test_unmapped_event_keeps_every_field(camera):
    event = only_event(camera, fixture("unknown_scenechange.xml"))
    assert event.payload["fields"]["eventDescription"] == "Scene Change Detection"
    assert event.payload["fields"]["macAddress"] == "44:19:b6:6d:24:85"


def test_time_without_zone_is_read_as_beijing_time_and_flagged(camera):
    body = fixture("vmd.xml").replace(b"2026-03-02T10:06:41+08:00", b"2026-03-02T10:06:41")
    event = only_event(camera, body)
    assert event.occurred_at == dt.datetime(2026, 3, 2, 10, 6, 41, tzinfo=CST)
    assert event.flags == [c.Flag.ZONE_ASSUMED]


def test_adapter_registry_finds_the_isapi_module():
    assert adapter_for(c.Source.ISAPI) is ADAPTER


# --- multipart and media ----------------------------------------------------------------------


def test_anpr_multipart_stores_both_pictures_and_links_them(camera):
    event = only_event(camera, anpr_multipart(), MULTIPART_TYPE)
    assert event.kind == K.ANPR_PASSAGE
    assert [(m["name"], m["role"], m["type"]) for m in event.media] == [
        ("licensePlatePicture.jpg", "licensePlatePicture", "image/jpeg"),
        ("detectionPicture.jpg", "detectionPicture", "image/jpeg"),
    ]
    assert open_picture(event.media[0]).read_bytes() == JPEG


def test_oversized_picture_keeps_the_event_and_dead_letters_the_picture(camera, settings):
    settings.ANFANG_MAX_PICTURE_BYTES = 100
    parsed = parse(camera, anpr_multipart(), MULTIPART_TYPE)
    [event] = parsed.events
    assert event.media == []
    assert [e["reason"] for e in event.payload["media_errors"]] == [c.DeadLetterReason.BAD_MEDIA] * 2
    assert [(r.reason, fragment) for r, fragment in parsed.rejects] == [(c.DeadLetterReason.BAD_MEDIA, JPEG)] * 2


def test_non_image_picture_part_is_a_bad_media_fragment(camera):
    parsed = parse(camera, anpr_multipart(picture=b"<html>not a picture</html>"), MULTIPART_TYPE)
    [event] = parsed.events
    assert [m["name"] for m in event.media] == ["licensePlatePicture.jpg"]
    [(reject, fragment)] = parsed.rejects
    assert reject.reason == c.DeadLetterReason.BAD_MEDIA and "detectionPicture.jpg" in reject.detail
    assert fragment == b"<html>not a picture</html>"
    assert event.payload["media_errors"][0]["name"] == "detectionPicture.jpg"


def test_truncated_picture_part_is_refused_as_bad_media(camera):
    body = multipart(part("anpr.xml", "application/xml", fixture("anpr.xml")), close=False)
    body += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="licensePlatePicture.jpg"\r\n'.encode()
    body += f"Content-Type: image/jpeg\r\nContent-Length: {len(JPEG)}\r\n\r\n".encode() + JPEG[:80]
    parsed = parse(camera, body, MULTIPART_TYPE)
    assert len(parsed.events) == 1 and parsed.events[0].media == []
    assert "不完整" in parsed.rejects[0][0].detail


def test_smart_event_multipart_named_after_the_event_type(camera):
    body = multipart(
        part("linedetection", "application/xml", fixture("linedetection.xml"), filename=""),
        part("lineCrossImage", "image/jpeg", JPEG, filename="lineCrossImage.jpg"),
    )
    event = only_event(camera, body, MULTIPART_TYPE)
    assert event.kind == K.LINE_CROSSING and event.media[0]["role"] == "lineCrossImage"


def test_face_terminal_multipart_event_log_and_picture(camera):
    body = multipart(
        part("event_log", "application/json", fixture("acs_access_granted.json"), filename=""),
        part("Picture", "image/jpeg", JPEG, filename="Picture.jpg"),
    )
    event = only_event(camera, body, MULTIPART_TYPE)
    assert event.kind == K.ACCESS_GRANTED and event.media[0]["sha256"]


def test_multipart_with_bare_line_feeds_and_no_blank_line_after_headers(camera):
    xml = fixture("vmd.xml")
    body = (
        f'--{BOUNDARY}\nContent-Disposition: form-data; name="VMD.xml"; filename="VMD.xml";\n'
        "Content-Type: application/xml\n"
    ).encode()
    body += xml + f"\n--{BOUNDARY}--\n".encode()
    assert only_event(camera, body, MULTIPART_TYPE).kind == K.MOTION


def test_split_multipart_reports_incomplete_parts():
    body = multipart(part("a.xml", "application/xml", b"<x/>"), close=False) + f"--{BOUNDARY}\r\n".encode()
    body += b"Content-Type: image/jpeg\r\n\r\n" + JPEG[:20]
    parts = split_multipart(body, BOUNDARY)
    assert [(p.name, p.complete) for p in parts] == [("a.xml", True), ("", False)]


def test_multipart_without_event_part_is_invalid(camera):
    err = rejected(camera, multipart(part("Picture.jpg", "image/jpeg", JPEG)), MULTIPART_TYPE)
    assert err.reason == c.DeadLetterReason.INVALID and "没有 EventNotificationAlert" in err.detail


def test_multipart_without_boundary_is_malformed(camera):
    err = rejected(camera, anpr_multipart(), "multipart/form-data")
    assert err.reason == c.DeadLetterReason.MALFORMED and "boundary" in err.detail


def test_a_bad_event_part_in_a_multipart_names_the_part(camera):
    body = multipart(
        part("anpr.xml", "application/xml", fixture("anpr.xml").replace(b"<eventType>ANPR</eventType>", b""))
    )
    err = rejected(camera, body, MULTIPART_TYPE)
    assert err.detail.startswith("部分 'anpr.xml': EventNotificationAlert/eventType")


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        ("text/plain", c.DeadLetterReason.BAD_CONTENT_TYPE),
        ("application/x-www-form-urlencoded", c.DeadLetterReason.BAD_CONTENT_TYPE),
        ("", c.DeadLetterReason.BAD_CONTENT_TYPE),
        ("image/jpeg", c.DeadLetterReason.BAD_CONTENT_TYPE),
    ],
)
def test_wrong_content_type(camera, content_type, reason):
    err = rejected(camera, fixture("vmd.xml"), content_type)
    assert err.reason == reason and "不受支持" in err.detail


@pytest.mark.parametrize(
    ("element", "path"),
    [
        (b"<eventType>VMD</eventType>", "EventNotificationAlert/eventType"),
        (b"<dateTime>2026-03-02T10:06:41+08:00</dateTime>", "EventNotificationAlert/dateTime"),
    ],
)
def test_missing_required_element_names_its_path(camera, element, path):
    err = rejected(camera, fixture("vmd.xml").replace(element, b""))
    assert err.reason == c.DeadLetterReason.INVALID and err.detail.startswith(path)


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (b"2026-03-02T10:06:41+08:00", b"yesterday", "EventNotificationAlert/dateTime"),
        (b"2026-03-02T10:06:41+08:00", b"1900-01-01T00:00:00+08:00", "EventNotificationAlert/dateTime"),
        (b"<channelID>1</channelID>", b"<channelID>one</channelID>", "EventNotificationAlert/channelID"),
        (b"<channelID>1</channelID>", b"<channelID>70000</channelID>", "EventNotificationAlert/channelID"),
        (b"<eventState>active</eventState>", b"<eventState>on</eventState>", "EventNotificationAlert/eventState"),
        (b"<activePostCount>1<", b"<activePostCount>99999999999999999999<", "EventNotificationAlert/activePostCount"),
    ],
)
def test_invalid_values_name_their_path(camera, old, new, path):
    err = rejected(camera, fixture("vmd.xml").replace(old, new))
    assert err.reason == c.DeadLetterReason.INVALID and err.detail.startswith(path), err.detail


def test_anpr_without_plate_is_invalid(camera):
    body = fixture("anpr.xml").replace(b"<licensePlate>\xe8\xbe\xbdH12345</licensePlate>", b"")
    err = rejected(camera, body)
    assert "EventNotificationAlert/ANPR/licensePlate" in err.detail


def test_wrong_root_element_is_invalid(camera):
    err = rejected(camera, b'<ResponseStatus xmlns="http://www.isapi.org/ver20/XMLSchema"/>')
    assert err.reason == c.DeadLetterReason.INVALID and "ResponseStatus" in err.detail


@pytest.mark.parametrize("cut", [40, 300, 520])
def test_truncated_xml_is_malformed(camera, cut):
    err = rejected(camera, fixture("vmd.xml")[:cut])
    assert err.reason == c.DeadLetterReason.MALFORMED and "not well-formed" in err.detail


def test_bytes_that_do_not_match_the_declared_encoding_are_malformed(camera):
    body = fixture("anpr.xml").replace("辽H12345".encode(), "辽H12345".encode("gb18030"))
    err = rejected(camera, body)
    assert err.reason == c.DeadLetterReason.MALFORMED


def test_gb2312_declared_xml_is_transcoded(camera):
    text = fixture("anpr.xml").decode().replace('encoding="UTF-8"', 'encoding="GB2312"')
    event = only_event(camera, text.encode("gb2312"))
    assert event.payload["plate"] == "辽H12345" and event.payload["channel_name"] == "北门入口"


def test_utf16_xml_is_read(camera):
    text = fixture("vmd.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert only_event(camera, text.encode("utf-16")).kind == K.MOTION


def test_unknown_declared_encoding_is_malformed(camera):
    body = fixture("vmd.xml").replace(b'encoding="UTF-8"', b'encoding="klingon-1"')
    err = rejected(camera, body)
    assert err.reason == c.DeadLetterReason.MALFORMED and "klingon-1" in err.detail


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<EventNotificationAlert><eventType>&lol3;</eventType></EventNotificationAlert>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE EventNotificationAlert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<EventNotificationAlert><eventType>&xxe;</eventType><dateTime>2026-03-02T10:00:00+08:00</dateTime>
</EventNotificationAlert>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE EventNotificationAlert SYSTEM "http://attacker.example/x.dtd">
<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>"""


@pytest.mark.parametrize(
    ("body", "words"),
    [(BOMB, "实体扩展"), (XXE, "外部实体"), (EXTERNAL_DTD, "DTD")],
)
def test_xml_attacks_are_refused_by_defusedxml(camera, body, words):
    err = rejected(camera, body)
    assert err.reason == c.DeadLetterReason.MALFORMED and words in err.detail and "defusedxml" in err.detail


def test_deep_nesting_is_refused(camera):
    body = b"<EventNotificationAlert>" + b"<a>" * 100 + b"</a>" * 100 + b"</EventNotificationAlert>"
    assert rejected(camera, body).reason == c.DeadLetterReason.MALFORMED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", c.DeadLetterReason.MALFORMED),
        (b"[1, 2]", c.DeadLetterReason.INVALID),
        (b'{"eventType": "VMD", "dateTime": "2026-03-02T10:00:00+08:00", "eventDescription": "a\\u0000b"}', "invalid"),
        (b"", c.DeadLetterReason.MALFORMED),
    ],
)
def test_bad_json(camera, body, reason):
    assert rejected(camera, body, "application/json").reason == reason


def test_every_fixture_file_is_used():
    """Every fixture file is exercised by a mapping test above."""
    used = {name for name, *_ in MAPPED} | {name for name, *_ in ACCESS}
    files = {p.name for p in Path(__file__).parent.joinpath("fixtures", "isapi").iterdir() if p.suffix != ".py"}
    assert files - {"__pycache__"} == used
