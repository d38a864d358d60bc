"""The purge (issue 9 §3): rows past retention go with their files; held rows and files a
surviving row shares stay; a dry run deletes nothing; a second purge at once is refused; a missing
file is reported. Runs on SQLite and PostgreSQL (there: events of recent days sit in the default
partition or today's partitions, so the batched path; the partition drop is in test_partitions)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anfang.audit import services as audit
from anfang.audit.models import AuditEntry
from anfang.events.media import open_picture
from anfang.events.models import Event
from anfang.retention import purge as p
from anfang.retention import services
from anfang.retention.choices import PurgeStatus
from anfang.retention.models import AuditCheckpoint, LegalHold, PurgeRun
from tests import factories as f

from .factories import days_ago, event, picture

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def two(world):
    cam_x = f.DeviceFactory(compound=world["cx"], name="东门摄像机")
    cam_x2 = f.DeviceFactory(compound=world["cx"], name="西门摄像机")
    cam_y = f.DeviceFactory(compound=world["cy"], name="乐家摄像机")
    return {**world, "cam_x": cam_x, "cam_x2": cam_x2, "cam_y": cam_y, "admin": f.admin_user()}


def run(**kw):
    return p.purge(now=NOW, data_class=kw.pop("data_class", "events"), **kw)


def ids(qs=None):
    return set((qs or Event.objects.all()).values_list("pk", flat=True))


def test_old_rows_and_their_files_go_recent_stay(two):
    old_pic, new_pic = picture("old"), picture("new")
    old = event(two["cam_x"], days_ago(120, NOW), [old_pic])
    recent = event(two["cam_x"], days_ago(10, NOW), [new_pic])
    done = run()
    assert done.status == PurgeStatus.DONE
    assert ids() == {recent.pk}
    assert not open_picture(old_pic).exists()
    assert open_picture(new_pic).exists()
    report = done.report["classes"]["events"]
    assert report["rows"] == 1 and report["files"] == 1 and report["bytes"] == old_pic["size"]
    assert old.pk not in ids()


def test_a_file_shared_with_a_surviving_row_stays(two):
    shared = picture("shared")
    event(two["cam_x"], days_ago(120, NOW), [shared])
    keeper = event(two["cam_y"], days_ago(5, NOW), [shared])
    report = run().report["classes"]["events"]
    assert ids() == {keeper.pk}
    assert open_picture(shared).exists()
    assert report["files"] == 0 and report["shared_files_kept"] == 1


def test_a_file_shared_with_a_held_row_stays(two):
    shared = picture("held-shared")
    gone = event(two["cam_x"], days_ago(120, NOW), [shared])
    held = event(two["cam_y"], days_ago(121, NOW), [shared])
    services.place_hold(two["admin"], case_number="案2026-1", reason="调查", compound=two["cy"])
    report = run().report["classes"]["events"]
    assert gone.pk not in ids() and held.pk in ids()
    assert open_picture(shared).exists()
    assert report["held_rows"] == 1


def test_dry_run_deletes_nothing_and_reports(two):
    pic = picture("dry")
    event(two["cam_x"], days_ago(100, NOW), [pic])
    event(two["cam_x"], days_ago(100, NOW))
    before = ids()
    done = run(dry_run=True)
    assert ids() == before and open_picture(pic).exists()
    report = done.report["classes"]["events"]
    assert (report["rows"], report["files"], report["bytes"]) == (2, 1, pic["size"])
    assert done.dry_run and done.status == PurgeStatus.DONE


def test_a_missing_file_is_reported_not_an_error(two):
    pic = picture("vanished")
    open_picture(pic).unlink()
    event(two["cam_x"], days_ago(100, NOW), [pic])
    done = run()
    assert done.status == PurgeStatus.DONE
    report = done.report["classes"]["events"]
    assert report["rows"] == 1 and report["missing_files"] == 1 and report["missing"] == [pic["path"]]


@pytest.mark.parametrize("scope", ["compound", "device", "range", "compound+device+range"])
def test_held_rows_survive(two, scope):
    inside = event(two["cam_x"], days_ago(200, NOW), [picture("held")])
    other_device = event(two["cam_x2"], days_ago(200, NOW))
    other_compound = event(two["cam_y"], days_ago(200, NOW))
    outside_range = event(two["cam_x"], days_ago(300, NOW))
    window = {"data_from": days_ago(201, NOW), "data_to": days_ago(199, NOW)}
    kwargs = {
        "compound": {"compound": two["cx"]},
        "device": {"device": two["cam_x"]},
        "range": window,
        "compound+device+range": {"compound": two["cx"], "device": two["cam_x"], **window},
    }[scope]
    services.place_hold(two["admin"], case_number="案-1", reason="取证", **kwargs)
    run()
    survivors = ids()
    expected = {
        "compound": {inside.pk, other_device.pk, outside_range.pk},
        "device": {inside.pk, outside_range.pk},
        "range": {inside.pk, other_device.pk, other_compound.pk},
        "compound+device+range": {inside.pk},
    }[scope]
    assert survivors == expected
    assert open_picture(Event.objects.get(pk=inside.pk).media[0]).exists()


def test_overlapping_holds_add_up_and_a_released_one_lets_go(two):
    a = event(two["cam_x"], days_ago(200, NOW))
    b = event(two["cam_x2"], days_ago(200, NOW))
    c = event(two["cam_y"], days_ago(200, NOW))
    h1 = services.place_hold(two["admin"], case_number="案-A", reason="甲", device=two["cam_x"])
    services.place_hold(two["admin"], case_number="案-B", reason="乙", compound=two["cx"])
    run()
    assert ids() == {a.pk, b.pk}  # union of both holds
    assert c.pk not in ids()
    services.release_hold(two["admin"], LegalHold.objects.get(case_number="案-B"))
    run()
    assert ids() == {a.pk}  # still under hold A
    services.release_hold(two["admin"], h1)
    run()
    assert ids() == set()


def test_a_compound_override_keeps_its_rows_longer(two):
    services.set_policy(two["admin"], "events", 365, compound=two["cx"])
    x_old = event(two["cam_x"], days_ago(200, NOW))
    y_old = event(two["cam_y"], days_ago(200, NOW))
    run()
    assert ids() == {x_old.pk}
    assert y_old.pk not in ids()


def test_a_running_purge_refuses_the_second(two):
    event(two["cam_x"], days_ago(200, NOW))
    assert p.acquire("someone-else")
    try:
        second = run()
    finally:
        p.release("someone-else")
    assert second.status == PurgeStatus.REFUSED and Event.objects.count() == 1
    assert run().status == PurgeStatus.DONE and Event.objects.count() == 0


def test_a_stale_lock_is_taken_over(two):
    assert p.acquire("dead", now=NOW - dt.timedelta(hours=7))
    assert run().status == PurgeStatus.DONE


def test_audit_purge_cuts_a_prefix_and_verify_can_start_from_the_checkpoint(two):
    admin = two["admin"]
    for n in range(5):
        audit.record(admin, "view", "events.picture", n, at=days_ago(400 - n, NOW))
    held = audit.record(admin, "view", "events.picture", 5, compound_id=two["cy"].pk, at=days_ago(395, NOW))
    audit.record(admin, "view", "events.picture", 6, at=days_ago(390, NOW))
    audit.record(admin, "view", "events.picture", 7, at=days_ago(1, NOW))
    services.place_hold(admin, case_number="案-审计", reason="审计", compound=two["cy"])
    services.set_policy(admin, "audit", 365)
    done = run(data_class="audit")
    report = done.report["classes"]["audit"]
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == [held.seq, held.seq + 1, held.seq + 2]  # the prefix before the held entry only
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.seq, report["checkpoint"]) == (held.seq - 1, held.seq - 1)
    assert AuditEntry.objects.get(seq=held.seq).prev_hash == checkpoint.hash
    # The verifier starts from the checkpoint: the shortened chain is intact.
    assert audit.retention_checkpoint() == (checkpoint.seq, checkpoint.hash)
    result = audit.verify(audit.retention_checkpoint())
    assert result.intact and result.checked == 3


def test_alarms_cited_by_the_duty_log_are_kept(two):
    from anfang.alarms.models import Alarm
    from anfang.duty.models import LogEntry

    room = f.DutyRoomFactory(compound=two["cx"])
    at = days_ago(2000, NOW)
    common = {"compound": two["cx"], "kind": "perimeter_intrusion", "priority": 1, "raised_at": at, "last_event_at": at}
    cited = Alarm.objects.create(closed_at=at, **common)
    free = Alarm.objects.create(closed_at=at, **common)
    still_open = Alarm.objects.create(**common)
    LogEntry.objects.create(
        duty_room=room, at=days_ago(10, NOW), kind="alarm", text="处置", alarm=cited, author=two["admin"]
    )
    run(data_class="alarms")
    assert set(Alarm.objects.values_list("pk", flat=True)) == {cited.pk, still_open.pk}
    assert free.pk not in set(Alarm.objects.values_list("pk", flat=True))


def test_the_log_and_its_report(two):
    event(two["cam_x"], days_ago(200, NOW))
    done = p.purge(now=NOW, actor=two["admin"], trigger="web")
    assert PurgeRun.objects.get(pk=done.pk).actor == two["admin"]
    assert done.duration_ms is not None and done.finished_at is not None
    assert set(done.report["classes"]) >= {"events", "alarms", "duty_logs", "audit", "video_index"}
    assert done.totals["rows"] >= 1
