"""The purge: delete what is past its retention, keep what is held (Art 33(2) floors are enforced
by the policies themselves, services.check_floor).

Per data class (registry.PURGE_ORDER):

1. Partitioned tables on PostgreSQL (`core.partitions.TABLES`: events, passages, check-ins): a
   whole day partition past the global cut-off is dropped. Rows of it that must stay — covered by
   an active legal hold, or of a compound whose override keeps them longer — are first moved out:
   the partition is detached, the kept rows are inserted back into the parent table (with no
   partition for that day they land in the default partition, same ids, still visible to every
   page and query), and the detached table is dropped, all in one transaction. A released hold
   lets the batched delete below remove them later.
2. Everything else — SQLite, plain tables, the default partition, compounds whose override is
   shorter than the global setting — is deleted in batches by time, skipping held rows.
3. The audit chain is cut only as a whole prefix (up to the first entry that is recent or held),
   and a checkpoint (seq and hash of the last purged entry) is stored first so the rest of the
   chain stays verifiable.

Media: the references of the rows to be removed are collected before they go; after the rows are
deleted (committed) each file no surviving row refers to is deleted (media.delete_unreferenced).

Only one purge runs at a time: a lock row taken by compare-and-set; a second purge is refused and
logged as such (`wait=True` polls until the first finishes). Each partition and each batch is its
own transaction, so a failure midway loses nothing held and leaves at most files without rows,
which the media sweep collects."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from anfang.core.partitions import TABLES, DailyPartitions

from . import media
from .choices import PurgeStatus
from .models import AuditCheckpoint, LegalHold, PurgeLock, PurgeRun
from .registry import CLASSES, PURGE_ORDER, Spec
from .services import global_days, overrides

BATCH = 2000
LOCK = "purge"
STALE_LOCK = dt.timedelta(hours=6)


class PurgeBusy(Exception):
    """Another purge holds the lock."""


# ---------------------------------------------------------------- the lock


def acquire(holder: str, *, now: dt.datetime | None = None) -> bool:
    """Take the purge lock by compare-and-set on its row (any database); a lock older than
    STALE_LOCK is taken over (its process died)."""
    now = now or timezone.now()
    PurgeLock.objects.get_or_create(name=LOCK)
    taken = PurgeLock.objects.filter(name=LOCK, holder="").update(holder=holder, since=now)
    if not taken:
        taken = PurgeLock.objects.filter(name=LOCK, since__lt=now - STALE_LOCK).update(holder=holder, since=now)
    return bool(taken)


def release(holder: str) -> None:
    PurgeLock.objects.filter(name=LOCK, holder=holder).update(holder="", since=None)


# ---------------------------------------------------------------- what a class keeps


def _has(model: type[models.Model], path: str) -> bool:
    if not path:
        return False
    try:
        model._meta.get_field(path.split("__")[0])  # also accepts "device_id" (the attname)
    except Exception:
        return False
    return True


@dataclass
class Scope:
    """The expiry and hold predicates of one data class at one moment."""

    spec: Spec
    model: type[models.Model]
    now: dt.datetime
    days: int
    overrides: dict[int, int]
    holds: list[LegalHold]

    @property
    def cutoff(self) -> dt.datetime:
        return self.now - dt.timedelta(days=self.days)

    def cutoff_of(self, compound_id: int) -> dt.datetime:
        return self.now - dt.timedelta(days=self.overrides.get(compound_id, self.days))

    @property
    def compound_path(self) -> str:
        return self.spec.compound_path if _has(self.model, self.spec.compound_path) else ""

    @property
    def device_path(self) -> str:
        return self.spec.device_path if _has(self.model, self.spec.device_path) else ""

    def expired(self) -> Q:
        t = self.spec.time_field
        if not self.overrides or not self.compound_path:
            return Q(**{f"{t}__lt": self.cutoff})
        c = self.compound_path
        q = Q(**{f"{t}__lt": self.cutoff}) & ~Q(**{f"{c}__in": list(self.overrides)})
        for compound_id in self.overrides:
            q |= Q(**{c: compound_id, f"{t}__lt": self.cutoff_of(compound_id)})
        return q

    def held(self) -> Q | None:
        """Rows any active hold covers (None: none does). A hold's parts must all match; a hold
        by device does not touch a class without devices, one by compound not a class without."""
        t, q = self.spec.time_field, None
        for hold in self.holds:
            part = Q(pk__isnull=False)  # a hold without any limit covers everything
            if hold.device_id is not None:
                if not self.device_path:
                    continue
                part &= Q(**{self.device_path: hold.device_id})
            if hold.compound_id is not None:
                if not self.compound_path:
                    continue
                part &= Q(**{self.compound_path: hold.compound_id})
            if hold.data_from is not None:
                part &= Q(**{f"{t}__gte": hold.data_from})
            if hold.data_to is not None:
                part &= Q(**{f"{t}__lt": hold.data_to})
            q = part if q is None else q | part
        return q

    def doomed(self) -> dict[str, Q]:
        """The rows this purge removes (for a dry run's file count: they do not keep a file)."""
        q = self.expired()
        held = self.held()
        if held is not None:
            q &= ~held
        return {self.spec.model_label: q}

    def kept_longer(self) -> Q | None:
        """Rows of compounds whose override keeps them past the global cut-off."""
        longer = [cid for cid, days in self.overrides.items() if days > self.days]
        if not longer or not self.compound_path:
            return None
        q = Q()
        for cid in longer:
            q |= Q(**{self.compound_path: cid, f"{self.spec.time_field}__gte": self.cutoff_of(cid)})
        return q


@dataclass
class ClassReport:
    label: str
    days: int
    cutoff: str
    rows: int = 0
    held_rows: int = 0
    partitions: list[str] = field(default_factory=list)
    moved_rows: int = 0
    files: dict[str, Any] = field(default_factory=dict)
    checkpoint: int | None = None
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = {
            "label": self.label,
            "days": self.days,
            "cutoff": self.cutoff,
            "rows": self.rows,
            "held_rows": self.held_rows,
            "partitions": self.partitions,
            "moved_rows": self.moved_rows,
            "checkpoint": self.checkpoint,
            "skipped": self.skipped,
            **{"files": 0, "bytes": 0, "missing_files": 0, "missing": [], "shared_files_kept": 0, "store_error": ""},
        }
        out.update(self.files)
        return out


# ---------------------------------------------------------------- the steps


def _media_refs(qs: models.QuerySet, name: str) -> dict[str, int]:
    refs: dict[str, int] = {}
    if not name:
        return refs
    for value in qs.filter(media.non_empty(qs.model, name)).values_list(name, flat=True).iterator(chunk_size=5000):
        for path, size in media.refs_of(value):
            refs[path] = size
    return refs


def _plain(model: type[models.Model]) -> bool:
    """No other row points at this model's rows: one DELETE, without Django's cascade collector."""
    return not any(
        rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
        for rel in model._meta.get_fields(include_hidden=True)
    )


def _protected(scope: Scope) -> Q | None:
    """Alarms a surviving duty-log entry cites (its foreign key protects them)."""
    if scope.spec.key != "alarms":
        return None
    from django.apps import apps

    try:
        log = apps.get_model("duty", "LogEntry")
    except LookupError:
        return None
    return Q(pk__in=log.objects.filter(alarm__isnull=False).values("alarm_id"))


def _fence(scope: Scope) -> None:
    """Inside a step's transaction: wait for a hold being placed (services.place_hold locks the
    same row) and re-read the active holds, so a hold placed while the purge runs is obeyed."""
    list(PurgeLock.objects.select_for_update().filter(name=LOCK))
    scope.holds = list(LegalHold.objects.active())


def _partitions(scope: Scope, report: ClassReport, refs: dict[str, int], dry_run: bool) -> None:
    table = scope.model._meta.db_table
    parts: DailyPartitions | None = TABLES.get(table)
    if parts is None or connection.vendor != "postgresql" or not parts.is_partitioned():
        return
    t = scope.spec.time_field
    manager = scope.model._base_manager
    name_of_media = media.spec_media(scope.spec, scope.model)
    columns = [str(f.column) for f in scope.model._meta.concrete_fields]
    for day in parts.existing():
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        end = start + dt.timedelta(days=1)
        if end > scope.cutoff:
            break
        name = parts.partition_name(day)
        with transaction.atomic():
            _fence(scope)
            held, longer = scope.held(), scope.kept_longer()
            keep_q = held if longer is None else longer if held is None else held | longer
            in_day = manager.filter(**{f"{t}__gte": start, f"{t}__lt": end})
            going = in_day if keep_q is None else in_day.exclude(keep_q)
            # One scan of the day for the figures; a second only when some going row has pictures.
            counts = {"n": Count("pk")}
            if name_of_media:
                counts["with_media"] = Count("pk", filter=media.non_empty(scope.model, name_of_media))
            figures = going.aggregate(**counts)
            if figures.get("with_media"):
                refs.update(_media_refs(going, name_of_media))
            kept = 0
            with connection.cursor() as cursor:
                if keep_q is not None:
                    # The kept rows (held, or of a compound kept longer) are set aside first …
                    sql, params = in_day.filter(keep_q).values_list(*columns).query.sql_with_params()
                    cursor.execute(f"CREATE TEMPORARY TABLE retention_kept ON COMMIT DROP AS {sql}", params)
                    cursor.execute("SELECT count(*) FROM retention_kept")
                    kept = cursor.fetchone()[0]
                if not dry_run:
                    cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
                    if kept:
                        # … and, with no partition for the day any more, land in the default one.
                        cols = ", ".join(columns)
                        cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM retention_kept")
                    cursor.execute(f"DROP TABLE {name}")
                if keep_q is not None:
                    cursor.execute("DROP TABLE retention_kept")
            report.held_rows += in_day.filter(held).count() if held is not None else 0
        report.rows += figures["n"]
        report.moved_rows += kept
        report.partitions.append(day.isoformat())


def _outside(days: list[str], t: str, cutoff: dt.datetime) -> Q | None:
    """Rows before the cut-off outside the days the partition step handled, as ranges the planner
    can prune partitions with (a NOT over a range cannot)."""
    if not days:
        return None
    q, lower = Q(), None
    for day in sorted(dt.date.fromisoformat(d) for d in days):
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        if lower is None or start > lower:
            q |= Q(**{f"{t}__lt": start}) if lower is None else Q(**{f"{t}__gte": lower, f"{t}__lt": start})
        lower = start + dt.timedelta(days=1)
    assert lower is not None
    if lower < cutoff:
        q |= Q(**{f"{t}__gte": lower})
    return q


def _batches(scope: Scope, report: ClassReport, refs: dict[str, int], dry_run: bool) -> None:
    manager = scope.model._base_manager
    qs = manager.filter(scope.expired())
    # The days the partition step handled were counted there (their kept rows moved out, or, in
    # a dry run, all still in place): not twice.
    outside = _outside(report.partitions, scope.spec.time_field, scope.cutoff)
    if outside is not None:
        qs = qs.filter(outside)
    held = scope.held()
    if held is not None:
        report.held_rows += qs.filter(held).count()
        qs = qs.exclude(held)
    protected = _protected(scope)
    if protected is not None:
        qs = qs.exclude(protected)
    name = media.spec_media(scope.spec, scope.model)
    if dry_run:
        report.rows += qs.count()
        refs.update(_media_refs(qs, name))
        return
    last = None
    while True:
        page = qs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        with transaction.atomic():
            _fence(scope)
            rows = manager.filter(pk__in=ids)
            held_now = scope.held()
            if held_now is not None:
                rows = rows.exclude(held_now)
            refs.update(_media_refs(rows, name))
            report.rows += rows._raw_delete(rows.db) if _plain(scope.model) else rows.delete()[0]
        last = ids[-1]


def _audit_prefix(scope: Scope, report: ClassReport, run: PurgeRun | None, dry_run: bool) -> None:
    """Cut the chain's head up to (not including) the first entry that is recent or held."""
    manager = scope.model._base_manager
    recent = manager.filter(**{f"{scope.spec.time_field}__gte": scope.cutoff})
    stops = [recent.order_by("seq").values_list("seq", flat=True).first()]
    held = scope.held()
    if held is not None:
        stops.append(manager.filter(held).order_by("seq").values_list("seq", flat=True).first())
        report.held_rows += manager.filter(held, **{f"{scope.spec.time_field}__lt": scope.cutoff}).count()
    bound = min((s for s in stops if s is not None), default=None)
    prefix = manager.all() if bound is None else manager.filter(seq__lt=bound)
    last = prefix.order_by("-seq").values_list("seq", "hash", "at").first()
    if last is None:
        return
    if dry_run:
        report.rows += prefix.count()
        report.checkpoint = last[0]
        return
    with transaction.atomic():
        AuditCheckpoint.objects.get_or_create(seq=last[0], defaults={"hash": last[1], "at": last[2], "purge_run": run})
        report.rows += prefix._raw_delete(prefix.db)
    report.checkpoint = last[0]


def purge_class(
    spec: Spec, *, now: dt.datetime, dry_run: bool, holds: list[LegalHold], run: PurgeRun | None = None
) -> dict[str, Any]:
    days = global_days()[spec.key]
    model = spec.model()
    report = ClassReport(spec.label, days, (now - dt.timedelta(days=days)).isoformat())
    if model is None:
        report.skipped = "not installed"
        return report.as_dict()
    scope = Scope(spec, model, now, days, overrides(spec.key), holds)
    if spec.prefix_only:
        _audit_prefix(scope, report, run, dry_run)
        return report.as_dict()
    refs: dict[str, int] = {}
    try:
        _partitions(scope, report, refs, dry_run)
        _batches(scope, report, refs, dry_run)
    finally:
        # Rows already gone take their files with them, even when a later step failed.
        if refs:
            report.files = media.delete_unreferenced(refs, dry_run=dry_run, doomed=scope.doomed()).as_dict()
    return report.as_dict()


# ---------------------------------------------------------------- the run


def purge(
    *,
    actor: Any = None,
    dry_run: bool = False,
    data_class: str = "",
    now: dt.datetime | None = None,
    trigger: str = "command",
    wait: float = 0.0,
    sweep: bool = False,
) -> PurgeRun:
    """Run the purge (or a dry run) and log it as a PurgeRun; a concurrent purge is refused
    (status `refused`) unless `wait` seconds are given to wait for the lock."""
    now = now or timezone.now()
    run = PurgeRun.objects.create(
        started_at=timezone.now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        trigger=trigger,
        dry_run=dry_run,
        data_class=data_class,
        sweep=sweep,
    )
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    deadline = started + wait
    while not acquire(holder):
        if time.monotonic() >= deadline:
            run.status, run.finished_at = PurgeStatus.REFUSED, timezone.now()
            run.errors = ["另一清理正在进行，本次未执行 / another purge is running"]
            run.duration_ms = int((time.monotonic() - started) * 1000)
            run.save()
            return run
        time.sleep(0.2)
    errors: list[str] = []
    report: dict[str, Any] = {"now": now.isoformat(), "classes": {}}
    try:
        holds = list(LegalHold.objects.active())
        report["holds"] = [h.pk for h in holds]
        keys = [data_class] if data_class else list(PURGE_ORDER)
        for key in keys:
            try:
                report["classes"][key] = done = purge_class(
                    CLASSES[key], now=now, dry_run=dry_run, holds=holds, run=run
                )
            except Exception as exc:  # one class failing must not stop the others; it is logged
                errors.append(f"{key}: {type(exc).__name__}: {exc}")
            else:
                if done.get("store_error"):
                    errors.append(
                        f"{key}: 媒体存储不可用，文件留待媒体清扫 / media store unavailable: {done['store_error']}"
                    )
        if sweep:
            try:
                report["sweep"] = media.sweep(dry_run=dry_run)
            except Exception as exc:
                errors.append(f"sweep: {type(exc).__name__}: {exc}")
    finally:
        release(holder)
        run.report, run.errors = report, errors
        run.status = PurgeStatus.FAILED if errors else PurgeStatus.DONE
        run.finished_at = timezone.now()
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.save()
    return run


def oldest(spec: Spec) -> dt.datetime | None:
    """The time of the oldest row kept (for the policies page). On a partitioned table the day
    partitions are read oldest first, one at a time, plus the default partition (held rows): the
    tables have no index leading with the time column."""
    model = spec.model()
    if model is None:
        return None
    t = spec.time_field
    parts = TABLES.get(model._meta.db_table)
    if parts is not None and connection.vendor == "postgresql" and parts.is_partitioned():
        found: list[dt.datetime] = []
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT min({t}) FROM {parts.table}_default")
            found += [v for (v,) in cursor.fetchall() if v is not None]
            for day in parts.existing():
                cursor.execute(f"SELECT min({t}) FROM {parts.partition_name(day)}")
                first = cursor.fetchone()[0]
                if first is not None:
                    found.append(first)
                    break
        return min(found, default=None)
    return model._base_manager.exclude(**{f"{t}__isnull": True}).order_by(t).values_list(t, flat=True).first()
