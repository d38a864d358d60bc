"""Duty pages (Art 16): who sees which compound's roster, log, coverage and records (both ways),
planning shifts with per-field messages, sign-on / sign-off with the handover note, the log's
filters and paging, the coverage page and the daily record page and PDF."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.core.choices import Role
from anfang.duty import services as s
from anfang.duty.coverage import LOCAL
from anfang.duty.models import DailyRecord, DutySession, LogEntry, Shift
from anfang.duty.records import local_today
from tests import factories as f

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 24)


def at(hour: float, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL) + dt.timedelta(hours=hour)


@pytest.fixture
def site(world):
    room_x = f.DutyRoomFactory(compound=world["cx"], name="东门值班室")
    room_y = f.DutyRoomFactory(compound=world["cy"], name="乐家值班室")
    people = {
        "op1": f.user_with(Role.DUTY_OPERATOR, compound=world["cx"], username="zhang.yi"),
        "op2": f.user_with(Role.DUTY_OPERATOR, compound=world["cx"], username="wang.er"),
        "op_y": f.user_with(Role.DUTY_OPERATOR, compound=world["cy"], username="li.y"),
        "manager_x": f.user_with(Role.PROPERTY_MANAGER, world["company_x"], username="manager.x"),
        "police_a": f.user_with(Role.POLICE_STATION, world["station_a"], username="police.a"),
        "guard_x": f.user_with(Role.GUARD, compound=world["cx"], username="guard.x"),
    }
    return {**world, **people, "room_x": room_x, "room_y": room_y}


def pages(compound_id: int) -> list[str]:
    day = DAY.isoformat()
    return [
        reverse("duty:compound", args=[compound_id]),
        reverse("duty:roster", args=[compound_id]),
        reverse("duty:log", args=[compound_id]),
        reverse("duty:coverage", args=[compound_id]),
        reverse("duty:records", args=[compound_id]),
        reverse("duty:record", args=[compound_id, day]),
    ]


def test_duty_staff_see_their_compound_and_nothing_of_another(client, site):
    client.force_login(site["op1"])
    for url in pages(site["cx"].pk):
        assert client.get(url).status_code == 200, url
    for url in [*pages(site["cy"].pk), reverse("duty:record_pdf", args=[site["cy"].pk, DAY.isoformat()])]:
        assert client.get(url).status_code == 404, url
    client.force_login(site["op_y"])
    for url in pages(site["cx"].pk):
        assert client.get(url).status_code == 404, url


def test_police_read_their_jurisdiction_but_change_nothing(client, site):
    client.force_login(site["police_a"])  # station A: cx and cu, not cy
    for url in pages(site["cx"].pk):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("duty:log", args=[site["cy"].pk])).status_code == 404
    assert client.post(reverse("duty:sign_on", args=[site["cx"].pk]), {"room": site["room_x"].pk}).status_code == 404
    assert client.post(reverse("duty:log", args=[site["cx"].pk]), {"text": "x"}).status_code == 403
    assert client.post(reverse("duty:roster", args=[site["cx"].pk]), {}).status_code == 403
    assert client.post(reverse("duty:record_keep", args=[site["cx"].pk, DAY.isoformat()])).status_code == 403
    assert not LogEntry.objects.exists() and not DailyRecord.objects.exists()


def test_a_guard_has_no_duty_pages(client, site):
    client.force_login(site["guard_x"])
    assert client.get(reverse("duty:log", args=[site["cx"].pk])).status_code == 404
    assert f'href="{reverse("duty:index")}"' not in client.get(reverse("compounds:list")).content.decode()


def test_navigation_offers_duty_to_staff_and_police_alarms_to_police_only(client, site):
    client.force_login(site["manager_x"])
    html = client.get(reverse("compounds:list")).content.decode()
    assert f'href="{reverse("duty:index")}"' in html and reverse("police_alarms:dashboard") not in html
    client.force_login(site["police_a"])
    html = client.get(reverse("compounds:list")).content.decode()
    assert reverse("police_alarms:dashboard") in html


def test_an_operator_of_one_compound_lands_on_it(client, site):
    client.force_login(site["op1"])
    response = client.get(reverse("duty:index"))
    assert response.status_code == 302 and response.url == reverse("duty:compound", args=[site["cx"].pk])


# --- roster ---------------------------------------------------------------------------------------


def plan(client, site, **overrides):
    data = {
        "duty_room": site["room_x"].pk,
        "operator": site["op1"].pk,
        "starts_at": "2026-12-01T08:00",
        "ends_at": "2026-12-01T20:00",
        "note": "白班",
    }
    data.update(overrides)
    return client.post(reverse("duty:roster", args=[site["cx"].pk]), data)


def test_only_managers_plan_shifts(client, site):
    client.force_login(site["op1"])
    assert "新增排班" not in client.get(reverse("duty:roster", args=[site["cx"].pk])).content.decode()
    assert plan(client, site).status_code == 403
    client.force_login(site["manager_x"])
    response = plan(client, site)
    assert response.status_code == 302 and response.url.endswith("?week=2026-11-30")
    shift = Shift.objects.get()
    assert (shift.operator, shift.starts_at, shift.ends_at) == (
        site["op1"],
        at(8, dt.date(2026, 12, 1)),
        at(20, dt.date(2026, 12, 1)),
    )
    week = client.get(response.url).content.decode()
    assert "zhang.yi" in week and "12-01 08:00" in week


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ends_at": "2026-12-01T07:00"}, "ends_at", "结束时间必须晚于开始时间。"),
        ({"ends_at": "2026-12-02T09:00"}, "ends_at", "一个班次不能超过 24 小时。"),
        ({"starts_at": "明天早上"}, "starts_at", ""),
        ({"operator": "op_y"}, "operator", "所选人员不是本小区的值班员。"),
        ({"starts_at": "2026-12-01T19:00", "ends_at": "2026-12-02T07:00"}, "starts_at", "该值班员在此时段已有班次。"),
    ],
)
def test_planning_mistakes_are_shown_on_their_field(client, site, overrides, field, message):
    client.force_login(site["manager_x"])
    assert plan(client, site).status_code == 302  # 08:00–20:00 on 12-01
    if overrides.get("operator") == "op_y":
        overrides["operator"] = site["op_y"].pk
    response = plan(client, site, **overrides)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and (not message or message in errors[field])
    assert Shift.objects.count() == 1


def test_the_week_shows_planned_holes(client, site):
    Shift.objects.create(duty_room=site["room_x"], operator=site["op1"], starts_at=at(8), ends_at=at(20))
    client.force_login(site["op1"])
    response = client.get(reverse("duty:roster", args=[site["cx"].pk]), {"week": DAY.isoformat()})
    room, week = response.context["rows"][0]
    tuesday = next(d for d in week if d.day == DAY)
    assert room == site["room_x"] and tuesday.unplanned_minutes == 12 * 60
    assert [b.label for b in tuesday.planned] == ["zhang.yi"]
    assert client.get(reverse("duty:roster", args=[site["cx"].pk]), {"week": "第48周"}).status_code == 404


# --- sign on / off --------------------------------------------------------------------------------


def test_sign_on_sign_off_and_the_next_operator_sees_the_handover_note(client, site):
    client.force_login(site["op1"])
    client.post(reverse("duty:sign_on", args=[site["cx"].pk]), {"room": site["room_x"].pk})
    session = DutySession.objects.get(operator=site["op1"], signed_off_at=None)
    url = reverse("duty:sign_off", args=[session.pk])
    refused = client.post(url, {"handover_note": "   "})
    assert refused.status_code == 400 and "请填写交接班说明。" in refused.content.decode()
    response = client.post(url, {"handover_note": "东门道闸抬杆慢，已报修"})
    assert response.status_code == 302
    client.force_login(site["op2"])
    html = client.get(reverse("duty:compound", args=[site["cx"].pk])).content.decode()
    note = html[html.index('class="handover"') :]
    assert "上一班交接班说明" in note and "东门道闸抬杆慢，已报修" in note and "zhang.yi" in note
    kinds = list(LogEntry.objects.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["sign_on", "handover", "sign_off"]


def test_signing_on_twice_is_refused_with_a_message(client, site):
    client.force_login(site["op1"])
    url = reverse("duty:sign_on", args=[site["cx"].pk])
    client.post(url, {"room": site["room_x"].pk})
    response = client.post(url, {"room": site["room_x"].pk}, follow=True)
    assert "已在 东门值班室 在岗" in response.content.decode()
    assert DutySession.objects.count() == 1
    assert client.post(url, {"room": site["room_y"].pk}).status_code == 404  # not a room of this compound


def test_only_the_person_on_duty_signs_off(client, site):
    session = s.sign_on(site["op1"], site["room_x"])
    client.force_login(site["op2"])
    assert client.get(reverse("duty:sign_off", args=[session.pk])).status_code == 404
    assert client.post(reverse("duty:sign_off", args=[session.pk]), {"handover_note": "x"}).status_code == 404
    assert DutySession.objects.get().signed_off_at is None


# --- duty log -------------------------------------------------------------------------------------


def test_log_filters_by_day_and_kind_and_pages(client, site):
    room = site["room_x"]
    for i in range(60):
        s.log(room, "manual", f"巡查记录{i}", at=at(i * 0.5))  # 30 hours: DAY and the day after
    s.log(room, "alarm", "报警 #1 周界入侵：报警产生", at=at(3))
    s.log(site["room_y"], "manual", "乐家的记录", at=at(3))
    client.force_login(site["op1"])
    url = reverse("duty:log", args=[site["cx"].pk])
    first = client.get(url)
    assert first.context["page"].paginator.count == 61 and "乐家的记录" not in first.content.decode()
    assert len(client.get(url, {"page": 2}).context["page"].object_list) == 11
    assert client.get(url, {"day": DAY.isoformat()}).context["page"].paginator.count == 49  # 48 notes + the alarm
    alarms = client.get(url, {"kind": "alarm"}).context["page"].object_list
    assert [e.text for e in alarms] == ["报警 #1 周界入侵：报警产生"]
    bad = client.get(url, {"day": "yesterday"})
    assert bad.status_code == 200 and bad.context["page"].paginator.count == 61
    assert "部分筛选条件无效" in bad.content.decode()


def test_a_manual_entry_is_written_with_its_author(client, site):
    client.force_login(site["op1"])
    url = reverse("duty:log", args=[site["cx"].pk])
    assert client.post(url, {"duty_room": site["room_x"].pk, "text": "  "}).status_code == 400
    assert client.post(url, {"duty_room": site["room_x"].pk, "text": "22:10 巡查北门，正常"}).status_code == 302
    entry = LogEntry.objects.get()
    assert (entry.kind, entry.author, entry.text) == ("manual", site["op1"], "22:10 巡查北门，正常")
    assert client.post(url, {"duty_room": site["room_y"].pk, "text": "x"}).status_code == 400  # B's room


# --- coverage and records -------------------------------------------------------------------------


def test_coverage_page_lists_every_gap_and_fourteen_days(client, site):
    first = s.sign_on(site["op1"], site["room_x"], now=at(-4))
    s.sign_off(site["op1"], first, "无异常", now=at(8))
    second = s.sign_on(site["op2"], site["room_x"], now=at(8.5))
    s.sign_off(site["op2"], second, "无异常", now=at(20))
    client.force_login(site["op1"])
    response = client.get(reverse("duty:coverage", args=[site["cx"].pk]), {"day": DAY.isoformat()})
    assert response.context["combined"].unstaffed_minutes == 30 + 4 * 60
    gaps = [(b.local_start.strftime("%H:%M"), b.minutes) for _room, b, _ongoing in response.context["gap_rows"]]
    assert gaps == [("08:00", 30), ("20:00", 240)]
    bars = response.context["bars"]
    assert len(bars) == 14 and bars[-1].day == DAY and bars[-1].minutes == 270 and bars[-2].minutes == 20 * 60
    html = response.content.decode()
    assert "24:00" in html and "4 小时 30 分" in html
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    assert client.get(reverse("duty:coverage", args=[site["cx"].pk]), {"day": tomorrow}).status_code == 404


def test_record_page_and_keeping_it(client, site):
    client.force_login(site["op1"])
    url = reverse("duty:record", args=[site["cx"].pk, DAY.isoformat()])
    assert "未存档" in client.get(url).content.decode()
    response = client.post(reverse("duty:record_keep", args=[site["cx"].pk, DAY.isoformat()]), follow=True)
    assert "已存档并定稿" in response.content.decode()
    record = DailyRecord.objects.get()
    assert record.final and record.day == DAY and record.compound == site["cx"]
    assert "已定稿" in client.get(url).content.decode()
    again = client.post(reverse("duty:record_keep", args=[site["cx"].pk, DAY.isoformat()]), follow=True)
    assert "已定稿，不再改变" in again.content.decode()
    listing = client.get(reverse("duty:records", args=[site["cx"].pk])).content.decode()
    assert DAY.isoformat() in listing


def test_todays_record_is_provisional_and_a_future_day_is_not_found(client, site):
    client.force_login(site["op1"])
    today = timezone.localtime(timezone.now(), LOCAL).date()
    html = client.get(reverse("duty:record_today", args=[site["cx"].pk]), follow=True).content.decode()
    assert "当日尚未结束" in html
    client.post(reverse("duty:record_keep", args=[site["cx"].pk, today.isoformat()]))
    assert not DailyRecord.objects.get().final
    future = (today + dt.timedelta(days=1)).isoformat()
    assert client.get(reverse("duty:record", args=[site["cx"].pk, future])).status_code == 404
    assert client.get(reverse("duty:record", args=[site["cx"].pk, "2026-13-01"])).status_code == 404
