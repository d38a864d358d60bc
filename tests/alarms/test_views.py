"""Alarm pages and step forms (issue 6 §2–3): who may see and act, each step through the web,
refusals shown plainly in the panel, and a guard's own dispatches."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.alarms import choices as c
from anfang.alarms import services as s
from anfang.alarms.models import Alarm, PoliceReport
from anfang.core.choices import Role
from anfang.duty.models import LogEntry
from anfang.events import choices as ec
from anfang.events.media import save_picture
from tests import factories as f
from tests.console.test_views import ingest

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fresh_rules(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    s.forget_rules()


@pytest.fixture
def site(world):
    cx = world["cx"]
    f.DutyRoomFactory(compound=cx, name="监控中心")
    detector = f.DeviceFactory(compound=cx, name="东侧周界探测器")
    operator = f.user_with(Role.DUTY_OPERATOR, compound=cx, username="wang.duty")
    second = f.user_with(Role.DUTY_OPERATOR, compound=cx, username="li.duty")
    second.first_name = "李值班"
    second.save()
    guard = f.user_with(Role.GUARD, compound=cx, username="zhang.guard")
    guard.first_name = "张保安"
    guard.save()
    other_guard = f.user_with(Role.GUARD, compound=world["cy"], username="chen.guard")
    outsider = f.user_with(Role.DUTY_OPERATOR, compound=world["cy"], username="yang.duty")
    ingest(detector)
    return {
        **world,
        "detector": detector,
        "operator": operator,
        "second": second,
        "guard": guard,
        "other_guard": other_guard,
        "outsider": outsider,
        "alarm": Alarm.objects.get(),
    }


def url(name, alarm):
    return reverse(f"alarms:{name}", args=[alarm.pk])


def test_detail_is_shown_to_handlers_and_hidden_from_others(client, site):
    alarm = site["alarm"]
    for who in ("outsider", "guard", "other_guard"):
        client.force_login(site[who])
        assert client.get(url("detail", alarm)).status_code == 404, who
    client.force_login(site["operator"])
    page = client.get(url("detail", alarm))
    assert page.status_code == 200
    html = page.content.decode()
    assert "周界入侵" in html and "确认报警" in html and "报警产生" in html
    fragment = client.get(url("detail", alarm), **HTMX).content.decode()
    assert fragment.startswith('<div class="alarm-panel') or "<!DOCTYPE" not in fragment


def test_acknowledge_through_the_panel(client, site):
    alarm = site["alarm"]
    client.force_login(site["operator"])
    response = client.post(url("acknowledge", alarm), **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "alarm-changed"
    html = response.content.decode()
    assert "已确认报警" in html and "派警" in html and "关闭报警" in html and "确认报警</button>" not in html
    alarm.refresh_from_db()
    assert alarm.status == c.Status.ACKNOWLEDGED and alarm.acknowledged_by == site["operator"]
    assert LogEntry.objects.filter(alarm=alarm, text__contains="确认").exists()


def test_the_second_operator_is_told_who_acknowledged_and_when(client, site):
    alarm = site["alarm"]
    s.acknowledge(site["second"], alarm)
    client.force_login(site["operator"])
    response = client.post(url("acknowledge", alarm), **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    at = timezone.localtime(Alarm.objects.get().acknowledged_at).strftime("%H:%M:%S")
    assert f"该报警已由 李值班 于 {at} 确认。" in html
    assert 'class="ap-msg ap-error"' in html and "已确认" in html


def test_steps_out_of_order_are_refused_with_the_reason(client, site):
    alarm = site["alarm"]
    client.force_login(site["operator"])
    response = client.post(url("close", alarm), {"cause": c.CloseCause.TEST, "note": "测试"}, **HTMX)
    assert response.status_code == 409
    assert "报警当前状态为“待确认”，不能执行“已关闭”。" in response.content.decode()
    response = client.post(url("report", alarm), {"means": "phone_110", "reported_at": "2025-01-01T10:00"}, **HTMX)
    assert response.status_code == 400  # before the alarm was raised
    assert Alarm.objects.get().status == c.Status.NEW


def test_dispatch_needs_a_guard_of_the_compound(client, site):
    alarm = s.acknowledge(site["operator"], site["alarm"])
    client.force_login(site["operator"])
    panel = client.get(url("detail", alarm), **HTMX).content.decode()
    assert "张保安" in panel and "chen.guard" not in panel  # only this compound's guards are offered
    missing = client.post(url("dispatch", alarm), {"guard": ""}, **HTMX)
    assert missing.status_code == 400 and "请选择派往的保安/巡防队员。" in missing.content.decode()
    foreign = client.post(url("dispatch", alarm), {"guard": site["other_guard"].pk}, **HTMX)
    assert foreign.status_code == 400 and "所选人员不是本小区的保安/巡防队员。" in foreign.content.decode()
    ok = client.post(url("dispatch", alarm), {"guard": site["guard"].pk, "note": "东墙"}, **HTMX)
    assert ok.status_code == 200 and "已派 张保安 前往现场。" in ok.content.decode()
    alarm.refresh_from_db()
    assert (alarm.status, alarm.dispatched_to) == (c.Status.DISPATCHED, site["guard"])


def test_a_guard_organisation_grant_counts(client, site):
    company_guard = f.user_with(Role.GUARD, organisation=site["company_x"], username="org.guard")
    alarm = s.acknowledge(site["operator"], site["alarm"])
    client.force_login(site["operator"])
    response = client.post(url("dispatch", alarm), {"guard": company_guard.pk})
    assert response.status_code == 302
    assert Alarm.objects.get().dispatched_to == company_guard


def test_the_dispatched_guard_reports_arrival_from_their_page(client, site):
    alarm = s.acknowledge(site["operator"], site["alarm"])
    s.dispatch(site["operator"], alarm, site["guard"])
    client.force_login(site["other_guard"])
    assert client.post(url("arrive", alarm)).status_code == 404
    assert "东侧周界探测器" not in client.get(reverse("alarms:mine")).content.decode()

    client.force_login(site["guard"])
    mine = client.get(reverse("alarms:mine")).content.decode()
    assert "东侧周界探测器" in mine and "已到达现场" in mine
    detail = client.get(url("detail", alarm)).content.decode()
    assert "关闭报警" not in detail and "已到达现场" in detail  # a guard reports arrival, no more
    refused = client.post(url("acknowledge", alarm), **HTMX)
    assert refused.status_code == 403 and "您没有处置该小区报警的权限。" in refused.content.decode()
    response = client.post(url("arrive", alarm), {"note": "已到东墙", "next": reverse("alarms:mine")})
    assert response.status_code == 302 and response.url == reverse("alarms:mine")
    alarm.refresh_from_db()
    assert alarm.status == c.Status.ON_SITE and alarm.steps.get(step=c.Step.ON_SITE).actor == site["guard"]
    assert "已到场，等待值班室关闭报警" in client.get(reverse("alarms:mine")).content.decode()


def test_close_needs_a_cause_and_a_note(client, site):
    alarm = s.acknowledge(site["operator"], site["alarm"])
    client.force_login(site["operator"])
    response = client.post(url("close", alarm), {"note": "  "}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "请选择关闭原因。" in html and "请填写处置说明。" in html
    response = client.post(url("close", alarm), {"cause": c.CloseCause.FALSE_ALARM, "note": "树枝晃动触发"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "已关闭" in html and "误报" in html and "树枝晃动触发" in html
    alarm.refresh_from_db()
    assert (alarm.status, alarm.close_cause, alarm.closed_by) == (
        c.Status.CLOSED,
        c.CloseCause.FALSE_ALARM,
        site["operator"],
    )
    assert LogEntry.objects.filter(alarm=alarm, text__contains="关闭").exists()


def test_report_to_police_is_recorded_once(client, site):
    alarm = s.acknowledge(site["operator"], site["alarm"])
    client.force_login(site["operator"])
    later = timezone.localtime() + dt.timedelta(hours=2)
    future = client.post(
        url("report", alarm), {"means": "phone_110", "reported_at": later.strftime("%Y-%m-%dT%H:%M")}, **HTMX
    )
    assert future.status_code == 400 and "报警时间不能晚于现在。" in future.content.decode()
    no_means = client.post(url("report", alarm), {"reported_at": "x"}, **HTMX)
    assert no_means.status_code == 400
    assert "请选择报警方式。" in no_means.content.decode() and "报警时间格式不对" in no_means.content.decode()
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {"means": "phone_110", "reported_at": now, "report_number": "JJ-0001", "officer": "刘警官"}
    ok = client.post(url("report", alarm), data, **HTMX)
    assert ok.status_code == 200
    html = ok.content.decode()
    assert "JJ-0001" in html and "刘警官" in html and "记录报警</button>" not in html
    assert PoliceReport.objects.get(alarm=alarm).means == "phone_110"
    again = client.post(url("report", alarm), data, **HTMX)
    assert again.status_code == 409 and "该报警已记录过向公安机关报警。" in again.content.decode()


def test_without_javascript_steps_redirect_with_a_message(client, site):
    alarm = site["alarm"]
    client.force_login(site["operator"])
    response = client.post(url("acknowledge", alarm), follow=True)
    assert response.redirect_chain[-1][0] == url("detail", alarm)
    assert "已确认报警" in response.content.decode()
    conflict = client.post(url("acknowledge", alarm))
    assert conflict.status_code == 409 and "<!DOCTYPE html>" in conflict.content.decode()
    outside = client.post(url("close", alarm), {"cause": "test", "note": "x", "next": "https://evil.example/"})
    assert outside.status_code == 302 and outside.url == url("detail", alarm)


def test_pictures_of_the_alarm_events_are_shown_through_the_scoped_view(client, site):
    png = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (32, 24), (40, 60, 80)).save(png, format="PNG")
    ref = save_picture(png.getvalue(), name="detection.png")
    ingest(site["detector"], media=[ref])
    alarm = Alarm.objects.get()
    assert alarm.event_count == 2
    event_id = alarm.last_event_id
    client.force_login(site["operator"])
    html = client.get(url("detail", alarm)).content.decode()
    picture = reverse("events:picture", args=[event_id, 0])
    assert f'src="{picture}"' in html
    assert client.get(picture).status_code == 200
    client.force_login(site["outsider"])
    assert client.get(picture).status_code == 404


def test_escalated_and_stale_alarms_say_so(client, site):
    s.escalate_due(now=site["alarm"].raised_at + dt.timedelta(seconds=c.DEFAULT_ESCALATE_AFTER_SECONDS * 2))
    late = timezone.now()
    ingest(site["detector"], ec.EventKind.TAMPER, at=late, occurred_at=late - dt.timedelta(hours=3))
    client.force_login(site["operator"])
    assert "超时未确认，已升级 2 级" in client.get(url("detail", site["alarm"])).content.decode()
    stale = Alarm.objects.get(kind=ec.EventKind.TAMPER)
    assert "不作为新报警鸣响" in client.get(url("detail", stale)).content.decode()


def test_the_tick_command_escalates_overdue_alarms(site):
    from django.core.management import call_command

    Alarm.objects.update(raised_at=timezone.now() - dt.timedelta(seconds=c.DEFAULT_ESCALATE_AFTER_SECONDS + 5))
    out = io.StringIO()
    call_command("alarms_tick", "--once", stdout=out)
    assert f"alarm {site['alarm'].pk} escalated to level 1" in out.getvalue()
    assert Alarm.objects.get().escalation_level == 1
