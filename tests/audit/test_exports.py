"""Export approval (Art 33(5)): a second person in scope approves, the files carry the watermark
(read back), downloads are limited and audited, expired files are deleted."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image

from anfang.audit import exports, services
from anfang.audit.choices import ExportKind, ExportStatus
from anfang.audit.exports import ExportFile, register_exporter
from anfang.audit.models import AuditEntry, ExportRequest
from anfang.core import storage


def _picture(fmt: str, colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), colour).save(buffer, fmt)
    return buffer.getvalue()


JPEG = _picture("JPEG", (200, 200, 200))
PNG = _picture("PNG", (30, 120, 200))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.ANFANG_MEDIA_STORE = "fs"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def passages(world):
    from django.apps import apps

    from anfang.events.media import save_picture

    passage = apps.get_model("vehicles", "Passage")
    now = timezone.now()
    plate_ref = save_picture(JPEG, name="plate.jpg") | {"role": "plate"}
    scene_ref = save_picture(PNG, name="scene.png") | {"role": "scene"}
    rows = []
    for i, (compound, plate) in enumerate([("cx", "辽H12345"), ("cx", "辽H54321"), ("cy", "辽B00001")]):
        rows.append(
            passage.objects.create(
                compound=world[compound],
                captured_at=now - dt.timedelta(minutes=i),
                received_at=now - dt.timedelta(minutes=i),
                plate=plate,
                plate_raw=plate,
                plate_valid=True,
                direction="in",
                pictures=[plate_ref, scene_ref],
            )
        )
    return rows


def ask(user, world, kind=ExportKind.VEHICLE_DATA, compounds=("cx",), fmt="xlsx", **kw) -> ExportRequest:
    today = timezone.localdate()
    return services.request_export(
        user,
        kind=kind,
        compounds=[world[c] for c in compounds],
        date_from=kw.pop("date_from", today - dt.timedelta(days=1)),
        date_to=kw.pop("date_to", today),
        purpose=kw.pop("purpose", "配合派出所调查"),
        fmt=fmt,
        **kw,
    )


def test_requester_cannot_approve_own_request(world, people):
    export = ask(people["pm_x"], world)
    with pytest.raises(PermissionDenied, match="不能审批自己"):
        services.approve_export(people["pm_x"], export)
    with pytest.raises(PermissionDenied):
        services.reject_export(people["pm_x"], export, "no")
    assert ExportRequest.objects.get().status == ExportStatus.REQUESTED


@pytest.mark.parametrize("who", ["pm_y", "police_b", "guard_x"])
def test_approver_out_of_scope_or_without_role_is_refused(world, people, who):
    export = ask(people["pm_x"], world)
    with pytest.raises(PermissionDenied, match="没有审批"):
        services.approve_export(people[who], export)
    assert not services.can_approve(people[who], export)


def test_approver_must_cover_every_compound(world, people):
    """Police A covers cx and cu but not cy: a request over cx+cy needs someone covering both."""
    export = ask(people["admin"], world, compounds=("cx", "cy"))
    assert not services.can_approve(people["police_a"], export)
    assert not services.can_approve(people["pm_x"], export)
    with pytest.raises(PermissionDenied):
        services.approve_export(people["police_a"], export)


def test_request_is_validated(world, people):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as bad:
        ask(
            people["pm_x"],
            world,
            compounds=("cx", "cy"),
            purpose=" ",
            date_from=today,
            date_to=today - dt.timedelta(days=1),
        )
    assert set(bad.value.error_dict) == {"purpose", "compounds", "date_to"}
    assert "乐家小区" in str(bad.value.error_dict["compounds"])
    with pytest.raises(ValidationError, match="93"):
        ask(people["pm_x"], world, date_from=today - dt.timedelta(days=100), date_to=today)
    saved = dict(exports.GENERIC)
    exports.GENERIC.pop(ExportKind.PERSONAL_DATA)
    try:
        with pytest.raises(ValidationError) as no_exporter:
            ask(people["pm_x"], world, kind=ExportKind.PERSONAL_DATA)
    finally:
        exports.GENERIC.update(saved)
    assert "kind" in no_exporter.value.error_dict
    assert not ExportRequest.objects.exists()


def test_excel_export_is_watermarked_and_downloaded_once(world, people, passages):
    export = ask(people["pm_x"], world)
    export = services.approve_export(people["pm_x2"], export, "同意")
    assert export.status == ExportStatus.APPROVED and export.rows == 2 and export.approver == people["pm_x2"]
    handle, export = services.open_export(people["pm_x"], export)
    data = handle.read()
    handle.close()
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    mark = sheet["A1"].value
    assert "pm-x" in mark and "pm-x2" in mark and f"申请编号 {export.pk}" in mark
    assert mark in sheet.oddHeader.center.text and mark in sheet.oddFooter.center.text
    assert book.properties.creator == "pm-x" and book.properties.lastModifiedBy == "pm-x2"
    props = {p.name: p.value for p in book.custom_doc_props.props}
    assert props["anfang-watermark"] == mark and props["anfang-request_id"] == str(export.pk)
    assert sorted(row[4] for row in sheet.iter_rows(min_row=3, values_only=True)) == ["辽H12345", "辽H54321"]
    # Once only; the download is in the audit.
    with pytest.raises(ValidationError, match="已下载过"):
        services.open_export(people["pm_x"], export)
    steps = list(AuditEntry.objects.filter(object_type="audit.export").order_by("seq").values_list("action", "detail"))
    assert [(a, d["step"]) for a, d in steps] == [
        ("export", "requested"),
        ("approve", "approved"),
        ("download", "downloaded"),
    ]
    download = AuditEntry.objects.get(action="download")
    assert download.actor_name == "pm-x" and download.compound_id == world["cx"].pk
    assert download.purpose == "配合派出所调查"


def test_only_the_requester_downloads(world, people, passages):
    export = services.approve_export(people["pm_x2"], ask(people["pm_x"], world))
    with pytest.raises(PermissionDenied):
        services.open_export(people["pm_x2"], export)


def test_csv_export_has_watermark_lines(world, people, passages):
    export = services.approve_export(
        people["police_a"], ask(people["pm_x"], world, fmt="csv", filters={"plate": "辽H12345"})
    )
    handle, export = services.open_export(people["pm_x"], export)
    lines = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert lines[0][0].startswith("# ") and "police-a" in lines[0][0] and lines[-1] == lines[0]
    assert lines[1][4] == "车牌号" and [row[4] for row in lines[2:-1]] == ["辽H12345"]
    assert export.file_name.endswith(".csv")


def test_picture_zip_is_watermarked(world, people, passages):
    export = services.approve_export(people["police_a"], ask(people["pm_x"], world, kind=ExportKind.PICTURES))
    handle, export = services.open_export(people["pm_x"], export)
    archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    comment = archive.comment.decode()
    assert "pm-x" in comment and "police-a" in comment and str(export.pk) in comment
    names = [n for n in archive.namelist() if n.startswith("passages/")]
    assert len(names) == 4 and export.rows == 4
    assert archive.read("WATERMARK.txt").decode().strip() == comment
    for name in names:
        marked = Image.open(io.BytesIO(archive.read(name)))
        original = Image.open(io.BytesIO(JPEG if name.endswith(".jpg") else PNG)).convert("RGB")
        assert marked.size == original.size
        # The text is in the picture's metadata and drawn over its bottom band (pixels differ
        # there, the top is untouched).
        text = marked.info.get("comment", b"").decode() if name.endswith(".jpg") else marked.info.get("Comment")
        assert text == comment
        rgb = marked.convert("RGB")
        bottom = [rgb.getpixel((x, 350)) for x in range(0, 640, 8)]
        assert len(set(bottom)) > 1 and bottom != [original.getpixel((x, 350)) for x in range(0, 640, 8)]
        top = rgb.getpixel((320, 10))
        assert all(abs(a - b) < 12 for a, b in zip(top, original.getpixel((320, 10)), strict=True))


def test_missing_picture_is_listed_not_fatal(world, people, passages):
    storage.get_store().delete(passages[0].pictures[1])
    export = services.approve_export(people["police_a"], ask(people["pm_x"], world, kind=ExportKind.PICTURES))
    handle, _ = services.open_export(people["pm_x"], export)
    archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert len(archive.read("MISSING.txt").decode().splitlines()) == 2  # the shared scene picture, twice


def test_store_down_at_approval_keeps_the_request_open(world, people, passages, monkeypatch):
    export = ask(people["pm_x"], world)

    def down(*args, **kwargs):
        raise storage.StoreUnavailable("down")

    monkeypatch.setattr(storage.FileSystemStore, "_write", down)
    with pytest.raises(storage.StoreUnavailable):
        services.approve_export(people["pm_x2"], export)
    assert ExportRequest.objects.get().status == ExportStatus.REQUESTED
    assert not AuditEntry.objects.filter(action="approve").exists()
    monkeypatch.undo()
    assert services.approve_export(people["pm_x2"], export).status == ExportStatus.APPROVED


def test_reject_needs_a_reason_and_is_final(world, people):
    export = ask(people["pm_x"], world)
    with pytest.raises(ValidationError):
        services.reject_export(people["pm_x2"], export, " ")
    services.reject_export(people["pm_x2"], export, "用途不明确")
    with pytest.raises(ValidationError, match="已处理"):
        services.approve_export(people["admin"], export)
    with pytest.raises(ValidationError, match="不可下载"):
        services.open_export(people["pm_x"], export)


def test_expired_export_is_deleted(world, people, passages):
    export = services.approve_export(people["pm_x2"], ask(people["pm_x"], world))
    ref = export.file_ref
    assert storage.get_store().exists(ref)
    call_command("audit_expire_exports")  # not yet due
    assert storage.get_store().exists(ref)
    assert services.expire_exports(timezone.now() + dt.timedelta(days=8)) == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED and export.file_ref is None
    assert not storage.get_store().exists(ref)


def test_download_after_expiry_is_refused(world, people, passages):
    export = services.approve_export(people["pm_x2"], ask(people["pm_x"], world))
    ExportRequest.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    export.refresh_from_db()
    with pytest.raises(ValidationError, match="已过期"):
        services.open_export(people["pm_x"], export)
    assert ExportRequest.objects.get().status == ExportStatus.EXPIRED


def test_registered_exporter_replaces_the_generic_one(world, people):
    saved = dict(exports.EXPORTERS)
    try:
        register_exporter(
            ExportKind.PERSONAL_DATA, lambda req: ExportFile(title="住户", headers=["姓名"], rows=[["张三"]])
        )
        export = services.approve_export(people["pm_x2"], ask(people["pm_x"], world, kind=ExportKind.PERSONAL_DATA))
        assert export.rows == 1
        with pytest.raises(ValueError):
            register_exporter("nonsense", lambda req: ExportFile())
    finally:
        exports.EXPORTERS.clear()
        exports.EXPORTERS.update(saved)


# --- pages ---------------------------------------------------------------------------------------


def test_pages_request_approve_download(client, world, people, passages):
    client.force_login(people["pm_x"])
    today = timezone.localdate()
    form = client.get("/audit/exports/new/")
    assert form.status_code == 200
    assert [c.pk for c in form.context["form"].fields["compounds"].queryset] == [world["cx"].pk]
    bad = client.post("/audit/exports/new/", {"kind": "vehicle_data", "fmt": "xlsx", "compounds": [world["cy"].pk]})
    assert bad.status_code == 200 and {"compounds", "purpose", "date_from"} <= set(bad.context["form"].errors)
    response = client.post(
        "/audit/exports/new/",
        {
            "kind": "vehicle_data",
            "fmt": "xlsx",
            "compounds": [world["cx"].pk],
            "date_from": today,
            "date_to": today,
            "purpose": "核查",
        },
    )
    export = ExportRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/audit/exports/{export.pk}/"
    assert export in client.get("/audit/exports/").context["page"].object_list
    page = client.get(f"/audit/exports/{export.pk}/").content.decode()
    assert "不能审批自己的申请" in page and "批准并生成文件" not in page
    client.post(f"/audit/exports/{export.pk}/approve/")
    assert ExportRequest.objects.get().status == ExportStatus.REQUESTED
    # Out of scope: the request is not even visible.
    client.force_login(people["pm_y"])
    assert client.get(f"/audit/exports/{export.pk}/").status_code == 404
    assert client.post(f"/audit/exports/{export.pk}/approve/").status_code == 404
    assert export not in client.get("/audit/exports/queue/").context["page"].object_list
    client.force_login(people["guard_x"])
    assert client.get("/audit/exports/queue/").status_code == 403
    client.force_login(people["pm_x2"])
    assert export in client.get("/audit/exports/queue/").context["page"].object_list
    assert "批准并生成文件" in client.get(f"/audit/exports/{export.pk}/").content.decode()
    assert client.post(f"/audit/exports/{export.pk}/approve/", {"note": "同意"}).status_code == 302
    assert ExportRequest.objects.get().status == ExportStatus.APPROVED
    assert client.post(f"/audit/exports/{export.pk}/download/").status_code == 403  # not the requester
    client.force_login(people["pm_x"])
    download = client.post(f"/audit/exports/{export.pk}/download/")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert load_workbook(io.BytesIO(b"".join(download.streaming_content))).active["A1"].value.startswith("营口")
    again = client.post(f"/audit/exports/{export.pk}/download/", follow=True)
    assert "已下载过" in again.content.decode()
    assert AuditEntry.objects.filter(action="download", object_id=str(export.pk)).count() == 1


def test_personal_data_generic_exporter_reads_resident_vehicles(world, people):
    from django.apps import apps

    resident = apps.get_model("vehicles", "ResidentVehicle")
    resident.objects.create(compound=world["cx"], plate="辽H11111", owner_name="王五", owner_phone="13800000000")
    resident.objects.create(compound=world["cy"], plate="辽B22222", owner_name="赵六")
    export = services.approve_export(people["pm_x2"], ask(people["pm_x"], world, kind=ExportKind.PERSONAL_DATA))
    handle, _ = services.open_export(people["pm_x"], export)
    sheet = load_workbook(io.BytesIO(handle.read())).active
    assert [row[4] for row in sheet.iter_rows(min_row=3, values_only=True)] == ["王五"]
