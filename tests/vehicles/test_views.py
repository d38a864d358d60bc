"""Vehicle pages and the console panel: scope both ways, validation messages, audit of views."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anfang.audit.models import AuditEntry
from anfang.core.choices import Role
from anfang.duty.models import LogEntry
from anfang.events import writer
from anfang.vehicles import choices as c
from anfang.vehicles.models import BarrierOpen, Passage, ResidentVehicle, VisitorPass
from tests import factories as f
from tests.vehicles.factories import ResidentVehicleFactory, VisitorPassFactory, anpr_camera, anpr_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def cx(world):
    return world["cx"]


@pytest.fixture
def people(world):
    return {
        "manager": f.user_with(Role.PROPERTY_MANAGER, world["company_x"]),
        "other_manager": f.user_with(Role.PROPERTY_MANAGER, world["company_y"]),
        "operator": f.user_with(Role.DUTY_OPERATOR, world["company_x"]),
        "guard": f.user_with(Role.GUARD, world["company_x"]),
        "police": f.user_with(Role.POLICE_STATION, world["station_a"]),
        "nobody": f.UserFactory(),
    }


@pytest.fixture
def passage(cx):
    entrance = f.EntranceFactory(compound=cx, name="南门")
    camera = anpr_camera(cx, entrance=entrance)
    writer.write([anpr_event(camera, "辽H12345", confidence="55")])
    return Passage.objects.get()


@pytest.mark.parametrize(
    ("who", "slug", "status"),
    [
        ("manager", "residents", 200),
        ("police", "residents", 200),
        ("operator", "watch", 200),
        ("guard", "visitors", 200),
        ("guard", "residents", 404),
        ("other_manager", "residents", 404),
        ("nobody", "visitors", 404),
    ],
)
def test_list_scope(client, cx, people, who, slug, status):
    client.force_login(people[who])
    assert client.get(f"/vehicles/{cx.pk}/{slug}/").status_code == status


def test_anonymous_goes_to_login(client, cx):
    response = client.get(f"/vehicles/{cx.pk}/residents/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_list_search_pagination_and_audit(client, cx, people):
    for i in range(55):
        ResidentVehicleFactory(compound=cx, plate=f"辽H{i:05d}", owner_name="王" if i == 7 else "张")
    client.force_login(people["manager"])
    page = client.get(f"/vehicles/{cx.pk}/residents/").content.decode()
    assert "第 1–50 条，共 55 条" in page
    found = client.get(f"/vehicles/{cx.pk}/residents/", {"q": "王"}).content.decode()
    assert "辽H00007" in found and "辽H00008" not in found
    assert AuditEntry.objects.filter(action="view", object_type="vehicles.residents", compound=cx).count() == 2
    empty = client.get(f"/vehicles/{cx.pk}/residents/", {"q": "nobody"}).content.decode()
    assert "没有符合条件的记录" in empty


def test_status_filter(client, cx, people):
    VisitorPassFactory(compound=cx, plate="辽B00001")
    VisitorPassFactory(
        compound=cx,
        plate="辽B00002",
        valid_from=timezone.now() - dt.timedelta(days=2),
        valid_to=timezone.now() - dt.timedelta(days=1),
    )
    client.force_login(people["manager"])
    current = client.get(f"/vehicles/{cx.pk}/visitors/", {"status": "current"}).content.decode()
    ended = client.get(f"/vehicles/{cx.pk}/visitors/", {"status": "ended"}).content.decode()
    assert "辽B00001" in current and "辽B00002" not in current
    assert "辽B00002" in ended and "辽B00001" not in ended


def test_create_with_invalid_plate_shows_the_message(client, cx, people):
    client.force_login(people["manager"])
    response = client.post(
        f"/vehicles/{cx.pk}/residents/new/", {"plate": "辽H12", "owner_name": "张三", "valid_from": "2024-01-01"}
    )
    assert response.status_code == 400
    assert "车牌“辽H12”无效" in response.content.decode()
    assert not ResidentVehicle.objects.exists()


def test_guard_creates_a_visitor_pass(client, cx, people):
    client.force_login(people["guard"])
    response = client.post(
        f"/vehicles/{cx.pk}/visitors/new/",
        {
            "plate": "辽b·12345",
            "visitor_name": "访客",
            "issued_by": "guard",
            "valid_from": "2030-01-01T08:00",
            "valid_to": "2030-01-01T18:00",
            "kind": "single",
        },
    )
    assert response.status_code == 302, response.content.decode()
    visitor = VisitorPass.objects.get()
    assert visitor.plate == "辽B12345" and visitor.created_by == people["guard"]
    assert client.get(f"/vehicles/{cx.pk}/residents/new/").status_code == 404


def test_read_only_roles_cannot_edit(client, cx, people):
    entry = ResidentVehicleFactory(compound=cx)
    client.force_login(people["operator"])
    assert client.get(f"/vehicles/{cx.pk}/residents/new/").status_code == 403
    assert client.post(f"/vehicles/entries/residents/{entry.pk}/delete/").status_code == 403
    client.force_login(people["other_manager"])
    assert client.get(f"/vehicles/entries/residents/{entry.pk}/").status_code == 404
    client.force_login(people["manager"])
    assert client.post(f"/vehicles/entries/residents/{entry.pk}/delete/").status_code == 302
    assert not ResidentVehicle.objects.exists()


def test_passage_detail_is_audited_and_scoped(client, cx, people, passage):
    client.force_login(people["manager"])
    response = client.get(f"/vehicles/passages/{passage.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "辽H12345" in body
    assert f"/events/{passage.event_id}/pictures/0/" in body and f"/events/{passage.event_id}/pictures/1/" in body
    entry = AuditEntry.objects.get(object_type="vehicles.passage")
    assert entry.object_id == str(passage.pk) and entry.compound_id == cx.pk and entry.action == "view"
    client.force_login(people["other_manager"])
    assert client.get(f"/vehicles/passages/{passage.pk}/").status_code == 404
    client.force_login(people["guard"])
    assert client.get(f"/vehicles/passages/{passage.pk}/").status_code == 404


def test_passage_list_filters(client, cx, people, passage):
    client.force_login(people["manager"])
    assert "辽H12345" in client.get(f"/vehicles/{cx.pk}/passages/", {"q": "辽h"}).content.decode()
    assert "辽H12345" not in client.get(f"/vehicles/{cx.pk}/passages/", {"q": "京"}).content.decode()
    assert "辽H12345" in client.get(f"/vehicles/{cx.pk}/passages/", {"pending": "on"}).content.decode()
    assert client.get(f"/vehicles/{cx.pk}/passages/", {"day": "not-a-day"}).status_code == 200
    client.force_login(people["other_manager"])
    assert client.get(f"/vehicles/{cx.pk}/passages/").status_code == 404


def test_occupancy_page(client, cx, people, passage):
    client.force_login(people["police"])
    response = client.get(f"/vehicles/{cx.pk}/occupancy/")
    assert response.status_code == 200 and "访客超时未离场" in response.content.decode()
    client.force_login(people["guard"])
    assert client.get(f"/vehicles/{cx.pk}/occupancy/").status_code == 404


def test_console_panel_shows_reads_to_confirm(client, cx, people, passage):
    client.force_login(people["operator"])
    body = client.get(f"/vehicles/console/{cx.pk}/").content.decode()
    assert "待确认车牌" in body and "辽H12345" in body
    client.force_login(people["police"])
    assert client.get(f"/vehicles/console/{cx.pk}/").status_code == 404


def test_confirm_and_correct(client, cx, people, passage):
    client.force_login(people["operator"])
    response = client.post(f"/vehicles/passages/{passage.pk}/confirm/", {"plate": "辽H12346"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    passage.refresh_from_db()
    assert passage.confirmed_plate == "辽H12346" and not passage.needs_confirmation
    assert passage.confirmed_by == people["operator"] and passage.shown_plate == "辽H12346"
    bad = client.post(f"/vehicles/passages/{passage.pk}/confirm/", {"plate": "垃圾"}, HTTP_HX_REQUEST="true")
    assert "无效" in bad.content.decode()
    client.force_login(people["manager"])  # managers handle alarms too (HANDLE_ROLES)
    assert client.post(f"/vehicles/passages/{passage.pk}/confirm/", {"plate": "辽H12345"}).status_code == 302
    client.force_login(people["other_manager"])
    assert client.post(f"/vehicles/passages/{passage.pk}/confirm/", {"plate": "辽H12345"}).status_code == 404


def test_manual_open_needs_a_reason_and_is_logged(client, cx, people, passage):
    f.DutyRoomFactory(compound=cx)
    client.force_login(people["operator"])
    url = f"/vehicles/console/{cx.pk}/open/"
    refused = client.post(url, {"passage": passage.pk, "reason": ""}, HTTP_HX_REQUEST="true")
    assert "人工开闸必须填写原因" in refused.content.decode()
    assert not BarrierOpen.objects.exists()
    client.post(url, {"passage": passage.pk, "reason": "访客已电话核实"}, HTTP_HX_REQUEST="true")
    opened = BarrierOpen.objects.get()
    assert opened.passage_id == passage.pk and opened.plate == "辽H12345" and opened.entrance_id == passage.entrance_id
    assert opened.opened_by == people["operator"]
    log = LogEntry.objects.get(kind="manual")
    assert "访客已电话核实" in log.text and "南门" in log.text
    passage.refresh_from_db()
    assert (passage.decision, passage.decision_reason) == (c.Decision.ALLOW, c.DecisionReason.MANUAL)
    client.force_login(people["guard"])
    assert client.post(url, {"reason": "x" * 5}).status_code == 404


def test_manual_open_through_the_api(client, cx, people, passage):
    client.force_login(people["operator"])
    response = client.post(
        "/api/vehicles/barrier/open",
        {"entrance": passage.entrance_id, "reason": " ", "plate": "辽H12345"},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "reason"
    response = client.post(
        "/api/vehicles/barrier/open",
        {"entrance": passage.entrance_id, "reason": "消防车", "plate": ""},
        content_type="application/json",
    )
    assert response.status_code == 200 and BarrierOpen.objects.get().reason == "消防车"
    client.force_login(people["other_manager"])
    response = client.post(
        "/api/vehicles/barrier/open",
        {"entrance": passage.entrance_id, "reason": "x" * 3},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_index_lists_only_compounds_in_scope(client, world, people):
    client.force_login(people["manager"])
    body = client.get("/vehicles/").content.decode()
    assert world["cx"].name in body and world["cy"].name not in body


def test_console_page_embeds_the_panel(client, cx, people):
    client.force_login(people["operator"])
    body = client.get(f"/console/{cx.pk}/").content.decode()
    assert f"/vehicles/console/{cx.pk}/" in body


def test_console_panel_audits_what_it_shows_once(client, cx, people, passage):
    client.force_login(people["operator"])
    url = f"/vehicles/console/{cx.pk}/"
    client.get(url)
    client.get(url)
    assert AuditEntry.objects.filter(object_type="vehicles.console").count() == 1
    camera = passage.device
    writer.write([anpr_event(camera, "辽H54321", external_id="next")])
    client.get(url)
    assert AuditEntry.objects.filter(object_type="vehicles.console").count() == 2


def test_correcting_a_misread_to_a_watched_plate_raises_the_alarm(client, cx, people, passage):
    from anfang.alarms.models import Alarm
    from anfang.vehicles.barrier import WATCH_CACHE
    from tests.vehicles.factories import WatchEntryFactory

    WatchEntryFactory(compound=cx, plate="辽H12346", reason="协查")
    WATCH_CACHE.forget()
    client.force_login(people["operator"])
    client.post(f"/vehicles/passages/{passage.pk}/confirm/", {"plate": "辽H12346"})
    passage.refresh_from_db()
    assert passage.list_match == c.ListMatch.WATCH
    alarm = Alarm.objects.get(kind="watchlist_hit")
    assert alarm.subject.startswith("辽H12346") and alarm.link == f"/vehicles/passages/{passage.pk}/"
