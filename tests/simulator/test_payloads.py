"""What the simulated devices send is what the adapters accept: every kind each protocol renders
comes out of its adapter as the same canonical event."""

from __future__ import annotations

import pytest
from django.utils import timezone

from anfang.devices import choices as dc
from anfang.devices.services import issue_device_token
from anfang.events.adapters import dahua as dahua_adapter
from anfang.events.adapters import isapi as isapi_adapter
from anfang.events.adapters import jsonevent
from anfang.events.adapters import mqtt as mqtt_adapter
from anfang.events.adapters.base import Payload
from anfang.events.choices import EventKind as K
from anfang.simulator import dahua, dahua_feed, isapi, mqtt
from anfang.simulator.traffic import MIX, SimDevice, Traffic

from .conftest import make_device

pytestmark = pytest.mark.django_db


def sim_of(device, protocol: str, token: str = "") -> SimDevice:
    return SimDevice(
        id=device.pk,
        compound_id=device.compound_id,
        device_type=device.device_type,
        protocol=protocol,
        name=device.name,
        token=token,
        ip_address=device.ip_address,
        mac_address=device.mac_address,
    )


def payload(body: bytes, content_type: str, source: str, endpoint: str = "") -> Payload:
    return Payload(body=body, content_type=content_type, received_at=timezone.now(), source=source, endpoint=endpoint)


CAMERA_KINDS = [k for k in isapi.EVENT_TYPES if k != K.ALARM_INPUT]
ISAPI_CASES = (
    [(dc.DeviceType.CAMERA, k, k) for k in CAMERA_KINDS]
    + [(dc.DeviceType.ACCESS_CONTROLLER, k, k) for k in [*isapi.ACCESS_CODES, K.HEARTBEAT]]
    # An alarm host is in the perimeter subsystem: its alarm input is a perimeter intrusion (Art 7).
    + [
        (dc.DeviceType.ALARM_HOST, K.ALARM_INPUT, K.PERIMETER_INTRUSION),
        (dc.DeviceType.NVR, K.ALARM_INPUT, K.ALARM_INPUT),
    ]
)


@pytest.mark.parametrize(("device_type", "kind", "expected"), ISAPI_CASES)
def test_isapi_alerts_become_the_same_event(compound, device_type, kind, expected):
    device = make_device(compound, device_type)
    h = Traffic([sim_of(device, "isapi")], seed=1).next(kind=kind)
    body, content_type = isapi.render(h)
    parsed = isapi_adapter.ADAPTER.parse(payload(body, content_type, "isapi"), device)
    assert not parsed.rejects, parsed.rejects
    [event] = parsed.events
    assert event.kind == expected
    assert abs((event.occurred_at - h.at).total_seconds()) < 1  # access events carry whole seconds


def test_isapi_xml_is_in_the_hikvision_namespace(compound):
    device = make_device(compound, dc.DeviceType.CAMERA)
    body, content_type = isapi.render(Traffic([sim_of(device, "isapi")], seed=1).next(kind=K.MOTION))
    assert content_type.startswith("application/xml")
    assert b'<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">' in body
    assert b"<eventType>VMD</eventType>" in body


def test_anpr_is_multipart_with_the_plate_and_two_jpegs(compound):
    device = make_device(compound, dc.DeviceType.ANPR_CAMERA)
    h = Traffic([sim_of(device, "isapi")], seed=4).next(kind=K.ANPR_PASSAGE)
    body, content_type = isapi.render(h)
    assert content_type.startswith("multipart/form-data; boundary=")
    assert b'name="anpr.xml"' in body and b'name="licensePlatePicture.jpg"' in body
    parsed = isapi_adapter.ADAPTER.parse(payload(body, content_type, "isapi"), device)
    [event] = parsed.events
    assert event.kind == K.ANPR_PASSAGE
    assert event.payload["plate"] == h.plate
    assert sorted(m["role"] for m in event.media) == ["detectionPicture", "licensePlatePicture"]
    assert all(m["type"] == "image/jpeg" for m in event.media)
    assert event.external_id  # the camera's UUID: a resent passage is a duplicate


MQTT_KINDS = sorted({k for mix in MIX.values() for k in mix if mqtt.supports(k)})


@pytest.mark.parametrize("kind", MQTT_KINDS)
def test_mqtt_messages_authenticate_and_become_the_same_event(compound, kind):
    device = make_device(compound, dc.DeviceType.HOUSEHOLD_PANEL, vendor=dc.Vendor.OTHER)
    token = issue_device_token(None, device)
    h = Traffic([sim_of(device, "mqtt", token)], seed=2).next(kind=kind)
    received = payload(mqtt.render(h), "application/json", "mqtt", endpoint=mqtt.topic(h))
    doc = jsonevent.decode(received.body)
    assert mqtt_adapter.authenticate(received, doc, mqtt_adapter.TokenCheck()).pk == device.pk
    event = mqtt_adapter.ADAPTER.event(doc, device, received)
    assert (event.kind, event.external_id, event.vendor_code) == (
        kind,
        h.external_id,
        mqtt.VENDOR_CODES.get(kind, kind.upper()),
    )


def test_mqtt_message_without_the_right_token_is_refused(compound):
    device = make_device(compound, dc.DeviceType.HOUSEHOLD_PANEL, vendor=dc.Vendor.OTHER)
    issue_device_token(None, device)
    h = Traffic([sim_of(device, "mqtt", "afd_not-the-token")], seed=2).next(kind=K.HEARTBEAT)
    received = payload(mqtt.render(h), "application/json", "mqtt", endpoint=mqtt.topic(h))
    with pytest.raises(mqtt_adapter.Refused):
        mqtt_adapter.authenticate(received, jsonevent.decode(received.body), mqtt_adapter.TokenCheck())


@pytest.mark.parametrize("kind", sorted(dahua_feed.CODES))
def test_dahua_stream_parts_become_the_same_event(compound, kind):
    device = make_device(compound, dc.DeviceType.CAMERA, vendor=dc.Vendor.DAHUA)
    h = Traffic([sim_of(device, "dahua")], seed=3).next(kind=kind)
    part = dahua.event_part(*dahua_feed.block(h))
    parsed = dahua_adapter.ADAPTER.parse(payload(part, "text/plain", "dahua"), device)
    assert not parsed.rejects, parsed.rejects
    [event] = parsed.events
    assert event.kind == kind
    assert abs((event.occurred_at - h.at).total_seconds()) < 0.002
