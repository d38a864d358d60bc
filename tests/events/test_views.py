"""Event pages: the list (scope both ways, every filter, paging by key, bounded count), one event
(payload, flags explained, pictures through a scope check) and the admin registrations."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.core.choices import Role
from anfang.events import choices as c
from anfang.events import filters, writer
from anfang.events.ingest import normalise
from anfang.events.media import save_picture
from anfang.events.models import Event
from tests import factories as f

from .conftest import incoming

pytestmark = pytest.mark.django_db

LIST = reverse("events:list")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


def store(device, kind=c.EventKind.MOTION, *, received_at=None, **kwargs) -> Event:
    received_at = received_at or timezone.now()
    kwargs.setdefault("occurred_at", received_at - dt.timedelta(seconds=1))
    [outcome] = writer.write([normalise(incoming(device, kind, received_at=received_at, **kwargs), received_at)])
    return Event.objects.get(pk=outcome.event_id)


@pytest.fixture
def people(world):
    return {
        "manager": f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x"),
        "officer": f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a"),
        "guard_y": f.user_with(Role.GUARD, compound=world["cy"], username="guard-y"),
    }


@pytest.fixture
def cams(world):
    return {
        "x": f.DeviceFactory(compound=world["cx"], name="安居南门"),
        "x2": f.DeviceFactory(compound=world["cx"], name="安居北门"),
        "y": f.DeviceFactory(compound=world["cy"], name="乐家大门"),
        "u": f.DeviceFactory(compound=world["cu"], name="老街路口"),
    }


def ids(response) -> set[int]:
    return {e.pk for e in response.context["page"].object_list}


def test_list_shows_only_events_of_compounds_the_user_sees(client, people, cams):
    ex, ey, eu = store(cams["x"]), store(cams["y"]), store(cams["u"])
    client.force_login(people["manager"])
    response = client.get(LIST)
    assert response.status_code == 200 and ids(response) == {ex.pk}
    assert "安居南门" in response.content.decode()
    client.force_login(people["officer"])  # station A: X's compound and the unmanaged one
    assert ids(client.get(LIST)) == {ex.pk, eu.pk}
    client.force_login(people["guard_y"])
    assert ids(client.get(LIST)) == {ey.pk}
    # A compound out of scope cannot even be chosen as a filter.
    client.force_login(people["manager"])
    refused = client.get(LIST, {"compound": cams["y"].compound_id})
    assert "部分筛选条件无效" in refused.content.decode() and ids(refused) == {ex.pk}


def test_every_filter(client, people, cams):
    now = timezone.now()
    motion = store(cams["x"])
    panic = store(cams["x2"], c.EventKind.HOUSEHOLD_PANIC, source=c.Source.MQTT)
    skewed = store(cams["x"], c.EventKind.TAMPER, occurred_at=now + dt.timedelta(hours=1))
    old = store(cams["x"], received_at=now - dt.timedelta(days=10))
    client.force_login(people["manager"])
    cx = cams["x"].compound_id
    assert ids(client.get(LIST)) == {motion.pk, panic.pk, skewed.pk}  # last 7 days by default
    assert ids(client.get(LIST, {"period": "all"})) == {motion.pk, panic.pk, skewed.pk, old.pk}
    assert ids(client.get(LIST, {"compound": cx, "device": cams["x2"].pk})) == {panic.pk}
    assert ids(client.get(LIST, {"kind": "tamper"})) == {skewed.pk}
    assert ids(client.get(LIST, {"min_severity": c.Severity.WARNING})) == {panic.pk, skewed.pk}
    assert ids(client.get(LIST, {"source": "mqtt"})) == {panic.pk}
    assert ids(client.get(LIST, {"flag": "clock_skew"})) == {skewed.pk}
    assert ids(client.get(LIST, {"flag": "any"})) == {skewed.pk}
    assert ids(client.get(LIST, {"flag": "late"})) == set()
    local = timezone.localtime(now - dt.timedelta(days=11))
    since, until = local.strftime("%Y-%m-%dT%H:%M"), (local + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert ids(client.get(LIST, {"since": since, "until": until})) == {old.pk}
    backwards = client.get(LIST, {"since": until, "until": since})
    assert "结束时间应晚于开始时间" in backwards.content.decode()


def test_device_dropdown_lists_the_chosen_compounds_devices_only(client, people, cams, world):
    client.force_login(people["officer"])
    form = client.get(LIST, {"compound": world["cx"].pk}).context["form"]
    assert {label for value, label in form.fields["device"].widget.choices if value} == {"安居南门", "安居北门"}
    form = client.get(LIST).context["form"]  # two compounds visible: pick one first
    assert [value for value, _ in form.fields["device"].widget.choices] == [""]
    form = client.get(LIST, {"device": cams["u"].pk}).context["form"]  # the chosen one stays listed
    assert [label for value, label in form.fields["device"].widget.choices if value] == ["老街路口"]


def test_empty_state_offers_all_time(client, people, cams):
    store(cams["x"], received_at=timezone.now() - dt.timedelta(days=40))
    client.force_login(people["manager"])
    html = client.get(LIST).content.decode()
    assert "没有符合条件的事件" in html and "period=all" in html


def test_keyset_pages_cover_every_row_once_even_with_equal_times(client, people, cams):
    same = timezone.now() - dt.timedelta(minutes=5)
    made = {store(cams["x"], received_at=same, external_id=f"e{i}").pk for i in range(30)}
    made |= {store(cams["x"], external_id=f"n{i}").pk for i in range(30)}
    client.force_login(people["manager"])
    seen: list[int] = []
    response = client.get(LIST)
    pages = [response]
    while response.context["page"].older:
        response = client.get(LIST, {"before": response.context["page"].older})
        pages.append(response)
    for page in pages:
        seen += [e.pk for e in page.context["page"].object_list]
    assert len(pages) == 3 and len(seen) == 60 and set(seen) == made
    ordered = sorted(Event.objects.filter(pk__in=made), key=lambda e: (e.received_at, e.pk), reverse=True)
    assert seen == [e.pk for e in ordered]
    # Back from the last page by `after`: the middle page again, then the first in full.
    middle = client.get(LIST, {"after": pages[2].context["page"].newer})
    assert ids(middle) == ids(pages[1])
    first = client.get(LIST, {"after": middle.context["page"].newer})
    assert ids(first) == ids(pages[0]) and first.context["page"].is_first
    assert pages[0].context["page"].total == 60 and not pages[0].context["page"].capped
    assert ids(client.get(LIST, {"before": "garbage"})) == ids(pages[0])


def test_count_is_bounded(client, people, cams, monkeypatch):
    monkeypatch.setattr(filters, "COUNT_CAP", 3)
    monkeypatch.setattr(filters, "PER_PAGE", 2)
    for i in range(5):
        store(cams["x"], external_id=f"c{i}")
    client.force_login(people["manager"])
    response = client.get(LIST)
    assert response.context["page"].capped and "超过 3 条" in response.content.decode()


def test_detail_shows_payload_and_explains_flags(client, people, cams, settings):
    now = timezone.now()
    event = store(
        cams["x"],
        c.EventKind.UNMAPPED,
        occurred_at=now + dt.timedelta(seconds=900),
        vendor_code="fielddetection_x",
        payload={"region": "南侧围墙", "target": "human"},
        flags=[c.Flag.ZONE_ASSUMED],
    )
    client.force_login(people["manager"])
    html = client.get(reverse("events:detail", args=[event.pk])).content.decode()
    assert "南侧围墙" in html and "fielddetection_x" in html and "尚未映射" in html
    assert "按北京时间（UTC+8）解释" in html
    assert re.search(r"设备时间比平台接收时间快 (899|900) 秒，超过阈值 300 秒", html)
    client.force_login(people["guard_y"])
    assert client.get(reverse("events:detail", args=[event.pk])).status_code == 404


def test_event_of_a_deleted_device_is_still_listed(client, people, cams):
    event = store(cams["x2"])
    from anfang.devices.services import delete_device

    delete_device(people["manager"], cams["x2"])
    client.force_login(people["manager"])
    response = client.get(LIST)
    assert event.pk in ids(response) and "（已删除）" in response.content.decode()
    assert client.get(reverse("events:detail", args=[event.pk])).status_code == 200


def test_pictures_are_served_only_through_the_scope_check(client, people, cams, settings):
    ref = save_picture(PNG, name="plate")
    event = store(cams["x"], c.EventKind.ANPR_PASSAGE, media=[ref], payload={"plate": "辽H12345"})
    url = reverse("events:picture", args=[event.pk, 0])
    client.force_login(people["manager"])
    html = client.get(reverse("events:detail", args=[event.pk])).content.decode()
    assert url in html and settings.MEDIA_URL not in html
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert client.get(reverse("events:picture", args=[event.pk, 1])).status_code == 404
    client.force_login(people["guard_y"])
    assert client.get(url).status_code == 404


def test_a_picture_reference_outside_the_store_is_refused(client, people, cams, settings):
    (settings.MEDIA_ROOT / "secret.png").parent.mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "secret.png").write_bytes(PNG)
    bad = {"path": "events/../secret.png", "type": "image/png", "size": len(PNG), "sha256": "x", "name": ""}
    event = store(cams["x"], media=[bad])
    client.force_login(people["manager"])
    assert client.get(reverse("events:picture", args=[event.pk, 0])).status_code == 404


def test_lists_need_a_login(client):
    assert client.get(LIST).status_code == 302
    assert client.get(reverse("events:dead_letters")).status_code == 302


def test_admin_pages_are_read_only_and_show_no_hashes(client, cams):
    from anfang.devices import services as device_services
    from anfang.devices.models import DeviceCredential, DeviceHealth

    admin = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    event = store(cams["x"])
    device_services.issue_device_token(None, cams["x"])
    DeviceHealth.objects.create(device=cams["x"], events=3, clock_skew_seconds=700, clock_skew_flagged=True)
    cred = DeviceCredential.objects.get(device=cams["x"])
    client.force_login(admin)
    for name in ("events_event", "events_deadletter", "devices_devicecredential", "devices_devicehealth"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:events_event_change", args=[event.pk])).status_code == 200
    assert client.get(reverse("admin:events_event_add")).status_code == 403
    page = client.get(reverse("admin:devices_devicecredential_change", args=[cams["x"].pk])).content.decode()
    assert cred.token_prefix in page and cred.token_hash not in page
    assert cred.token_hash not in client.get(reverse("admin:devices_devicecredential_changelist")).content.decode()
    response = client.post(
        reverse("admin:devices_devicecredential_changelist"),
        {"action": "stop_ingest", "_selected_action": [cams["x"].pk]},
    )
    assert response.status_code == 302 and not DeviceCredential.objects.get(device=cams["x"]).enabled


CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u303f]")


def chinese_left(html: str, data: list[str]) -> list[str]:
    """Chinese text on an English page, apart from what users and devices typed (data) and the
    main navigation (other apps' links)."""
    text = re.sub(r'<nav class="mainnav">.*?</nav>', "", html, flags=re.S)
    text = re.sub(r'<[^>]*aria-hidden="true"[^>]*>[^<]*', "", text).replace("简体中文", "")
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, "")
    return sorted({line.strip() for line in text.splitlines() if CJK.search(line)})


def test_pages_in_english(client, cams, world):
    from anfang.core.models import Organisation
    from anfang.events.adapters.base import Payload
    from anfang.events.deadletters import record
    from anfang.events.ingest import Rejected

    event = store(cams["x"], c.EventKind.TAMPER, flags=[c.Flag.ZONE_ASSUMED], payload={"zone": 1})
    payload = Payload(b"<bad", "application/xml", timezone.now(), c.Source.ISAPI, {"Host": "x"}, "10.9.9.9")
    letter = record(payload, Rejected(c.DeadLetterReason.MALFORMED, "bad xml"))
    data = [str(o) for o in Organisation.objects.all()]
    data += [world[k].name for k in ("cx", "cy", "cu")] + [d.name for d in cams.values()]
    client.force_login(f.admin_user())
    pages = [
        LIST,
        reverse("events:detail", args=[event.pk]),
        reverse("events:dead_letters"),
        reverse("events:dead_letter", args=[letter.pk]),
        reverse("devices:detail", args=[cams["x"].pk]),
    ]
    for url in pages:
        response = client.get(url, headers={"Accept-Language": "en"})
        html = response.content.decode()
        assert response.status_code == 200 and '<html lang="en">' in html, url
        if url.startswith("/devices/"):  # the ingest section is this app's part of the device page
            start = html.index('id="ingest"')
            html = html[start : html.index('<section class="card section">', start)]
        assert chinese_left(html, data) == [], url
    english = client.get(reverse("events:detail", args=[event.pk]), headers={"Accept-Language": "en"})
    assert "Tamper / shelter" in english.content.decode() and "read as Beijing time (UTC+8)" in english.content.decode()
