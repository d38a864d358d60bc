"""`manage.py simulate` end to end: devices picked and given tokens, traffic at the asked rate,
events arriving through the real endpoint; MQTT publishing to the real broker."""

from __future__ import annotations

import json
import re
import threading
import uuid
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from anfang.devices import choices as dc
from anfang.devices.models import DeviceCredential
from anfang.devices.services import device_by_token, issue_device_token
from anfang.events.adapters import jsonevent
from anfang.events.models import DeadLetter, Event
from anfang.simulator import mqtt
from anfang.simulator.run import protocol_for, select_devices
from anfang.simulator.traffic import SimDevice, Traffic
from tests.conftest import require_service

from .conftest import make_device


def hikvision_compound(compound):
    for device_type in (dc.DeviceType.CAMERA, dc.DeviceType.CAMERA, dc.DeviceType.ANPR_CAMERA):
        make_device(compound, device_type)
    make_device(compound, dc.DeviceType.ACCESS_CONTROLLER)
    make_device(compound, dc.DeviceType.VIDEO_WALL)  # shows nothing: never simulated


@pytest.mark.django_db(transaction=True)
def test_simulate_pushes_isapi_events_at_the_rate_and_they_arrive(live_server, compound):
    hikvision_compound(compound)
    out = StringIO()
    call_command(
        "simulate",
        devices=10,
        rate=5,
        duration=2,
        protocols="isapi",
        url=live_server.url,
        # One connection: the test server shares one in-memory SQLite connection between its threads.
        concurrency=1,
        seed=1,
        stdout=out,
    )
    text = out.getvalue()
    assert "simulate: 4 devices (isapi 4), 5 events/s for 2 s" in text
    last = text.strip().splitlines()[-1]
    sent = int(re.search(r"sent (\d+)", last).group(1))
    assert 9 <= sent <= 11, last  # 5/s for 2 s
    assert "behind" not in last
    assert re.search(r"2xx (\d+) 4xx 0 5xx 0 errors 0", last), last
    assert int(re.search(r"2xx (\d+)", last).group(1)) == sent
    events = Event.objects.filter(source="isapi")
    assert events.count() == sent
    assert not DeadLetter.objects.exists()
    assert set(events.values_list("compound_id", flat=True)) == {compound.pk}


@pytest.mark.django_db
def test_tokens_are_issued_once_and_kept(compound, sim_dirs):
    hikvision_compound(compound)
    first = select_devices(10, ["isapi"], log=lambda _: None)
    assert len(first) == 4
    again = select_devices(10, ["isapi"], log=lambda _: None)
    assert [d.token for d in again] == [d.token for d in first]  # reused from the token file
    assert all(device_by_token(d.token).pk == d.id for d in again)
    stored = json.loads((sim_dirs / "tokens.json").read_text())
    assert set(stored) == {str(d.id) for d in first}


@pytest.mark.django_db
def test_a_device_with_a_token_the_simulator_does_not_know_is_left_alone(compound):
    device = make_device(compound, dc.DeviceType.CAMERA)
    real = issue_device_token(None, device)
    messages = []
    assert select_devices(5, ["isapi"], log=messages.append) == []
    assert "skipped 1 devices" in messages[0]
    assert device_by_token(real).pk == device.pk  # the real device still works
    [taken] = select_devices(5, ["isapi"], reissue=True, log=messages.append)
    assert taken.id == device.pk and device_by_token(real) is None


@pytest.mark.django_db
def test_devices_are_spread_over_compounds(compound):
    from tests import factories as f

    other = f.CompoundFactory()
    for c in (compound, other):
        for _ in range(3):
            make_device(c, dc.DeviceType.CAMERA)
    chosen = select_devices(2, ["isapi"], log=lambda _: None)
    assert {d.compound_id for d in chosen} == {compound.pk, other.pk}


def test_each_vendor_speaks_its_own_protocol():
    assert protocol_for(dc.Vendor.HIKVISION, dc.DeviceType.CAMERA, ["isapi", "mqtt"]) == "isapi"
    assert protocol_for(dc.Vendor.DAHUA, dc.DeviceType.CAMERA, ["isapi", "mqtt", "dahua"]) == "dahua"
    assert protocol_for(dc.Vendor.OTHER, dc.DeviceType.HOUSEHOLD_PANEL, ["isapi", "mqtt"]) == "mqtt"
    # A gateway forwards what a device cannot push itself; without MQTT it is not simulated.
    assert protocol_for(dc.Vendor.DAHUA, dc.DeviceType.CAMERA, ["isapi", "mqtt"]) == "mqtt"
    assert protocol_for(dc.Vendor.DAHUA, dc.DeviceType.CAMERA, ["isapi"]) is None


@pytest.mark.django_db
def test_the_command_explains_what_it_cannot_do(compound):
    with pytest.raises(CommandError, match="unknown protocol"):
        call_command("simulate", protocols="isapi,zigbee", duration=1)
    with pytest.raises(CommandError, match="no registered device"):
        call_command("simulate", protocols="isapi", duration=1, stdout=StringIO())
    with pytest.raises(CommandError, match="http:// address"):
        call_command("simulate", protocols="isapi", url="https://example.invalid", duration=1)
    with pytest.raises(CommandError, match="no MQTT broker"):
        call_command("simulate", protocols="mqtt", mqtt_url="mqtt://127.0.0.1:9", duration=1)


def test_publisher_sends_schema_valid_events_to_the_real_broker():
    require_service("mosquitto", mqtt.broker_answers(settings.ANFANG_MQTT_URL), settings.ANFANG_MQTT_URL)
    import paho.mqtt.client as paho

    root = f"anfangsimtest{uuid.uuid4().hex[:8]}"
    host, port = mqtt.broker_address(settings.ANFANG_MQTT_URL)
    received: list[bytes] = []
    subscribed, done = threading.Event(), threading.Event()
    sub = paho.Client(paho.CallbackAPIVersion.VERSION2)
    sub.on_subscribe = lambda *a: subscribed.set()

    def on_message(client, userdata, message):
        received.append(message.payload)
        if len(received) == 20:
            done.set()

    sub.on_message = on_message
    sub.connect(host, port)
    sub.subscribe(f"{root}/+/+/events", qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(5)
        device = SimDevice(id=7, compound_id=3, device_type="household_panel", protocol="mqtt", token="afd_x")
        traffic = Traffic([device], seed=9)
        publisher = mqtt.Publisher(settings.ANFANG_MQTT_URL, client_id=f"{root}-pub").connect()
        for _ in range(20):
            h = traffic.next()
            assert publisher.publish(f"{root}/3/7/events", mqtt.render(h))
        publisher.close()
        assert publisher.acked == 20 and publisher.failed == 0
        assert done.wait(5)
    finally:
        sub.loop_stop()
        sub.disconnect()
    for body in received:
        event = jsonevent.JsonEvent.model_validate(json.loads(body))
        assert event.token == "afd_x" and event.canonical_kind
    assert DeviceCredential  # imported for the database tests above
