"""Audit browsing: scope both ways, filters, pagination, the audited CSV/Excel export, chain status;
the event picture view writes its audit entry."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from anfang.audit.choices import AuditAction
from anfang.audit.decorators import audited, note
from anfang.audit.models import AuditEntry
from anfang.audit.services import record, verify_and_log
from anfang.events.media import save_picture
from tests import factories as f

from .test_exports import JPEG


@pytest.fixture
def entries(world, people):
    """One entry per compound and one without a compound, by different people."""
    return {
        "x": record(
            people["pm_x"], AuditAction.VIEW, "vehicles.passage", 1, compound_id=world["cx"].pk, purpose="核对 X"
        ),
        "y": record(
            people["pm_y"], AuditAction.VIEW, "vehicles.passage", 2, compound_id=world["cy"].pk, purpose="核对 Y"
        ),
        "u": record(
            people["police_a"], AuditAction.SEARCH, "vehicles.search", compound_id=world["cu"].pk, purpose="案件 U"
        ),
        "none_a": record(people["police_a"], AuditAction.SEARCH, "vehicles.search", purpose="跨小区查询 A"),
        "none_b": record(people["police_b"], AuditAction.SEARCH, "vehicles.search", purpose="跨小区查询 B"),
    }


def seqs(response) -> set[int]:
    return {e.seq for e in response.context["page"].object_list}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("pm_x", {"x"}),
        ("pm_y", {"y"}),
        ("police_a", {"x", "u", "none_a"}),
        ("police_b", {"y", "none_b"}),
        ("admin", {"x", "y", "u", "none_a", "none_b"}),
    ],
)
def test_browsing_is_scoped(client, people, entries, who, sees):
    client.force_login(people[who])
    response = client.get("/audit/")
    assert response.status_code == 200
    assert seqs(response) == {entries[k].seq for k in sees}


def test_roles_without_audit_access_are_refused(client, people, entries):
    client.force_login(people["guard_x"])
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/?format=csv").status_code == 403
    client.logout()
    assert client.get("/audit/").status_code == 302


def test_filter_on_a_compound_out_of_scope_is_refused_not_widened(client, people, entries, world):
    client.force_login(people["pm_x"])
    response = client.get("/audit/", {"compound": world["cy"].pk})
    assert response.status_code == 200 and "compound" in response.context["form"].errors
    assert seqs(response) == {entries["x"].seq}


def test_filters(client, people, entries, world):
    client.force_login(people["admin"])
    assert seqs(client.get("/audit/", {"actor": "police"})) == {entries[k].seq for k in ("u", "none_a", "none_b")}
    assert seqs(client.get("/audit/", {"action": "search", "purpose": "跨小区"})) == {
        entries["none_a"].seq,
        entries["none_b"].seq,
    }
    assert seqs(client.get("/audit/", {"object_type": "vehicles.passage"})) == {entries["x"].seq, entries["y"].seq}
    assert seqs(client.get("/audit/", {"compound": world["cu"].pk})) == {entries["u"].seq}
    today = timezone.localdate()
    assert len(seqs(client.get("/audit/", {"date_from": today, "date_to": today}))) == 5
    assert seqs(client.get("/audit/", {"date_to": today - dt.timedelta(days=1)})) == set()
    bad = client.get("/audit/", {"date_from": today, "date_to": today - dt.timedelta(days=2)})
    assert "date_to" in bad.context["form"].errors and len(seqs(bad)) == 5


def test_pagination(client, people, world):
    for i in range(55):
        record(people["pm_x"], AuditAction.VIEW, "events.picture", i, compound_id=world["cx"].pk)
    client.force_login(people["pm_x"])
    first, second = client.get("/audit/"), client.get("/audit/", {"page": 2})
    assert len(first.context["page"].object_list) == 50 and len(second.context["page"].object_list) == 5
    assert max(seqs(second)) < min(seqs(first))


def test_csv_export_is_scoped_watermarked_and_audited(client, people, entries):
    client.force_login(people["police_b"])
    response = client.get("/audit/", {"format": "csv", "action": "search"})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert "police-b" in lines[0][0] and "police-b" in lines[-1][0]
    assert lines[1][0] == "序号" and [int(row[0]) for row in lines[2:-1]] == [entries["none_b"].seq]
    export = AuditEntry.objects.order_by("-seq").first()
    assert (export.action, export.object_type, export.actor_name) == ("export", "audit.entry", "police-b")
    assert export.detail["rows"] == 1 and export.detail["filters"] == {"action": "search"}


def test_excel_export(client, people, entries):
    client.force_login(people["pm_x"])
    response = client.get("/audit/", {"format": "xlsx"})
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert "pm-x" in sheet["A1"].value and sheet["A2"].value == "序号"
    assert [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)] == [entries["x"].seq]
    assert AuditEntry.objects.filter(action="export", object_type="audit.entry").count() == 1


def test_chain_status_is_shown_and_admin_can_verify(client, people, entries):
    client.force_login(people["pm_x"])
    assert "尚未校验" in client.get("/audit/").content.decode()
    assert client.post("/audit/verify/").status_code == 403
    client.force_login(people["admin"])
    assert client.post("/audit/verify/").status_code == 302
    assert "审计链完整" in client.get("/audit/").content.decode()
    AuditEntry.objects.filter(seq=entries["y"].seq).update(purpose="改")
    verify_and_log()
    client.force_login(people["pm_x"])
    page = client.get("/audit/").content.decode()
    assert "审计链有断点" in page and f"序号 {entries['y'].seq}" in page and "内容被篡改" in page


def test_nav_link_for_auditors_only(client, people):
    client.force_login(people["pm_x"])
    assert 'href="/audit/" class="active">访问审计</a>' in client.get("/audit/exports/").content.decode()
    client.force_login(people["guard_x"])
    assert "访问审计</a>" not in client.get("/audit/exports/").content.decode()


@pytest.fixture
def picture_event(world, settings, tmp_path):
    from anfang.events.models import Event

    settings.MEDIA_ROOT = tmp_path / "media"
    device = f.DeviceFactory(compound=world["cx"])
    now = timezone.now()
    return Event.objects.create(
        device_id=device.pk,
        compound_id=world["cx"].pk,
        kind="anpr_passage",
        occurred_at=now,
        received_at=now,
        source="api",
        media=[save_picture(JPEG, name="plate.jpg")],
    )


def test_event_picture_view_is_audited(client, people, picture_event):
    client.force_login(people["pm_x"])
    response = client.get(f"/events/{picture_event.pk}/pictures/0/", {"purpose": "核对车牌"})
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    entry = AuditEntry.objects.get()
    assert (entry.actor_name, entry.action, entry.object_type, entry.object_id) == (
        "pm-x",
        "view",
        "events.picture",
        str(picture_event.pk),
    )
    assert entry.compound_id == picture_event.compound_id and entry.purpose == "核对车牌"
    assert entry.detail == {"index": 0, "sha256": picture_event.media[0]["sha256"]}


def test_event_picture_out_of_scope_is_404_and_not_audited(client, people, picture_event):
    client.force_login(people["pm_y"])
    assert client.get(f"/events/{picture_event.pk}/pictures/0/").status_code == 404
    assert client.get(f"/events/{picture_event.pk}/pictures/5/").status_code == 404
    assert not AuditEntry.objects.exists()


def test_audited_decorator_object_id_callable_and_note(rf, people):
    @audited(AuditAction.SEARCH, "patrol.report", object_id=lambda request, kwargs: f"{kwargs['a']}-{kwargs['b']}")
    def view(request, a, b):
        from django.http import HttpResponse

        note(request, detail={"rows": 3})
        note(request, compound_id=None, detail={"more": True})
        return HttpResponse("ok")

    request = rf.get("/x", {"purpose": "月报"})
    request.user = people["pm_x"]
    view(request, a=1, b=2)
    entry = AuditEntry.objects.get()
    assert entry.object_id == "1-2" and entry.detail == {"rows": 3, "more": True} and entry.purpose == "月报"
