"""Dead-letter pages: who may see and handle which letters (both ways), filters, the body as text
or hex dump, replay after a fix (with a device picked for an unauthenticated letter), discard,
download, and bulk replay of the filtered list."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.core.choices import Role
from anfang.events import choices as c
from anfang.events import services
from anfang.events.adapters.base import Parsed, Payload
from anfang.events.forms import ReplayDeviceForm
from anfang.events.ingest import Incoming, Rejected, parse_device_time
from anfang.events.models import DeadLetter, Event
from tests import factories as f

pytestmark = pytest.mark.django_db

LIST = reverse("events:dead_letters")
BULK = reverse("events:dead_letters_replay")


class CodeAdapter:
    """A stand-in protocol: JSON {"code", "at", "id"}; codes outside `known` are rejected, as a
    real adapter rejects what it cannot map until the mapping is extended (the "fix")."""

    source = c.Source.ISAPI
    known = {"VMD": c.EventKind.MOTION}

    def parse(self, payload: Payload, device) -> Parsed:
        try:
            data = json.loads(payload.body)
        except ValueError as exc:
            raise Rejected(c.DeadLetterReason.MALFORMED, "不是 JSON") from exc
        if data["code"] not in self.known:
            raise Rejected(c.DeadLetterReason.INVALID, f"未知事件码 {data['code']}")
        occurred, _ = parse_device_time(data["at"])
        event = Incoming(
            device_id=device.pk,
            compound_id=device.compound_id,
            kind=self.known[data["code"]],
            occurred_at=occurred,
            source=self.source,
            external_id=data.get("id", ""),
            vendor_code=data["code"],
        )
        return Parsed(events=[event])


@pytest.fixture
def adapter(monkeypatch):
    """Replays look the adapter up by source; point them at the stand-in, with a fresh table."""
    instance = CodeAdapter()
    instance.known = dict(CodeAdapter.known)
    monkeypatch.setattr(services, "adapter_for", lambda source: instance)
    return instance


def send(device, code="LineDetection", *, body=None, headers=None, remote_addr="10.0.0.20", when=None, ext="e1"):
    """Push a payload through the real pipeline (adapter → normalise → store / dead letter)."""
    now = when or timezone.now()
    raw = body if body is not None else json.dumps({"code": code, "at": now.isoformat(), "id": ext}).encode()
    payload = Payload(
        body=raw,
        content_type="application/json; charset=utf-8",
        received_at=now,
        source=c.Source.ISAPI,
        headers=headers or {"Content-Type": "application/json", "Authorization": "Bearer afd_abcdefghijklmnop"},
        remote_addr=remote_addr,
        endpoint="/ingest/isapi/",
    )
    if device is None:
        services.refuse(payload, "未知设备")
        return DeadLetter.objects.latest("id")
    report = services.process(payload, device, adapter=CodeAdapter())
    return DeadLetter.objects.get(pk=report.rejects[0][1]) if report.rejects else None


@pytest.fixture
def people(world):
    return {
        "manager": f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x"),
        "officer": f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a"),
        "admin": f.admin_user(),
    }


@pytest.fixture
def cams(world):
    return {
        "x": f.DeviceFactory(compound=world["cx"], name="安居南门", ip_address="10.0.0.20"),
        "x2": f.DeviceFactory(compound=world["cx"], name="安居北门"),
        "y": f.DeviceFactory(compound=world["cy"], name="乐家大门"),
    }


@pytest.fixture(autouse=True)
def no_rate_limit(monkeypatch):
    from anfang.events import deadletters

    deadletters._recent.clear()
    monkeypatch.setattr(deadletters, "UNAUTHENTICATED_PER_MINUTE", 1000)


def ids(response) -> set[int]:
    return {d.pk for d in response.context["page"].object_list}


def test_editors_see_their_compounds_letters_admins_all_others_none(client, people, cams, adapter):
    lx, ly, stray = send(cams["x"]), send(cams["y"]), send(None)
    client.force_login(people["manager"])
    assert ids(client.get(LIST)) == {lx.pk}
    for pk in (ly.pk, stray.pk):  # another compound's, and one tied to no compound: not there at all
        for name in ("events:dead_letter", "events:dead_letter_body"):
            assert client.get(reverse(name, args=[pk])).status_code == 404
        for name in ("events:dead_letter_replay", "events:dead_letter_discard"):
            assert client.post(reverse(name, args=[pk])).status_code == 404
    assert DeadLetter.objects.get(pk=ly.pk).status == c.DeadLetterStatus.NEW
    client.force_login(people["admin"])
    assert ids(client.get(LIST)) == {lx.pk, ly.pk, stray.pk}
    client.force_login(people["officer"])  # police see the compound but do not handle its devices
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("events:dead_letter", args=[lx.pk])).status_code == 403
    assert client.post(reverse("events:dead_letter_replay", args=[lx.pk])).status_code == 403
    assert client.post(BULK).status_code == 403
    assert "死信" not in client.get(reverse("events:list")).content.decode().split("tabs")[1][:400]


def test_filters(client, people, cams, adapter):
    old = send(cams["x"], when=timezone.now() - dt.timedelta(days=3), ext="old")
    bad_json = send(cams["x2"], body=b"<not json", ext="b")
    fresh = send(cams["x"], ext="f")
    services.discard_dead_letter(people["manager"], fresh)
    client.force_login(people["manager"])
    assert ids(client.get(LIST, {"reason": "malformed"})) == {bad_json.pk}
    assert ids(client.get(LIST, {"status": "discarded"})) == {fresh.pk}
    assert ids(client.get(LIST, {"compound": cams["x"].compound_id, "device": cams["x2"].pk})) == {bad_json.pk}
    assert ids(client.get(LIST, {"source": "mqtt"})) == set()
    since = timezone.localtime(timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert ids(client.get(LIST, {"since": since})) == {bad_json.pk, fresh.pk}
    assert old.pk in ids(client.get(LIST))
    empty = client.get(LIST, {"source": "mqtt"}).content.decode()
    assert "没有符合条件的死信" in empty


def test_detail_shows_redacted_headers_and_text_body(client, people, cams, adapter):
    letter = send(cams["x"])
    client.force_login(people["manager"])
    html = client.get(reverse("events:dead_letter", args=[letter.pk])).content.decode()
    assert "未知事件码 LineDetection" in html and "LineDetection" in html and "按 utf-8 显示为文本" in html
    assert "Bearer afd_abcdefgh…" in html and "ijklmnop" not in html
    assert "10.0.0.20" in html and "字段缺失或取值无效" in html


def test_binary_and_truncated_bodies_are_shown_as_hex_with_sizes(client, people, cams, adapter, settings):
    settings.ANFANG_MAX_DEAD_LETTER_BYTES = 64
    letter = send(cams["x"], body=b"\xff\xd8\xff\xe0" + bytes(range(200)))
    assert letter.truncated and letter.body_size == 204
    client.force_login(people["manager"])
    html = client.get(reverse("events:dead_letter", args=[letter.pk])).content.decode()
    assert "以十六进制显示" in html and "00000000  ff d8 ff e0 00 01 02 03" in html
    assert "204 字节" in html and "已截断，只保存了前 64 字节" in html
    download = client.get(reverse("events:dead_letter_body", args=[letter.pk]))
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == f'attachment; filename="dead-letter-{letter.pk}.json"'
    assert download.content == (b"\xff\xd8\xff\xe0" + bytes(range(200)))[:64]


def test_replay_after_the_mapping_is_fixed(client, people, cams, adapter):
    letter = send(cams["x"], code="LineDetection", ext="ld-1")
    client.force_login(people["manager"])
    replay = reverse("events:dead_letter_replay", args=[letter.pk])
    still = client.post(replay, follow=True)
    assert "重放后仍有问题" in still.content.decode()
    letter.refresh_from_db()
    assert (letter.status, letter.attempts) == (c.DeadLetterStatus.NEW, 1) and not Event.objects.exists()
    adapter.known["LineDetection"] = c.EventKind.LINE_CROSSING  # the fix
    done = client.post(replay, follow=True)
    assert "重放成功" in done.content.decode() and "得到 1 条事件" in done.content.decode()
    event = Event.objects.get()
    assert (event.kind, event.device_id, event.flags) == ("line_crossing", cams["x"].pk, ["replayed"])
    assert event.received_at == letter.received_at  # received then, not now
    letter.refresh_from_db()
    assert (letter.status, letter.attempts) == (c.DeadLetterStatus.REPLAYED, 2)
    assert replay not in client.get(reverse("events:dead_letter", args=[letter.pk])).content.decode()


def test_unauthenticated_letter_is_replayed_as_a_picked_device(client, people, cams, adapter):
    letter = send(None, code="VMD", remote_addr="10.0.0.20")
    assert letter.device_id is None and letter.compound_id is None
    client.force_login(people["admin"])
    page = client.get(reverse("events:dead_letter", args=[letter.pk]))
    html = page.content.decode()
    # The device registered with the letter's source address is suggested and preselected.
    assert "指定设备后重放" in html and "安居南门" in html
    assert page.context["device_form"].initial["device"] == cams["x"].pk
    listed = client.get(reverse("events:dead_letter", args=[letter.pk]), {"compound": cams["y"].compound_id})
    assert [label for value, label in listed.context["device_form"].fields["device"].widget.choices if value] == [
        "乐家大门"
    ]
    replay = reverse("events:dead_letter_replay", args=[letter.pk])
    missing = client.post(replay, {})
    assert missing.status_code == 400 and "这个字段是必填项" in missing.content.decode()
    gone = client.post(replay, {"device": 999999})
    assert gone.status_code == 400 and "所选设备不存在或不在您可编辑的小区" in gone.content.decode()
    client.post(replay, {"device": cams["x"].pk})
    letter.refresh_from_db()
    assert letter.status == c.DeadLetterStatus.REPLAYED
    assert (letter.device_id, letter.compound_id) == (cams["x"].pk, cams["x"].compound_id)
    assert Event.objects.get().device_id == cams["x"].pk


def test_the_device_picker_offers_only_devices_the_user_may_edit(people, cams):
    form = ReplayDeviceForm({"device": cams["y"].pk}, user=people["manager"])
    assert not form.is_valid() and "device" in form.errors
    assert ReplayDeviceForm({"device": cams["x2"].pk}, user=people["manager"]).is_valid()


def test_discard(client, people, cams, adapter):
    letter = send(cams["x"])
    client.force_login(people["manager"])
    response = client.post(reverse("events:dead_letter_discard", args=[letter.pk]), follow=True)
    assert "已丢弃" in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == c.DeadLetterStatus.DISCARDED and bytes(letter.body)  # kept
    assert client.get(reverse("events:dead_letter_discard", args=[letter.pk])).status_code == 405


def test_bulk_replay_of_the_filtered_list(client, people, cams, adapter):
    fixable = [send(cams["x"], code="LineDetection", ext=f"l{i}") for i in range(2)]
    broken = send(cams["x"], body=b"<xml/>", ext="x")
    other_device = send(cams["x2"], code="LineDetection", ext="o")
    foreign = send(cams["y"], code="LineDetection", ext="y")
    adapter.known["LineDetection"] = c.EventKind.LINE_CROSSING
    client.force_login(people["manager"])
    page = client.get(LIST, {"compound": cams["x"].compound_id, "device": cams["x"].pk})
    assert page.context["pending"] == 3 and "重放这 3 封" in page.content.decode()
    response = client.post(BULK, {"compound": cams["x"].compound_id, "device": cams["x"].pk}, follow=True)
    assert "批量重放 3 封：成功 2，仍被拒绝 1，需先选择设备 0" in response.content.decode()
    assert response.redirect_chain[-1][0] == f"{LIST}?compound={cams['x'].compound_id}&device={cams['x'].pk}"
    statuses = dict(DeadLetter.objects.values_list("pk", "status"))
    assert [statuses[d.pk] for d in fixable] == [c.DeadLetterStatus.REPLAYED] * 2
    assert statuses[broken.pk] == statuses[other_device.pk] == statuses[foreign.pk] == c.DeadLetterStatus.NEW
    assert Event.objects.count() == 2
    # Nothing left to do: said so, nothing replayed twice.
    again = client.post(BULK, {"compound": cams["x"].compound_id, "device": cams["x"].pk, "reason": "invalid"})
    assert again.status_code == 302 and Event.objects.count() == 2


def test_bulk_replay_skips_letters_that_need_a_device(client, people, cams, adapter):
    send(None, code="VMD", ext="u1")
    send(cams["y"], code="VMD", ext="ok")  # VMD is known to the pipeline's adapter too: dead only if rejected
    send(cams["y"], code="Unknown", ext="y1")
    adapter.known["Unknown"] = c.EventKind.UNMAPPED
    client.force_login(people["admin"])
    response = client.post(BULK, {}, follow=True)
    assert "成功 1，仍被拒绝 0，需先选择设备 1" in response.content.decode()
