"""The access audit chain (Art 33(5): recorded information must not leak or be misused).

`record` appends one entry for every view, search and export of pictures, vehicle data or personal
data; `verify` walks the chain and names each entry that was edited, deleted or moved.
Appends are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite serialises
writers anyway) so that each entry links to exactly one predecessor, and the time is taken under
the lock so that time order and chain order agree."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import orjson
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compounds.models import Compound
from anfang.core import storage
from anfang.core.choices import Role

from .choices import AuditAction, BreakKind, ExportFormat, ExportStatus
from .models import AuditEntry, AuditVerification, ExportRequest

GENESIS = "0" * 64
LOCK_KEY = 0x616E66616E67  # "anfang": the advisory lock id of the chain's head
# How far from its place an intact entry is looked for, to tell "moved" from "edited".
REORDER_WINDOW = 64


def _content(fields: dict[str, Any]) -> str:
    """SHA-256 of every field but the sequence number, the time and the link (canonical JSON)."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _chain(seq: int, prev_hash: str, at_utc: str, content: str) -> str:
    # The same formula runs in SQL (migration 0003, audit_append) on PostgreSQL.
    return hashlib.sha256(f"{seq}:{prev_hash}:{at_utc}:{content}".encode()).hexdigest()


def _digest(seq: int, at: dt.datetime, fields: dict[str, Any], prev_hash: str) -> str:
    """The hash of an entry: its sequence number, its time to the microsecond, every field and its
    predecessor's hash."""
    return _chain(seq, prev_hash, _utc(at), _content(fields))


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "compound_id": entry.compound_id,
        "purpose": entry.purpose,
        "detail": entry.detail,
        "remote_addr": entry.remote_addr,
    }


def _text(value: object, limit: int) -> str:
    # PostgreSQL text refuses NUL; the hash must cover exactly what is stored.
    return str(value).replace("\x00", "")[:limit]


def _address(value: str | None) -> str | None:
    """The address as the database gives it back (IPv6 compressed), or None when it is not one."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _json(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Detail as stored and read back: JSON types only, no NUL, floats that survive jsonb (which
    gives 1e20 back as an integer: such floats are kept as text)."""
    text = orjson.dumps(detail or {}, default=str).decode().replace("\\u0000", "")
    return _floats(orjson.loads(text))


def _floats(value: Any) -> Any:
    if isinstance(value, float):
        return value if "e" not in repr(value) else repr(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def record(
    actor: Any,
    action: str,
    object_type: str,
    object_id: object = "",
    *,
    compound_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
    remote_addr: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry. `object_type` names what was accessed ("vehicles.passage", "events.picture",
    "vehicles.search"), `detail` what exactly (the query, the row count, the file). Call it in the
    request that does the access: a failure to audit fails the access."""
    authenticated = getattr(actor, "is_authenticated", False)
    entry = AuditEntry(
        actor_id=actor.pk if authenticated else None,
        actor_name=_text(actor.get_username(), 150) if authenticated else "",
        action=action,
        object_type=_text(object_type, 64),
        object_id=_text(object_id if object_id is not None else "", 128),
        compound_id=compound_id,
        purpose=_text(purpose or "", 255),
        detail=_json(detail),
        remote_addr=_address(remote_addr),
    )
    if connection.vendor == "postgresql":
        _append_pg(entry, at)
        return entry
    with transaction.atomic():  # SQLite: an IMMEDIATE transaction serialises writers
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        entry.seq, entry.prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        # Taken under the lock: time order and chain order agree. The database keeps
        # microseconds, so the hashed time is exactly the stored one.
        entry.at = at or timezone.now()
        entry.hash = _digest(entry.seq, entry.at, _fields(entry), entry.prev_hash)
        entry.save(force_insert=True)
    return entry


APPEND_SQL = (
    "SELECT id, seq, at, prev_hash, hash "
    "FROM audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::inet, %s, %s, %s)"
)


def _append_pg(entry: AuditEntry, at: dt.datetime | None) -> None:
    """One round trip: the advisory lock, the head, the hash and the INSERT run in the database
    (`audit_append`), so that an audited request pays one statement (and its commit). With
    ANFANG_AUDIT_ASYNC_COMMIT the commit does not wait for the WAL flush (migration 0003)."""
    with connection.cursor() as cursor:
        cursor.execute(
            APPEND_SQL,
            [
                at,
                entry.actor_id,
                entry.actor_name,
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.compound_id,
                entry.purpose,
                orjson.dumps(entry.detail).decode(),
                entry.remote_addr,
                _content(_fields(entry)),
                LOCK_KEY,
                settings.ANFANG_AUDIT_ASYNC_COMMIT,
            ],
        )
        entry.pk, entry.seq, entry.at, entry.prev_hash, entry.hash = cursor.fetchone()
    entry._state.adding = False


def record_request(request: Any, action: str, object_type: str, object_id: object = "", **kwargs: Any) -> AuditEntry:
    """`record` for a web or API request: the actor and source address come from the request."""
    return record(request.user, action, object_type, object_id, remote_addr=request.META.get("REMOTE_ADDR"), **kwargs)


@dataclass(frozen=True)
class Break:
    """Where the chain stops being intact, and why (`problem`: a BreakKind value)."""

    seq: int
    problem: str
    detail: str


@dataclass(frozen=True)
class Verification:
    checked: int
    breaks: list[Break]
    start_seq: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.breaks


def _entries(after: int, batch: int = 5000) -> Iterator[AuditEntry]:
    last = after
    while True:
        page = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not page:
            return
        yield from page
        last = page[-1].seq


def _original_seq(entry: AuditEntry) -> int | None:
    """The sequence number an intact entry was written with, when it is not its present one."""
    fields = _fields(entry)
    for distance in range(1, REORDER_WINDOW + 1):
        for seq in (entry.seq - distance, entry.seq + distance):
            if seq > 0 and _digest(seq, entry.at, fields, entry.prev_hash) == entry.hash:
                return seq
    return None


def verify(start: tuple[int, str] | None = None) -> Verification:
    """Walk the chain in sequence order, from a verified checkpoint `start=(seq, hash)` (the last
    entry of a purged prefix; by default the newest one the retention purge recorded, else the
    genesis — pass `(0, GENESIS)` to insist on the genesis). Each entry must match its own hash
    (else: edited, or — when it matches at another sequence number — reordered), follow its
    predecessor without a gap (else: deleted) and link to its predecessor's hash."""
    start_seq, start_hash = start or retention_checkpoint() or (0, GENESIS)
    breaks: list[Break] = []
    expected_seq, prev_hash, checked = start_seq + 1, start_hash, 0
    prev_ok = True
    for entry in _entries(start_seq):
        checked += 1
        gap = entry.seq != expected_seq
        if gap:
            first, last = expected_seq, entry.seq - 1
            breaks.append(
                Break(
                    first,
                    BreakKind.DELETED,
                    f"entry {first} is missing" if first == last else f"entries {first}–{last} are missing",
                )
            )
        own_ok = _digest(entry.seq, entry.at, _fields(entry), entry.prev_hash) == entry.hash
        if not own_ok:
            original = _original_seq(entry)
            if original is not None:
                breaks.append(
                    Break(entry.seq, BreakKind.REORDERED, f"entry written as {original} now stands at {entry.seq}")
                )
            else:
                breaks.append(Break(entry.seq, BreakKind.EDITED, "the entry's content does not match its hash"))
        elif entry.prev_hash != prev_hash and prev_ok and not gap:
            # Both entries match their own hashes but do not link: the one before was rewritten
            # and re-hashed (its original is gone), or this one was inserted.
            where = entry.seq - 1 if entry.seq - 1 > start_seq else entry.seq
            breaks.append(Break(where, BreakKind.EDITED, f"entry {entry.seq} does not link to the entry before it"))
        prev_ok = own_ok
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return Verification(checked, breaks, start_seq, expected_seq - 1, prev_hash)


def verify_and_log(start: tuple[int, str] | None = None) -> tuple[Verification, AuditVerification]:
    """`verify`, plus the anchor of the previous run (its last entry must be unchanged: catches a
    truncated or rewritten tail), stored as the chain status the audit pages show."""
    result = verify(start)
    breaks = list(result.breaks)
    previous = AuditVerification.objects.filter(intact=True).first()
    if previous and previous.last_seq > result.start_seq:
        anchor = AuditEntry.objects.filter(seq=previous.last_seq).values_list("hash", flat=True).first()
        if anchor is None and previous.last_seq > result.last_seq:
            breaks.append(
                Break(
                    previous.last_seq, BreakKind.DELETED, f"the chain ended at {previous.last_seq} when last verified"
                )
            )
        elif anchor is not None and anchor != previous.last_hash:
            breaks.append(Break(previous.last_seq, BreakKind.EDITED, "differs from the hash seen at the last check"))
    breaks.sort(key=lambda b: b.seq)
    result = Verification(result.checked, breaks, result.start_seq, result.last_seq, result.last_hash)
    run = AuditVerification.objects.create(
        start_seq=result.start_seq,
        checked=result.checked,
        intact=result.intact,
        last_seq=result.last_seq,
        last_hash=result.last_hash,
        breaks=[asdict(b) for b in breaks],
    )
    return result, run


def retention_checkpoint() -> tuple[int, str] | None:
    """The newest checkpoint the retention purge left when it cut the chain's oldest entries."""
    try:
        model = apps.get_model("retention", "AuditCheckpoint")
    except LookupError:
        return None
    newest = model.objects.order_by("-seq").values_list("seq", "hash").first()
    return (int(newest[0]), str(newest[1])) if newest else None


def chain_status() -> AuditVerification | None:
    """The last verification, for the audit pages."""
    return AuditVerification.objects.first()


# --- Export approval (Art 33(5)): a bulk export needs a second person's approval ----------------

APPROVER_ROLES = frozenset(
    {
        Role.PLATFORM_ADMIN,
        Role.PROPERTY_MANAGER,
        Role.COMMUNITY_MANAGER,
        Role.POLICE_STATION,
        Role.POLICE_DISTRICT,
        Role.POLICE_CITY,
    }
)
MAX_EXPORT_DAYS = 93  # one request covers at most the 3 months vehicle data is kept (Art 33(2))


def _audit(actor: Any, action: str, export: ExportRequest, step: str, **detail: Any) -> None:
    ids = export.compound_ids
    record(
        actor,
        action,
        "audit.export",
        export.pk,
        compound_id=ids[0] if len(ids) == 1 else None,
        purpose=export.purpose,
        detail={"step": step, "kind": export.kind, "compounds": ids, **detail},
    )


def request_export(
    actor: Any,
    *,
    kind: str,
    compounds: list[Compound],
    date_from: dt.date,
    date_to: dt.date,
    purpose: str,
    fmt: str = ExportFormat.XLSX,
    filters: dict[str, Any] | None = None,
) -> ExportRequest:
    """File a request; nothing is exported until someone else approves it."""
    from .exports import exporter_for

    errors: dict[str, str] = {}
    if not purpose.strip():
        errors["purpose"] = _("请填写导出用途（第33条第5项）。")
    if not compounds:
        errors["compounds"] = _("请至少选择一个小区。")
    visible = set(
        Compound.objects.visible_to(actor).filter(pk__in=[c.pk for c in compounds]).values_list("pk", flat=True)
    )
    outside = [c.name for c in compounds if c.pk not in visible]
    if outside:
        errors["compounds"] = _("不在您权限范围内的小区：%(names)s") % {"names": "、".join(outside)}
    if date_from > date_to:
        errors["date_to"] = _("结束日期不能早于开始日期。")
    elif (date_to - date_from).days + 1 > MAX_EXPORT_DAYS:
        errors["date_to"] = _("一次最多导出 %(days)d 天的数据，请分批申请。") % {"days": MAX_EXPORT_DAYS}
    if exporter_for(kind) is None:
        errors["kind"] = _("该类数据暂不支持导出。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        export = ExportRequest.objects.create(
            requester=actor,
            kind=kind,
            fmt=fmt,
            date_from=date_from,
            date_to=date_to,
            purpose=purpose.strip()[:255],
            filters=filters or {},
        )
        export.compounds.set(compounds)
        _audit(actor, AuditAction.EXPORT, export, "requested")
    return export


def can_approve(actor: Any, export: ExportRequest) -> bool:
    """A different person holding an approving role over every compound of the request."""
    if not getattr(actor, "is_authenticated", False) or actor.pk == export.requester_id:
        return False
    ids = export.compound_ids
    covered = Compound.objects.in_scope_of_roles(actor, APPROVER_ROLES).filter(pk__in=ids).count()
    return covered == len(ids)


def _decide(actor: Any, export: ExportRequest) -> ExportRequest:
    locked = ExportRequest.objects.select_for_update().get(pk=export.pk)
    if locked.status != ExportStatus.REQUESTED:
        raise ValidationError(_("该申请已处理（%(status)s）。") % {"status": locked.get_status_display()})
    if actor.pk == locked.requester_id:
        raise PermissionDenied(_("不能审批自己的导出申请：须由另一人审批（第33条第5项）。"))
    if not can_approve(actor, locked):
        raise PermissionDenied(_("您没有审批这些小区导出申请的权限。"))
    return locked


def approve_export(actor: Any, export: ExportRequest, note: str = "") -> ExportRequest:
    """Approve and make the watermarked file at once (one transaction: if the file cannot be
    stored, the request stays requested and can be approved again)."""
    from . import exports, files

    with transaction.atomic():
        export = _decide(actor, export)
        now = timezone.now()
        export.status, export.approver, export.decided_at = ExportStatus.APPROVED, actor, now
        export.decision_note = note[:255]
        mark = files.Watermark(
            requester=export.requester.get_username(), approver=actor.get_username(), at=now, request_id=export.pk
        )
        made = exports.build(export, mark)
        export.file_ref = storage.get_store().put(made.data, "export")
        export.file_name, export.rows = made.name, made.count
        export.expires_at = now + dt.timedelta(days=settings.ANFANG_EXPORT_VALID_DAYS)
        export.save()
        _audit(
            actor,
            AuditAction.APPROVE,
            export,
            "approved",
            rows=made.count,
            file=export.file_ref["sha256"],
            missing=len(made.missing),
        )
    return export


def reject_export(actor: Any, export: ExportRequest, note: str) -> ExportRequest:
    if not note.strip():
        raise ValidationError({"note": _("驳回时请说明理由。")})
    with transaction.atomic():
        export = _decide(actor, export)
        export.status, export.approver, export.decided_at = ExportStatus.REJECTED, actor, timezone.now()
        export.decision_note = note.strip()[:255]
        export.save()
        _audit(actor, AuditAction.APPROVE, export, "rejected", note=export.decision_note)
    return export


def open_export(actor: Any, export: ExportRequest) -> tuple[IO[bytes], ExportRequest]:
    """The file of an approved request for its requester, until it expires or has been downloaded
    the allowed number of times; each download is audited. The file is opened before the download
    is counted, so a store that is down costs no download."""
    now = timezone.now()
    if export.expires_at and export.expires_at <= now:
        expire_exports(now)  # committed on its own: the refusal below must not undo it
    with transaction.atomic():
        export = ExportRequest.objects.select_for_update().get(pk=export.pk)
        if actor.pk != export.requester_id:
            raise PermissionDenied(_("只有申请人可以下载导出文件。"))
        if export.status not in (ExportStatus.APPROVED, ExportStatus.DOWNLOADED) or not export.file_ref:
            raise ValidationError(_("该导出文件不可下载（%(status)s）。") % {"status": export.get_status_display()})
        if export.downloads >= settings.ANFANG_EXPORT_MAX_DOWNLOADS:
            raise ValidationError(_("该导出文件已下载过，不能再次下载；如需要请重新申请。"))
        handle = storage.get_store().open(export.file_ref)
        export.downloads += 1
        export.downloaded_at = now
        export.status = ExportStatus.DOWNLOADED
        export.save(update_fields=["downloads", "downloaded_at", "status"])
        _audit(actor, AuditAction.DOWNLOAD, export, "downloaded", file=export.file_ref["sha256"], n=export.downloads)
    return handle, export


def _expire(export: ExportRequest) -> None:
    if export.file_ref:
        storage.get_store().delete(export.file_ref)
    export.status, export.file_ref = ExportStatus.EXPIRED, None
    export.save(update_fields=["status", "file_ref"])


def expire_exports(now: dt.datetime | None = None) -> int:
    """Expire approved exports past their date and delete their files (the scheduler runs it)."""
    now = now or timezone.now()
    count = 0
    due = ExportRequest.objects.filter(
        status__in=[ExportStatus.APPROVED, ExportStatus.DOWNLOADED], expires_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            export = ExportRequest.objects.select_for_update().get(pk=pk)
            if export.status in (ExportStatus.APPROVED, ExportStatus.DOWNLOADED):
                _expire(export)
                count += 1
    return count
