"""The live console pages (issue 6 §3): who may open a compound's console, the queue in its
groups and order, the event list, the device board and the remembered compound."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.alarms import choices as c
from anfang.alarms import services as s
from anfang.alarms.models import Alarm
from anfang.core.choices import Role
from anfang.devices.choices import DeviceStatus
from anfang.devices.models import DeviceHealth
from anfang.duty import services as duty
from anfang.events import choices as ec
from anfang.events import writer
from anfang.events.ingest import normalise
from tests import factories as f
from tests.events.conftest import incoming

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rules():
    s.forget_rules()


@pytest.fixture
def site(world):
    """Compound X with a duty room, a perimeter detector, a door and a camera; two operators and a
    guard of X; an operator of Y; a police officer of X's station."""
    cx = world["cx"]
    room = f.DutyRoomFactory(compound=cx, name="南门监控中心")
    detector = f.DeviceFactory(compound=cx, name="东侧周界探测器", location_note="东墙3段")
    door = f.DeviceFactory(compound=cx, name="1号楼单元门")
    camera = f.DeviceFactory(compound=cx, name="南门摄像机")
    other_device = f.DeviceFactory(compound=world["cy"], name="乐家周界")
    operator = f.user_with(Role.DUTY_OPERATOR, compound=cx, username="wang.duty")
    operator.first_name = "王值班"
    operator.save()
    second = f.user_with(Role.DUTY_OPERATOR, compound=cx, username="li.duty")
    guard = f.user_with(Role.GUARD, compound=cx, username="zhang.guard")
    outsider = f.user_with(Role.DUTY_OPERATOR, compound=world["cy"], username="yang.duty")
    police = f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="zhao.police")
    return {
        **world,
        "room": room,
        "detector": detector,
        "door": door,
        "camera": camera,
        "other_device": other_device,
        "operator": operator,
        "second": second,
        "guard": guard,
        "outsider": outsider,
        "police": police,
    }


def ingest(device, kind=ec.EventKind.PERIMETER_INTRUSION, *, at=None, **kwargs):
    at = at or timezone.now()
    kwargs.setdefault("occurred_at", at - dt.timedelta(seconds=1))
    e = normalise(incoming(device, kind, received_at=at, **kwargs), at)
    return writer.write([e])[0]


def console_url(compound, name="console:compound"):
    return reverse(name, args=[compound.pk])


@pytest.mark.parametrize(
    "name", ["console:compound", "console:queue", "console:events", "console:devices", "console:idle"]
)
def test_only_handlers_of_the_compound_open_its_console(client, site, name):
    url = console_url(site["cx"], name)
    assert client.get(url).status_code == 302  # signed out: to the login page
    for who in ("outsider", "police", "guard"):
        client.force_login(site[who])
        assert client.get(url).status_code == 404, who
    client.force_login(site["operator"])
    assert client.get(url).status_code == 200
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=site["company_x"])
    client.force_login(manager)
    assert client.get(url).status_code == 200


def test_the_stream_is_refused_to_others(client, site):
    url = console_url(site["cx"], "console:stream")
    client.force_login(site["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(site["police"])
    assert client.get(url).status_code == 404


def test_console_home_goes_to_the_only_compound_and_remembers_a_choice(client, site):
    client.force_login(site["operator"])
    response = client.get(reverse("console:home"))
    assert response.status_code == 302 and response.url == console_url(site["cx"])

    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=site["company_x"])
    second_compound = f.CompoundFactory(name="滨海名苑", property_company=site["company_x"])
    client.force_login(manager)
    pick = client.get(reverse("console:home"))
    assert pick.status_code == 200
    assert "安居花园" in pick.content.decode() and "滨海名苑" in pick.content.decode()
    client.get(console_url(second_compound))
    again = client.get(reverse("console:home"))
    assert again.status_code == 302 and again.url == console_url(second_compound)
    assert client.get(reverse("console:home") + "?pick=1").status_code == 200


def test_console_home_sends_guards_to_their_dispatches_and_refuses_others(client, site):
    client.force_login(site["guard"])
    response = client.get(reverse("console:home"))
    assert response.status_code == 302 and response.url == reverse("alarms:mine")
    client.force_login(site["police"])
    assert client.get(reverse("console:home")).status_code == 403


def test_queue_waiting_first_by_priority_then_age_stale_apart(client, site):
    t0 = timezone.now() - dt.timedelta(minutes=10)
    ingest(site["door"], ec.EventKind.DOOR_FORCED, at=t0)  # high, oldest
    ingest(site["camera"], ec.EventKind.VIDEO_LOSS, at=t0 + dt.timedelta(minutes=1))  # medium
    ingest(site["detector"], at=t0 + dt.timedelta(minutes=2))  # urgent, newest
    late = t0 + dt.timedelta(minutes=3)
    ingest(site["detector"], ec.EventKind.TAMPER, at=late, occurred_at=late - dt.timedelta(hours=2))  # stale
    ingest(site["other_device"])  # another compound's
    handled = s.acknowledge(site["operator"], Alarm.objects.get(kind=ec.EventKind.VIDEO_LOSS))

    client.force_login(site["operator"])
    response = client.get(console_url(site["cx"], "console:queue"))
    html = response.content.decode()
    queue = response.context["queue"]
    assert [a.kind for a in queue.waiting] == ["perimeter_intrusion", "door_forced"]
    assert [a.pk for a in queue.handling] == [handled.pk]
    assert [a.kind for a in queue.stale] == ["tamper"]
    assert (queue.unacknowledged, queue.open_count, queue.top_priority) == (2, 4, c.Priority.URGENT)
    assert 'data-waiting="2"' in html and 'data-open="4"' in html
    assert html.index("周界入侵") < html.index("门被强行打开") < html.index("王值班")
    assert "乐家周界" not in html
    assert "迟到/重放报警（不鸣响）" in html

    page = client.get(console_url(site["cx"])).content.decode()
    assert "<title>(2) 值班台 · 安居花园" in page


def test_escalated_alarms_are_marked(client, site):
    ingest(site["detector"], at=timezone.now() - dt.timedelta(minutes=5))
    s.escalate_due()
    client.force_login(site["operator"])
    response = client.get(console_url(site["cx"], "console:queue"))
    assert response.context["queue"].escalated == 1
    assert "is-esc" in response.content.decode() and 'data-escalated="1"' in response.content.decode()


def test_an_empty_queue_is_calm(client, site):
    client.force_login(site["operator"])
    html = client.get(console_url(site["cx"])).content.decode()
    assert "当前没有未处理的报警" in html and 'data-waiting="0"' in html
    assert "<title>值班台 · 安居花园" in html


def test_event_list_shows_the_compounds_latest_events_with_flags(client, site):
    now = timezone.now()
    ingest(site["camera"], ec.EventKind.MOTION, at=now - dt.timedelta(seconds=30))
    ingest(
        site["door"],
        ec.EventKind.ACCESS_GRANTED,
        at=now - dt.timedelta(seconds=5),
        occurred_at=now - dt.timedelta(hours=1),
    )
    ingest(site["other_device"], ec.EventKind.MOTION, at=now)
    ingest(site["camera"], ec.EventKind.HEARTBEAT, at=now)  # not news for an operator
    client.force_login(site["operator"])
    response = client.get(console_url(site["cx"], "console:events"))
    rows = response.context["events"]
    assert [e.kind for e in rows] == ["access_granted", "motion"]
    html = response.content.decode()
    assert "迟到" in html and "1号楼单元门" in html and "乐家周界" not in html


def test_device_board_online_offline_unknown(client, site, settings):
    settings.ANFANG_DEVICE_OFFLINE_SECONDS = 120
    now = timezone.now()
    DeviceHealth.objects.create(device=site["camera"], last_seen_at=now - dt.timedelta(seconds=30), last_event_at=now)
    DeviceHealth.objects.create(device=site["door"], last_seen_at=now - dt.timedelta(minutes=10))
    retired = f.DeviceFactory(compound=site["cx"], name="旧摄像机", status=DeviceStatus.RETIRED)
    client.force_login(site["operator"])
    response = client.get(console_url(site["cx"], "console:devices"))
    board = response.context["board"]
    states = {t.device.name: t.state for t in board.tiles}
    assert states == {"南门摄像机": "online", "1号楼单元门": "offline", "东侧周界探测器": "unknown"}
    assert board.tiles[0].device.name == "1号楼单元门"  # offline first
    assert retired.name not in response.content.decode()
    assert "2 分钟无通信视为离线" in client.get(console_url(site["cx"])).content.decode()


def test_idle_panel_shows_who_is_on_duty_and_the_log(client, site):
    client.force_login(site["operator"])
    assert "当前没有值班员签到上岗" in client.get(console_url(site["cx"], "console:idle")).content.decode()
    duty.sign_on(site["operator"], site["room"])
    ingest(site["detector"])
    html = client.get(console_url(site["cx"], "console:idle")).content.decode()
    assert "王值班" in html and "报警产生" in html and "上岗" in html


def test_a_selected_alarm_is_loaded_into_the_panel(client, site):
    ingest(site["detector"])
    alarm = Alarm.objects.get()
    other = ingest(site["other_device"])
    assert other
    client.force_login(site["operator"])
    html = client.get(console_url(site["cx"]) + f"?alarm={alarm.pk}").content.decode()
    assert f'hx-get="{reverse("alarms:detail", args=[alarm.pk])}" hx-trigger="load"' in html
    foreign = Alarm.objects.exclude(pk=alarm.pk).get()
    html = client.get(console_url(site["cx"]) + f"?alarm={foreign.pk}").content.decode()
    assert reverse("alarms:detail", args=[foreign.pk]) not in html


def test_nav_link_to_the_console_for_handlers_and_dispatches_for_guards(client, site):
    client.force_login(site["operator"])
    assert reverse("console:home") in client.get(reverse("compounds:list")).content.decode()
    client.force_login(site["guard"])
    html = client.get(reverse("alarms:mine")).content.decode()
    assert f'href="{reverse("alarms:mine")}"' in html and f'href="{reverse("console:home")}"' not in html


def test_the_console_speaks_english(client, site):
    import re

    ingest(site["detector"])
    s.escalate_due(now=timezone.now() + dt.timedelta(minutes=5))
    client.force_login(site["operator"])
    html = client.get(console_url(site["cx"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    console = html[html.index('<div class="console"') : html.index("</script>", html.index("console-texts"))]
    log = console[console.index('<ol class="log-list">') : console.index("</ol>", console.index("log-list"))]
    console = console.replace(log, "")  # the duty log keeps the words it was written in
    for name in ("安居花园", "东侧周界探测器", "东墙3段", "1号楼单元门", "南门摄像机", "王值班"):
        console = console.replace(name, "")
    assert "Alarm queue" in console and "Perimeter" in console
    assert re.findall(r"[\u4e00-\u9fff]+", console) == []
    panel = client.get(reverse("alarms:detail", args=[Alarm.objects.get().pk]), HTTP_ACCEPT_LANGUAGE="en")
    text = panel.content.decode()
    text = text[text.index('<div class="alarm-panel') : text.index("</main>")]
    for name in ("安居花园", "东侧周界探测器", "东墙3段"):
        text = text.replace(name, "")
    assert "Acknowledge alarm" in text and re.findall(r"[\u4e00-\u9fff]+", text) == []
