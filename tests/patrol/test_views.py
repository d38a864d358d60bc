"""Patrol pages (Art 10, Art 6): who may manage and read what (both ways; another compound's objects
are 404), validation messages that name the field, empty states, the QR label sheet, the run page
with a missed checkpoint flagged, the report downloads (valid files, audited) and the phone page."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.audit.models import AuditEntry
from anfang.core.choices import Role
from anfang.patrol import services
from anfang.patrol.choices import RunStatus
from anfang.patrol.models import Checkpoint, PatrolRun, PatrolTeam, Plan, RouteCheckpoint
from tests import factories as f
from tests.patrol.factories import site

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(world):
    """Company X's manager and guard at 安居花园 (cx), company Y's at 乐家小区 (cy), police of station A."""
    manager_x = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr.x")
    manager_y = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_y"], username="mgr.y")
    guard_x = f.user_with(Role.GUARD, compound=world["cx"], username="guard.x")
    guard_y = f.user_with(Role.GUARD, compound=world["cy"], username="guard.y")
    police_a = f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="police.a")
    sx = site(compound=world["cx"], guard=guard_x, prefix="X")
    sy = site(compound=world["cy"], guard=guard_y, prefix="Y")
    return {
        **world,
        "mx": manager_x,
        "my": manager_y,
        "gx": guard_x,
        "gy": guard_y,
        "police": police_a,
        "sx": sx,
        "sy": sy,
    }


def login(client, user):
    client.force_login(user)
    return client


def walked_run(s, *, skip: int | None = 2, now: dt.datetime | None = None) -> tuple[PatrolRun, dt.datetime]:
    """A run whose window is around now, walked on the phone (one checkpoint skipped), then closed
    and evaluated by the patrol ticker."""
    now = now or timezone.now().replace(microsecond=0)
    run = s.run(now - dt.timedelta(minutes=30))
    items = [
        {
            "client_id": f"c-{run.pk}-{i}",
            "code": cp.code,
            "occurred_at": (now - dt.timedelta(minutes=25 - 6 * i)).isoformat(),
            "run_id": run.pk,
        }
        for i, cp in enumerate(s.checkpoints)
        if i != skip
    ]
    results = services.phone_checkins(s.guard, items, now=now)
    assert [r.status for r in results] == ["stored"] * len(items)
    closed_at = now + dt.timedelta(minutes=61)
    services.evaluate_due(now=closed_at)
    run.refresh_from_db()
    return run, closed_at


# --- permissions --------------------------------------------------------------------------------


MANAGE_PAGES = ["patrol:checkpoints", "patrol:checkpoint_new", "patrol:routes", "patrol:plans", "patrol:teams"]
READ_PAGES = ["patrol:runs", "patrol:calendar", "patrol:report"]


@pytest.mark.parametrize("name", MANAGE_PAGES + READ_PAGES)
def test_manager_opens_every_page(client, scene, name):
    assert login(client, scene["mx"]).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", MANAGE_PAGES + READ_PAGES)
def test_guard_is_refused_the_manager_pages(client, scene, name):
    assert login(client, scene["gx"]).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", MANAGE_PAGES)
def test_police_read_runs_but_do_not_manage(client, scene, name):
    login(client, scene["police"])
    assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("patrol:runs")).status_code == 200


def test_anonymous_is_sent_to_login(client, scene):
    response = client.get(reverse("patrol:mobile"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_index_sends_guards_to_the_phone_and_managers_to_the_runs(client, scene):
    assert login(client, scene["gx"]).get(reverse("patrol:index"))["Location"] == reverse("patrol:mobile")
    assert login(client, scene["mx"]).get(reverse("patrol:index"))["Location"] == reverse("patrol:runs")


def test_navigation_links_to_patrol(client, scene):
    page = login(client, scene["mx"]).get(reverse("compounds:list")).content.decode()
    assert f'href="{reverse("patrol:index")}"' in page and "电子巡查" in page


def test_another_companys_objects_are_404(client, scene):
    login(client, scene["mx"])
    sy = scene["sy"]
    run = sy.run(timezone.now() - dt.timedelta(hours=3))
    assert client.get(reverse("patrol:checkpoint_edit", args=[sy.checkpoints[0].pk])).status_code == 404
    assert client.get(reverse("patrol:route", args=[sy.route.pk])).status_code == 404
    assert client.get(reverse("patrol:route_edit", args=[sy.route.pk])).status_code == 404
    assert client.get(reverse("patrol:plan_edit", args=[sy.plan.pk])).status_code == 404
    assert client.get(reverse("patrol:run", args=[run.pk])).status_code == 404
    assert client.get(reverse("patrol:mobile_run", args=[run.pk])).status_code == 404


# --- checkpoints --------------------------------------------------------------------------------


def test_checkpoint_list_is_scoped_searchable_and_paginated(client, scene):
    login(client, scene["mx"])
    page = client.get(reverse("patrol:checkpoints")).content.decode()
    assert "X点1" in page and "Y点1" not in page
    page = client.get(reverse("patrol:checkpoints"), {"q": "X-3"}).content.decode()
    assert "X点3" in page and "X点1" not in page
    for i in range(30):
        Checkpoint.objects.create(compound=scene["cx"], name=f"东墙{i:02d}", code=f"E-{i:02d}")
    page = client.get(reverse("patrol:checkpoints"), {"page": 2}).content.decode()
    assert "第 26–34 条，共 34 条" in page


def test_checkpoint_filter_with_another_compound_is_ignored_not_widened(client, scene):
    login(client, scene["mx"])
    page = client.get(reverse("patrol:checkpoints"), {"compound": scene["cy"].pk}).content.decode()
    assert "部分筛选条件无效" in page and "Y点1" not in page and "X点1" in page


def test_checkpoint_empty_states(client, world):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    login(client, manager)
    assert "还没有巡查点。" in client.get(reverse("patrol:checkpoints")).content.decode()
    Checkpoint.objects.create(compound=world["cx"], name="南门", code="S-1")
    assert "没有符合条件的巡查点。" in client.get(reverse("patrol:checkpoints"), {"q": "北"}).content.decode()


def test_checkpoint_create_validates_and_normalises(client, scene):
    login(client, scene["mx"])
    url = reverse("patrol:checkpoint_new")
    response = client.post(url, {"compound": scene["cx"].pk, "tag_kind": "qr", "active": "on"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "请填写巡查点名称。" in page and "请填写标识码" in page

    response = client.post(url, {"compound": scene["cx"].pk, "name": "重复", "code": "X-1", "tag_kind": "qr"})
    assert response.status_code == 400 and "本小区已有使用该标识码的巡查点。" in response.content.decode()

    response = client.post(url, {"compound": scene["cy"].pk, "name": "越界", "code": "Z-1", "tag_kind": "qr"})
    assert response.status_code == 400 and "所选小区不在您的管理范围内。" in response.content.decode()

    response = client.post(
        url, {"compound": scene["cx"].pk, "name": "地库入口", "code": "04:a2:2b:9c", "tag_kind": "nfc", "active": "on"}
    )
    assert response.status_code == 302
    created = Checkpoint.objects.get(name="地库入口")
    assert created.code == "04A22B9C" and created.compound == scene["cx"]
    from anfang.core.models import ChangeRecord

    assert ChangeRecord.objects.filter(object_id=str(created.pk), action="create").exists()


def test_checkpoint_place_must_be_of_its_compound(client, scene):
    login(client, scene["mx"])
    other = f.BuildingFactory(compound=scene["cy"])
    response = client.post(
        reverse("patrol:checkpoint_new"),
        {"compound": scene["cx"].pk, "name": "楼前", "code": "B-1", "tag_kind": "qr", "building": other.pk},
    )
    assert response.status_code == 400 and "building" in response.context["form"].errors


def test_label_sheet_is_a_pdf_of_the_ticked_checkpoints(client, scene):
    login(client, scene["mx"])
    ids = [cp.pk for cp in scene["sx"].checkpoints]
    response = client.get(reverse("patrol:checkpoint_labels"), {"ids": ids})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "attachment" in response["Content-Disposition"]


def test_label_sheet_without_a_choice_or_of_another_compound_says_so(client, scene):
    login(client, scene["mx"])
    response = client.get(reverse("patrol:checkpoint_labels"), follow=True)
    assert "请先勾选要打印标签的巡查点。" in response.content.decode()
    response = client.get(reverse("patrol:checkpoint_labels"), {"ids": [scene["sy"].checkpoints[0].pk]}, follow=True)
    assert "没有可打印的标签" in response.content.decode()


def test_label_qr_encodes_the_code():
    from anfang.patrol.labels import Label

    uri = Label("X-1", "南门", "", "安居花园").qr
    assert uri.startswith("data:image/svg+xml")


# --- routes, plans, teams -----------------------------------------------------------------------


def stops_post(rows: list[tuple[str, object, str]], extra: dict | None = None) -> dict:
    data = {
        "stops-TOTAL_FORMS": str(len(rows)),
        "stops-INITIAL_FORMS": "0",
        "stops-MIN_NUM_FORMS": "0",
        "stops-MAX_NUM_FORMS": "1000",
    }
    for i, (pos, cp, minutes) in enumerate(rows):
        data[f"stops-{i}-position"] = pos
        data[f"stops-{i}-checkpoint"] = str(cp)
        data[f"stops-{i}-expected_minutes"] = minutes
    data.update(extra or {})
    return data


def test_route_editor_orders_stops_by_position(client, scene):
    login(client, scene["mx"])
    cps = scene["sx"].checkpoints
    url = reverse("patrol:route", args=[scene["sx"].route.pk])
    response = client.post(
        url, stops_post([("2", cps[0].pk, "4"), ("1", cps[2].pk, "0"), ("3", cps[1].pk, "7"), ("", "", "")])
    )
    assert response.status_code == 302
    stops = list(RouteCheckpoint.objects.filter(route=scene["sx"].route).order_by("position"))
    assert [(s.checkpoint_id, s.expected_minutes) for s in stops] == [(cps[2].pk, 0), (cps[0].pk, 4), (cps[1].pk, 7)]


def test_route_editor_rejects_duplicates_and_foreign_checkpoints(client, scene):
    login(client, scene["mx"])
    cps = scene["sx"].checkpoints
    url = reverse("patrol:route", args=[scene["sx"].route.pk])
    response = client.post(url, stops_post([("1", cps[0].pk, "0"), ("2", cps[0].pk, "5")]))
    assert response.status_code == 400 and "该巡查点已在第 1 行" in response.content.decode()
    response = client.post(url, stops_post([("1", scene["sy"].checkpoints[0].pk, "0")]))
    assert response.status_code == 400 and "所选巡查点不属于本路线所在小区。" in response.content.decode()
    response = client.post(url, stops_post([("1", cps[0].pk, "-3")]))
    assert response.status_code == 400 and "预计用时不能为负数。" in response.content.decode()
    assert RouteCheckpoint.objects.filter(route=scene["sx"].route).count() == 4  # unchanged


def test_route_form_min_max(client, scene):
    login(client, scene["mx"])
    response = client.post(
        reverse("patrol:route_new"),
        {"compound": scene["cx"].pk, "name": "外圈", "min_minutes": "30", "max_minutes": "10"},
    )
    assert response.status_code == 400 and "最长用时不能短于最短用时。" in response.content.decode()
    response = client.post(reverse("patrol:route_new"), {"compound": scene["cx"].pk, "name": "外圈", "ordered": "on"})
    assert response.status_code == 302


def plan_post(route, **kw) -> dict:
    data = {
        "route": route.pk,
        "name": "早巡",
        "start_times": "08:00, 20:30",
        "window_minutes": "60",
        "valid_from": "2026-01-01",
        "active": "on",
    }
    data.update(kw)
    return data


def test_plan_validation_messages(client, scene):
    login(client, scene["mx"])
    url = reverse("patrol:plan_new")
    route = scene["sx"].route
    page = client.post(url, plan_post(route, start_times="25:00", guard=scene["gx"].pk)).content.decode()
    assert "开始时间“25:00”不是 HH:MM 格式。" in page
    page = client.post(url, plan_post(route)).content.decode()
    assert "请指定巡查人员、巡防队伍或值班室之一。" in page
    page = client.post(url, plan_post(route, start_times="", guard=scene["gx"].pk)).content.decode()
    assert page.count("请至少填写一个开始时间。") == 1  # the form's check and the model's, said once
    assert 'type="checkbox" name="weekdays" value="0"' in page
    page = client.post(url, plan_post(route, guard=scene["gy"].pk)).content.decode()
    assert "所选人员不是这些小区的保安或巡防队员。" in page
    page = client.post(url, plan_post(scene["sy"].route, guard=scene["gx"].pk)).content.decode()
    assert "所选路线不在您的管理范围内。" in page


def test_plan_saved_generates_runs_for_today(client, scene):
    login(client, scene["mx"])
    response = client.post(
        reverse("patrol:plan_new"), plan_post(scene["sx"].route, guard=scene["gx"].pk, weekdays=[0, 1, 2, 3, 4, 5, 6])
    )
    assert response.status_code == 302
    plan = Plan.objects.get(name="早巡")
    assert plan.start_times == ["08:00", "20:30"] and plan.guard == scene["gx"]
    assert PatrolRun.objects.filter(plan=plan).count() == 4  # two windows on each of two days


def test_community_team_covers_several_compounds(client, scene, world):
    """Art 6: the community's full-time patrol team serves the unmanaged compounds under it."""
    community_manager = f.user_with(Role.COMMUNITY_MANAGER, organisation=world["street"])
    cu2 = f.CompoundFactory(
        name="新村", police_station=world["station_a"], property_company=None, community=world["community"]
    )
    member = f.user_with(Role.GUARD, organisation=world["community"], username="xunfang.1")
    login(client, community_manager)
    url = reverse("patrol:team_new")
    page = client.post(url, {"name": "", "organisation": world["community"].pk}).content.decode()
    assert "请填写队伍名称。" in page
    page = client.post(url, {"name": "青年社区巡防队", "organisation": world["company_x"].pk}).content.decode()
    assert "所选单位不在您的管理范围内。" in page
    response = client.post(
        url,
        {
            "name": "青年社区巡防队",
            "organisation": world["community"].pk,
            "compounds": [world["cu"].pk, cu2.pk],
            "members": [member.pk],
            "active": "on",
        },
    )
    assert response.status_code == 302
    team = PatrolTeam.objects.get(name="青年社区巡防队")
    assert set(team.compounds.all()) == {world["cu"], cu2} and list(team.members.all()) == [member]
    page = client.get(reverse("patrol:teams")).content.decode()
    assert "青年社区巡防队" in page and "老街小区" in page and "新村" in page


def test_team_of_another_organisation_is_404_to_edit(client, scene, world):
    team = PatrolTeam.objects.create(name="乐家保安队", organisation=world["company_y"])
    login(client, scene["mx"])
    assert client.get(reverse("patrol:team_edit", args=[team.pk])).status_code == 404


# --- runs ---------------------------------------------------------------------------------------


def test_run_page_flags_the_missed_checkpoint(client, scene):
    run, _closed = walked_run(scene["sx"], skip=2)
    assert run.status == RunStatus.INCOMPLETE and run.missed_checkpoints == [scene["sx"].checkpoints[2].pk]
    login(client, scene["mx"])
    response = client.get(reverse("patrol:run", args=[run.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "漏检 1 个巡查点：" in page and "X点3" in page
    assert f'data-checkpoint="{scene["sx"].checkpoints[2].pk}" data-state="missed"' in page
    assert page.count('data-state="read"') == 3


def test_run_list_filters(client, scene):
    run, _ = walked_run(scene["sx"], skip=2)
    other = scene["sx"].run(timezone.now() - dt.timedelta(days=3))
    login(client, scene["mx"])
    url = reverse("patrol:runs")
    rows = client.get(url, {"status": RunStatus.INCOMPLETE}).context["page"].object_list
    assert [r.pk for r in rows] == [run.pk]
    rows = client.get(url, {"flagged": "missed"}).context["page"].object_list
    assert [r.pk for r in rows] == [run.pk]
    day = other.day.isoformat()
    rows = client.get(url, {"since": day, "until": day}).context["page"].object_list
    assert [r.pk for r in rows] == [other.pk]
    response = client.get(url, {"since": "2026-05-02", "until": "2026-05-01"})
    assert "结束日期不能早于开始日期。" in response.content.decode()
    assert (
        "没有符合条件的巡查记录。"
        in client.get(url, {"guard": scene["gx"].pk, "since": "2020-01-01", "until": "2020-01-02"}).content.decode()
    )


def test_run_list_empty_state(client, world):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    assert "还没有巡查记录。" in login(client, manager).get(reverse("patrol:runs")).content.decode()


def test_police_of_another_station_do_not_see_the_run(client, scene, world):
    run, _ = walked_run(scene["sx"])
    police_b = f.user_with(Role.POLICE_STATION, organisation=world["station_b"])
    assert login(client, police_b).get(reverse("patrol:run", args=[run.pk])).status_code == 404
    assert login(client, scene["police"]).get(reverse("patrol:run", args=[run.pk])).status_code == 200


def test_exception_photo_is_served_through_the_audit(client, scene, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buf, format="JPEG")
    sx = scene["sx"]
    run = sx.run(timezone.now() - dt.timedelta(minutes=10))
    services.start_run(run, sx.guard)
    exc = services.record_exception(
        sx.guard,
        compound=sx.compound,
        kind="facility",
        at=timezone.now(),
        note="3号楼门禁损坏",
        run=run,
        photo=buf.getvalue(),
    )
    login(client, scene["mx"])
    page = client.get(reverse("patrol:run", args=[run.pk])).content.decode()
    assert "3号楼门禁损坏" in page and "设施损坏" in page
    before = AuditEntry.objects.count()
    response = client.get(reverse("patrol:run_photo", args=[run.pk, "exception", exc.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert AuditEntry.objects.count() == before + 1
    assert client.get(reverse("patrol:run_photo", args=[run.pk, "checkin", 999999])).status_code == 404
    assert client.get(reverse("patrol:run_photo", args=[run.pk, "other", exc.pk])).status_code == 404


# --- calendar -----------------------------------------------------------------------------------


def test_calendar_colours_runs_by_result(client, scene):
    run, _ = walked_run(scene["sx"], skip=2)
    login(client, scene["mx"])
    response = client.get(reverse("patrol:calendar"), {"month": run.day.strftime("%Y-%m")})
    page = response.content.decode()
    assert f'class="chip run-incomplete" href="{reverse("patrol:run", args=[run.pk])}"' in page
    assert f'data-day="{run.day.isoformat()}"' in page
    assert "月份格式应为 YYYY-MM。" in client.get(reverse("patrol:calendar"), {"month": "2026/13"}).content.decode()


# --- phone page ---------------------------------------------------------------------------------


def test_guard_picks_a_running_patrol_and_sees_progress(client, scene):
    sx = scene["sx"]
    run = sx.run(timezone.now() - dt.timedelta(minutes=5), guard=None)
    login(client, scene["gx"])
    page = client.get(reverse("patrol:mobile")).content.decode()
    assert sx.route.name in page and reverse("patrol:mobile_start", args=[run.pk]) in page
    response = client.post(reverse("patrol:mobile_start", args=[run.pk]))
    assert response["Location"] == reverse("patrol:mobile_run", args=[run.pk])
    run.refresh_from_db()
    assert run.guard == scene["gx"]
    page = client.get(reverse("patrol:mobile_run", args=[run.pk])).content.decode()
    assert 'id="patrol-mobile"' in page and 'data-checkin-url="/api/patrol/checkins"' in page
    services.phone_checkins(
        scene["gx"], [{"client_id": "u1", "code": "X-1", "occurred_at": timezone.now().isoformat(), "run_id": run.pk}]
    )
    progress = json.loads(client.get(reverse("patrol:mobile_progress", args=[run.pk])).content)
    assert progress["done"] == 1 and progress["total"] == 4 and str(sx.checkpoints[0].pk) in progress["read"]


def test_phone_page_of_someone_elses_run_is_404(client, scene):
    run = scene["sx"].run(timezone.now() - dt.timedelta(minutes=5))  # assigned to guard.x
    other = f.user_with(Role.GUARD, compound=scene["cx"], username="guard.x2")
    login(client, other)
    assert client.get(reverse("patrol:mobile_run", args=[run.pk])).status_code == 404
    assert client.post(reverse("patrol:mobile_start", args=[run.pk])).status_code == 404
    assert client.get(reverse("patrol:mobile_progress", args=[run.pk])).status_code == 404


def test_phone_page_without_running_patrols(client, scene):
    page = login(client, scene["gy"]).get(reverse("patrol:mobile")).content.decode()
    assert "现在没有可执行的巡查。" in page
