"""Patrol use cases (Art 10): plans → runs, recording check-ins from phones, readers and device
events, exceptions, and the set-based evaluation that closes runs and raises alarms. Views, the API,
commands and the event hook call only these."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from anfang.alarms.choices import PlatformKind

from . import choices as c
from .evaluation import RunResult, RunSpec, Stop, evaluate_many
from .models import Checkin, Checkpoint, PatrolException, PatrolRun, Plan, Route, RouteCheckpoint, normalise_code
from .schedule import LOCAL, windows_for_day

# A run closes (and is judged) this long after its window ends: reads up to then still count
# (as late), and a guard may still pick it on the phone.
CLOSE_GRACE = dt.timedelta(minutes=30)
# Reads this long before the window opens count (as early).
EARLY_SLACK = dt.timedelta(minutes=30)
# No read this long after the window opened (or a third of the window if shorter) raises "not started".
NOT_STARTED_AFTER = dt.timedelta(minutes=15)
# Phone/API/event reads received this long after they happened are flagged late_upload (an
# offline phone's queue); readers are docked after the round, so theirs are never "late".
LATE_UPLOAD_AFTER = dt.timedelta(minutes=5)
# A device clock within this of ours is taken as right.
CLOCK_TOLERANCE = dt.timedelta(seconds=60)
# Read times accepted: not older than this, not later than now + CLOCK_TOLERANCE.
MAX_READ_AGE = dt.timedelta(days=30)

STORED, DUPLICATE, REJECTED = "stored", "duplicate", "rejected"


@dataclass
class CheckinInput:
    """One read to record. `device_time` is the reading device's clock; the batch's clock offset
    turns it into `occurred_at`."""

    code: str
    device_time: dt.datetime
    client_id: str = ""
    run_id: int | None = None
    note: str = ""
    photo: dict[str, Any] | None = None
    guard_id: int | None = None  # per read (event hook); else the batch's guard
    checkpoint_id: int | None = None  # known without a code (a checkpoint device's own event)
    event_id: int | None = None


@dataclass
class ItemResult:
    index: int
    status: str
    checkin_id: int | None = None
    flags: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "id": self.checkin_id,
            "flags": self.flags,
            "errors": [{"field": path, "message": message} for path, message in self.errors],
        }


def run_link(run_id: int) -> str:
    try:
        return reverse("patrol:run", kwargs={"pk": run_id})
    except NoReverseMatch:
        return f"/patrol/runs/{run_id}/"


# --- routes and plans --------------------------------------------------------------------------


@transaction.atomic
def set_route_stops(route: Route, stops: Sequence[tuple[int, int]]) -> None:
    """Replace the route's stops by (checkpoint_id, expected_minutes from the previous) in order."""
    ids = [cp for cp, _m in stops]
    if len(set(ids)) != len(ids):
        raise ValidationError({"stops": _("同一巡查点在路线中只能出现一次。")})
    found = set(Checkpoint.objects.filter(pk__in=ids, compound_id=route.compound_id).values_list("pk", flat=True))
    for i, cp in enumerate(ids):
        if cp not in found:
            raise ValidationError({f"stops.{i}.checkpoint": _("巡查点不属于路线所在小区。")})
    RouteCheckpoint.objects.filter(route=route).delete()
    RouteCheckpoint.objects.bulk_create(
        RouteCheckpoint(route=route, checkpoint_id=cp, position=i + 1, expected_minutes=0 if i == 0 else max(0, m))
        for i, (cp, m) in enumerate(stops)
    )
    PatrolRun.objects.filter(route=route, status=c.RunStatus.NOT_STARTED).update(expected_count=len(stops))


def generate_runs(first_day: dt.date, last_day: dt.date, *, plans: Iterable[Plan] | None = None) -> int:
    """Create the runs of every active plan for local days first_day..last_day. Idempotent: a
    plan's window is one run (unique plan + window start). Returns how many were created."""
    if plans is None:
        plans = (
            Plan.objects.filter(active=True, route__active=True, valid_from__lte=last_day)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first_day))
            .select_related("route")
        )
    plans = list(plans)
    if not plans:
        return 0
    stop_counts: dict[int, int] = defaultdict(int)
    for route_id in RouteCheckpoint.objects.filter(route__in={p.route_id for p in plans}).values_list(
        "route_id", flat=True
    ):
        stop_counts[route_id] += 1
    shifts = _shifts_by_room({p.duty_room_id for p in plans if p.duty_room_id}, first_day, last_day)
    rows = []
    for plan in plans:
        day = max(first_day, plan.valid_from)
        end = min(last_day, plan.valid_to) if plan.valid_to else last_day
        while day <= end:
            for start, finish in windows_for_day(day, plan.start_times, plan.window_minutes, plan.weekdays):
                guard_id = plan.guard_id
                if guard_id is None and plan.duty_room_id:
                    guard_id = next((op for s, e, op in shifts.get(plan.duty_room_id, ()) if s <= start < e), None)
                rows.append(
                    PatrolRun(
                        plan=plan,
                        route_id=plan.route_id,
                        compound_id=plan.route.compound_id,
                        day=day,
                        window_start=start,
                        window_end=finish,
                        guard_id=guard_id,
                        team_id=plan.team_id,
                        expected_count=stop_counts[plan.route_id],
                    )
                )
            day += dt.timedelta(days=1)
    if not rows:
        return 0
    plan_ids = [p.pk for p in plans]
    span = (min(r.window_start for r in rows), max(r.window_start for r in rows))
    existing = PatrolRun.objects.filter(plan_id__in=plan_ids, window_start__range=span)
    before = existing.count()
    PatrolRun.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return existing.count() - before


def _shifts_by_room(room_ids: set[int], first: dt.date, last: dt.date) -> dict[int, list[tuple]]:
    if not room_ids:
        return {}
    from anfang.duty.models import Shift

    lo = dt.datetime.combine(first, dt.time(), tzinfo=LOCAL)
    hi = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), tzinfo=LOCAL)
    found: dict[int, list[tuple]] = defaultdict(list)
    for room, op, s, e in Shift.objects.filter(duty_room_id__in=room_ids, starts_at__lt=hi, ends_at__gt=lo).values_list(
        "duty_room_id", "operator_id", "starts_at", "ends_at"
    ):
        found[room].append((s, e, op))
    return found


def start_run(run: PatrolRun, user: Any) -> PatrolRun:
    """A guard takes a run on the phone: an unassigned run becomes theirs. The status turns
    `running` with the first check-in."""
    from .selectors import may_walk

    if not may_walk(user, run):
        raise PermissionDenied
    if not run.is_open:
        raise ValidationError(_("该巡查已结束。"))
    if run.guard_id is None:
        PatrolRun.objects.filter(pk=run.pk, guard=None).update(guard=user)
        run.refresh_from_db(fields=["guard"])
        if run.guard_id != user.pk:
            raise ValidationError(_("该巡查已由他人领取。"))
    return run


# --- check-ins ---------------------------------------------------------------------------------


@dataclass
class _RunRow:
    id: int
    compound_id: int
    route_id: int
    start: dt.datetime
    end: dt.datetime
    guard_id: int | None
    team_id: int | None

    def open_at(self, at: dt.datetime) -> bool:
        return self.start - EARLY_SLACK <= at <= self.end + CLOSE_GRACE


def _lock(kind: str, ident: int) -> None:
    """Serialise batches of one guard / reader so that two concurrent posts of the same queue
    cannot both pass the duplicate check (a partitioned table cannot carry the unique key)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(
            hashlib.blake2b(f"patrol:{kind}:{ident}".encode(), digest_size=8).digest(), "big", signed=True
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


@transaction.atomic
def record_checkins(
    items: Sequence[CheckinInput],
    *,
    source: str,
    compound_ids: Collection[int],
    guard: Any = None,
    reader: Any = None,
    received_at: dt.datetime | None = None,
    clock_offset: dt.timedelta = dt.timedelta(0),
    upload_id: int | None = None,
) -> list[ItemResult]:
    """Store a batch of reads; nothing is dropped but exact repeats of one read (same client id of
    the guard, or same reader + tag + reader time), which answer `duplicate` with the stored id.
    Each read is matched to a run (the one given, else a run of its checkpoint's route open at
    that time, the guard's own first), flagged, and the runs touched are re-evaluated — also runs
    already closed, so a read uploaded two hours late still counts."""
    received_at = received_at or timezone.now()
    guard_id = guard.pk if guard is not None else None
    reader_id = reader.pk if reader is not None else None
    if reader_id is not None:
        _lock("reader", reader_id)
    elif guard_id is not None:
        _lock("guard", guard_id)

    results: list[ItemResult | None] = [None] * len(items)
    known = _existing_keys(items, guard_id, reader_id)
    seen_keys: dict[tuple, int] = {}
    codes = {normalise_code(i.code) for i in items}
    checkpoints: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for cp_pk, cp_compound, cp_code in Checkpoint.objects.filter(
        compound_id__in=compound_ids, code__in=codes
    ).values_list("pk", "compound_id", "code"):
        checkpoints[cp_code].append((cp_pk, cp_compound))
    direct = {i.checkpoint_id for i in items if i.checkpoint_id}
    direct_compound = dict(Checkpoint.objects.filter(pk__in=direct).values_list("pk", "compound_id")) if direct else {}

    occurred = [i.device_time + clock_offset for i in items]
    runs = _candidate_runs(items, occurred, compound_ids)
    stops = _route_stops({r.route_id for r in runs.values()})
    counted = _counted_pairs(runs)
    index_of_runs = _RunIndex(runs.values(), stops)

    corrected = abs(clock_offset) > CLOCK_TOLERANCE
    rows: list[tuple[int, tuple]] = []
    touched: set[int] = set()
    for index, item in enumerate(items):
        key = _key(item, guard_id, reader_id)
        if key is not None and (key in known or key in seen_keys):
            existing = known.get(key)
            results[index] = ItemResult(index, DUPLICATE, existing, [c.CheckinFlag.DUPLICATE])
            continue
        at = occurred[index]
        code = normalise_code(item.code)
        who = item.guard_id or guard_id
        flags: list[str] = []
        run = runs.get(item.run_id) if item.run_id else None
        candidates: list[tuple[int, int | None]]
        if item.checkpoint_id:
            candidates = [(item.checkpoint_id, direct_compound.get(item.checkpoint_id))]
        else:
            candidates = list(checkpoints.get(code, []))
        if run is not None:
            candidates = [cp for cp in candidates if cp[1] == run.compound_id] or candidates
        cp_id: int | None = None
        compound_id: int | None = None
        if candidates:
            cp_id, compound_id = candidates[0]
        eligible = False
        if cp_id is None:
            flags.append(c.CheckinFlag.UNKNOWN_TAG)
        if run is None:
            matched = index_of_runs.match(candidates, at, who)
            if matched is not None:
                run, cp_id, compound_id = matched
            else:
                run = index_of_runs.own_open_run(who, at)
        if run is None or not run.open_at(at):
            flags.append(c.CheckinFlag.NO_RUNNING_PATROL)
        elif cp_id is not None and cp_id not in stops.get(run.route_id, ()):
            flags.append(c.CheckinFlag.OTHER_ROUTE)
        elif cp_id is not None:
            eligible = True
            if (run.id, cp_id) in counted:
                flags.append(c.CheckinFlag.DUPLICATE)
            counted.add((run.id, cp_id))
            touched.add(run.id)
        if compound_id is None:
            compound_id = run.compound_id if run else (next(iter(compound_ids)) if len(compound_ids) == 1 else None)
        if source != c.Source.READER and received_at - at > LATE_UPLOAD_AFTER:
            flags.append(c.CheckinFlag.LATE_UPLOAD)
        if corrected:
            flags.append(c.CheckinFlag.CLOCK_CORRECTED)
        if key is not None:
            seen_keys[key] = index
        rows.append(
            (
                index,
                (
                    compound_id,
                    cp_id,
                    code[:128],
                    run.id if run else None,
                    who,
                    reader_id,
                    source,
                    at,
                    item.device_time,
                    received_at,
                    int(clock_offset.total_seconds()),
                    flags,
                    eligible,
                    item.photo,
                    item.note[:500],
                    item.client_id[:64],
                    upload_id,
                    item.event_id,
                ),
            )
        )
    ids = _insert_checkins([row for _i, row in rows])
    for (index, row), pk in zip(rows, ids, strict=True):
        results[index] = ItemResult(index, STORED, pk, list(row[11]))
    if touched:
        evaluate_runs(touched)
    return [r for r in results if r is not None]


CHECKIN_COLUMNS = (
    "compound_id",
    "checkpoint_id",
    "code",
    "run_id",
    "guard_id",
    "reader_id",
    "source",
    "occurred_at",
    "device_time",
    "received_at",
    "clock_offset_seconds",
    "flags",
    "eligible",
    "photo",
    "note",
    "client_id",
    "upload_id",
    "event_id",
)


def _insert_checkins(rows: list[tuple]) -> list[int]:
    """Insert check-in rows (CHECKIN_COLUMNS order); their ids in order. On PostgreSQL the ids
    are drawn from the sequence first and the rows COPYed: a reader upload of 10,000 reads is one
    COPY, not 10,000 model instances."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = Checkin.objects.bulk_create(
            [Checkin(**dict(zip(CHECKIN_COLUMNS, row, strict=True))) for row in rows], batch_size=2000
        )
        return [c.pk for c in created]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Checkin._meta.db_table, len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {Checkin._meta.db_table} (id, {', '.join(CHECKIN_COLUMNS)}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                photo = row[13]
                copy.write_row(
                    (
                        pk,
                        *row[:11],
                        orjson.dumps(row[11]).decode(),
                        row[12],
                        None if photo is None else orjson.dumps(photo).decode(),
                        *row[14:],
                    )
                )
    return ids


def _key(item: CheckinInput, guard_id: int | None, reader_id: int | None) -> tuple | None:
    if reader_id is not None:
        return ("r", normalise_code(item.code), item.device_time)
    if item.client_id:
        return ("c", item.guard_id or guard_id, item.client_id)
    return None


def _existing_keys(items: Sequence[CheckinInput], guard_id: int | None, reader_id: int | None) -> dict[tuple, int]:
    if reader_id is not None:
        times = {i.device_time for i in items}
        if not times:
            return {}
        qs = Checkin.objects.filter(reader_id=reader_id, device_time__range=(min(times), max(times)))
        return {("r", code, t): pk for pk, code, t in qs.values_list("pk", "code", "device_time")}
    client_ids = {(i.guard_id or guard_id, i.client_id) for i in items if i.client_id}
    if not client_ids:
        return {}
    found = {}
    by_guard: dict[int | None, set[str]] = defaultdict(set)
    for g, cid in client_ids:
        by_guard[g].add(cid)
    for g, cids in by_guard.items():
        for pk, cid in Checkin.objects.filter(guard_id=g, client_id__in=cids).values_list("pk", "client_id"):
            found[("c", g, cid)] = pk
    return found


def _candidate_runs(
    items: Sequence[CheckinInput], occurred: list[dt.datetime], compound_ids: Collection[int]
) -> dict[int, _RunRow]:
    fields = ("pk", "compound_id", "route_id", "window_start", "window_end", "guard_id", "team_id")
    explicit = {i.run_id for i in items if i.run_id}
    q = Q(pk__in=explicit)
    if occurred and compound_ids:
        q |= Q(
            compound_id__in=compound_ids,
            window_start__lte=max(occurred) + EARLY_SLACK,
            window_end__gte=min(occurred) - CLOSE_GRACE,
        )
    return {row[0]: _RunRow(*row) for row in PatrolRun.objects.filter(q).values_list(*fields)}


def _route_stops(route_ids: set[int]) -> dict[int, set[int]]:
    stops: dict[int, set[int]] = defaultdict(set)
    for route_id, cp in RouteCheckpoint.objects.filter(route_id__in=route_ids).values_list("route_id", "checkpoint_id"):
        stops[route_id].add(cp)
    return stops


def _counted_pairs(runs: dict[int, _RunRow]) -> set[tuple[int, int]]:
    if not runs:
        return set()
    pairs = Checkin.objects.filter(run_id__in=list(runs), eligible=True).values_list("run_id", "checkpoint_id")
    return {(run_id, cp) for run_id, cp in pairs.distinct() if run_id is not None and cp is not None}


class _RunIndex:
    """The candidate runs of a batch by (compound, checkpoint on the route), sorted by window
    start, so that matching a read is a bisection, not a scan (a reader upload has 10,000 reads)."""

    def __init__(self, runs: Iterable[_RunRow], stops: dict[int, set[int]]) -> None:
        self.by_place: dict[tuple[int, int], list[_RunRow]] = defaultdict(list)
        self.by_guard: dict[int, list[_RunRow]] = defaultdict(list)
        for run in runs:
            for cp in stops.get(run.route_id, ()):
                self.by_place[(run.compound_id, cp)].append(run)
            if run.guard_id is not None:
                self.by_guard[run.guard_id].append(run)
        self.starts: dict[tuple[int, int], list[dt.datetime]] = {}
        for key, rows in self.by_place.items():
            rows.sort(key=lambda r: r.start)
            self.starts[key] = [r.start for r in rows]
        self.longest = max((r.end - r.start for rows in self.by_place.values() for r in rows), default=dt.timedelta(0))

    def open_at(self, compound_id: int, cp: int, at: dt.datetime) -> Iterator[_RunRow]:
        rows = self.by_place.get((compound_id, cp))
        if not rows:
            return
        i = bisect_right(self.starts[(compound_id, cp)], at + EARLY_SLACK)
        earliest = at - CLOSE_GRACE - self.longest
        while i > 0:
            i -= 1
            run = rows[i]
            if run.start < earliest:
                break
            if run.open_at(at):
                yield run

    def match(
        self, candidates: list[tuple[int, int | None]], at: dt.datetime, who: int | None
    ) -> tuple[_RunRow, int, int | None] | None:
        """The run a read without a run belongs to: a run whose route has the checkpoint, open at
        the read's time, the guard's own before a team's or an unassigned one."""
        best = None
        for cp, compound in candidates:
            if compound is None:
                continue
            for run in self.open_at(compound, cp, at):
                if who is not None and run.guard_id not in (None, who):
                    continue
                rank = (run.guard_id is None, not (run.start <= at <= run.end), abs((run.start - at).total_seconds()))
                if best is None or rank < best[0]:
                    best = (rank, run, cp, compound)
        return None if best is None else (best[1], best[2], best[3])

    def own_open_run(self, who: int | None, at: dt.datetime) -> _RunRow | None:
        """The guard's own run open at that time, whatever its route (a read of another route's
        tag or an unknown tag during it is kept on it, flagged)."""
        if who is None:
            return None
        return next((r for r in self.by_guard.get(who, ()) if r.open_at(at)), None)


def _parse_time(value: object) -> dt.datetime | None:
    moment: dt.datetime | None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            return None
        if moment is None:
            return None
    else:
        return None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=LOCAL)


def phone_checkins(
    user: Any, items: Sequence[dict[str, Any]], *, sent_at: object = None, now: dt.datetime | None = None
) -> list[ItemResult]:
    """The phone page's queue (or an API client) posting reads. Each item keeps its original time;
    `sent_at` is the phone's clock at sending, which corrects a wrong phone clock. A bad item is
    rejected naming its field (`items.<i>.<field>`); the others are recorded."""
    from anfang.events.ingest import Rejected
    from anfang.events.media import save_picture

    from .selectors import may_walk, walkable_compounds

    now = now or timezone.now()
    offset = dt.timedelta(0)
    phone_clock = _parse_time(sent_at) if sent_at not in (None, "") else None
    if phone_clock is not None and abs(now - phone_clock) > CLOCK_TOLERANCE:
        offset = now - phone_clock
    compound_ids = set(walkable_compounds(user).values_list("pk", flat=True))
    run_ids: set[int] = {i["run_id"] for i in items if isinstance(i, dict) and isinstance(i.get("run_id"), int)}
    runs = {r.pk: r for r in PatrolRun.objects.filter(pk__in=run_ids).select_related("team")}
    rejected: list[ItemResult] = []
    accepted: list[tuple[int, CheckinInput]] = []
    for index, raw in enumerate(items):
        errors: list[tuple[str, str]] = []
        path = f"items.{index}"
        if not isinstance(raw, dict):
            rejected.append(ItemResult(index, REJECTED, errors=[(path, _("每条签到须为一个对象。"))]))
            continue
        code = raw.get("code")
        if not isinstance(code, str) or not code.strip():
            errors.append((f"{path}.code", _("请填写或扫描巡查点标识码。")))
        elif len(code.strip()) > 128:
            errors.append((f"{path}.code", _("标识码过长（最多 128 个字符）。")))
        client_id = raw.get("client_id") or ""
        if not isinstance(client_id, str) or len(client_id) > 64:
            errors.append((f"{path}.client_id", _("客户端编号须为不超过 64 个字符的字符串。")))
            client_id = ""
        at = _parse_time(raw.get("occurred_at"))
        if at is None:
            errors.append((f"{path}.occurred_at", _("签到时间缺失或格式错误（须为 ISO 8601）。")))
        elif at + offset > now + CLOCK_TOLERANCE:
            errors.append((f"{path}.occurred_at", _("签到时间晚于当前时间。")))
        elif now - (at + offset) > MAX_READ_AGE:
            errors.append((f"{path}.occurred_at", _("签到时间早于 30 天前，不予接收。")))
        run_id = raw.get("run_id")
        if run_id is not None:
            run = runs.get(run_id) if isinstance(run_id, int) and not isinstance(run_id, bool) else None
            if run is None or not may_walk(user, run):
                errors.append((f"{path}.run_id", _("巡查任务不存在或无权操作。")))
        note = raw.get("note") or ""
        if not isinstance(note, str) or len(note) > 500:
            errors.append((f"{path}.note", _("备注须为不超过 500 个字符的文本。")))
            note = ""
        photo_ref = None
        if raw.get("photo") and not errors:
            try:
                data = base64.b64decode(str(raw["photo"]).split(",", 1)[-1], validate=True)
                photo_ref = save_picture(data, name=str(raw.get("photo_name") or "")[:64])
            except (binascii.Error, ValueError):
                errors.append((f"{path}.photo", _("照片不是有效的 Base64 数据。")))
            except Rejected as exc:
                errors.append((f"{path}.photo", exc.detail))
        if errors:
            rejected.append(ItemResult(index, REJECTED, errors=errors))
            continue
        assert at is not None and isinstance(code, str)
        accepted.append(
            (
                index,
                CheckinInput(
                    code=code,
                    device_time=at,
                    client_id=client_id,
                    run_id=run_id,
                    note=note,
                    photo=photo_ref,
                ),
            )
        )
    stored = record_checkins(
        [i for _n, i in accepted],
        source=c.Source.PHONE,
        compound_ids=compound_ids,
        guard=user,
        received_at=now,
        clock_offset=offset,
    )
    for (index, _item), result in zip(accepted, stored, strict=True):
        result.index = index
    return sorted(rejected + stored, key=lambda r: r.index)


def checkins_from_events(stored: list[tuple[int, Any]]) -> None:
    """STORED_HOOKS hook: `patrol_checkin` events (MQTT / JSON path) become check-ins in the event
    write transaction. Payload keys: `tag` (the tag code read; `code` accepted too), optional
    `guard` (username of the guard) and `client_id`. A `patrol_checkpoint` device's own event
    without a tag is a read of the checkpoint(s) linked to that device."""
    events = [(event_id, e) for event_id, e in stored if e.kind == "patrol_checkin"]
    if not events:
        return
    from django.contrib.auth import get_user_model

    from anfang.devices.models import Device

    usernames = {str(e.payload.get("guard")) for _i, e in events if e.payload.get("guard")}
    users = dict(get_user_model().objects.filter(username__in=usernames).values_list("username", "pk"))
    device_ids = {e.device_id for _i, e in events}
    linked = dict(Checkpoint.objects.filter(device_id__in=device_ids).values_list("device_id", "pk"))
    readers = {d.pk: d for d in Device.objects.filter(pk__in=device_ids)}
    by_device: dict[int, list[CheckinInput]] = defaultdict(list)
    for event_id, e in events:
        code = str(e.payload.get("tag") or e.payload.get("code") or "")
        by_device[e.device_id].append(
            CheckinInput(
                code=code,
                device_time=e.occurred_at,
                client_id=str(e.payload.get("client_id") or f"event:{event_id}")[:64],
                guard_id=users.get(str(e.payload.get("guard"))),
                checkpoint_id=None if code else linked.get(e.device_id),
                event_id=event_id,
            )
        )
    received_at = timezone.now()
    for device_id, inputs in by_device.items():
        device = readers.get(device_id)
        if device is None:
            continue
        record_checkins(
            inputs,
            source=c.Source.MQTT,
            compound_ids=_reader_compounds(device.compound_id),
            reader=device,
            received_at=received_at,
        )


def _reader_compounds(compound_id: int) -> set[int]:
    """A reader registered at one compound serves every compound of the teams covering it (Art 6)."""
    from anfang.compounds.models import Compound

    teams = Compound.objects.filter(pk=compound_id).values("patrol_teams")
    return {compound_id} | set(
        Compound.objects.filter(patrol_teams__in=teams, patrol_teams__active=True).values_list("pk", flat=True)
    )


# --- exceptions --------------------------------------------------------------------------------


@transaction.atomic
def record_exception(
    user: Any,
    *,
    compound: Any,
    kind: str,
    at: dt.datetime,
    note: str = "",
    run: PatrolRun | None = None,
    checkpoint: Checkpoint | None = None,
    photo: bytes | None = None,
    photo_name: str = "",
    client_id: str = "",
) -> PatrolException:
    """异常 reported by a guard. Idempotent by (guard, client_id) for the phone queue."""
    from anfang.events.ingest import Rejected
    from anfang.events.media import save_picture

    from .selectors import walkable_compounds

    if not walkable_compounds(user).filter(pk=compound.pk).exists():
        raise PermissionDenied
    if client_id:
        existing = PatrolException.objects.filter(guard=user, client_id=client_id).first()
        if existing is not None:
            return existing
    errors = {}
    if kind not in c.ExceptionKind.values:
        errors["kind"] = _("请选择异常类型。")
    if run is not None and run.compound_id != compound.pk:
        errors["run"] = _("巡查任务不属于该小区。")
    if checkpoint is not None and checkpoint.compound_id != compound.pk:
        errors["checkpoint"] = _("巡查点不属于该小区。")
    ref = None
    if photo:
        try:
            ref = save_picture(photo, name=photo_name)
        except Rejected as exc:
            errors["photo"] = exc.detail
    if errors:
        raise ValidationError(errors)
    return PatrolException.objects.create(
        run=run,
        compound=compound,
        checkpoint=checkpoint,
        guard=user,
        at=at,
        kind=kind,
        note=note,
        photo=ref,
        client_id=client_id[:64],
    )


# --- evaluation --------------------------------------------------------------------------------

RESULT_COLUMNS = (
    "status",
    "started_at",
    "finished_at",
    "expected_count",
    "completed_count",
    "missed_checkpoints",
    "punctuality",
    "early_minutes",
    "late_minutes",
    "out_of_order",
    "too_fast_legs",
    "duration_too_short",
    "duration_too_long",
    "repeat_reads",
    "foreign_reads",
    "score",
    "evaluated_at",
)


def _ts(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


def _result_values(result: RunResult, now: dt.datetime) -> tuple:
    return (
        result.status,
        _ts(result.started_at),
        _ts(result.finished_at),
        result.expected,
        result.completed,
        result.missed,
        result.punctuality,
        result.early_minutes,
        result.late_minutes,
        result.out_of_order,
        result.too_fast_legs,
        result.duration_too_short,
        result.duration_too_long,
        result.repeat_reads,
        result.foreign_reads,
        result.score,
        now,
    )


def _load_reads(run_ids: list[int]) -> Iterable[tuple[int, int | None, float]]:
    """(run_id, checkpoint_id, POSIX seconds) of the eligible reads of these runs."""
    if connection.vendor == "postgresql":
        lo, hi = min(run_ids), max(run_ids)
        # A dense id range (a period's runs) is one index range scan instead of a huge id list;
        # scattered runs (a late phone read beside today's) are fetched by id, not by the range.
        dense = hi - lo + 1 == len(set(run_ids))
        where, params = ("run_id BETWEEN %s AND %s", [lo, hi]) if dense else ("run_id = ANY(%s)", [run_ids])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT run_id, checkpoint_id, EXTRACT(EPOCH FROM occurred_at)::float8 FROM patrol_checkin "
                f"WHERE {where} AND eligible",
                params,
            )
            return cursor.fetchall()
    rows: list[Any] = []
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        rows.extend(
            (r, cp, t.timestamp())
            for r, cp, t in Checkin.objects.filter(run_id__in=chunk, eligible=True).values_list(
                "run_id", "checkpoint_id", "occurred_at"
            )
        )
    return rows


def _load_runs(ids: list[int]) -> list[tuple[int, int, float, float, bool]]:
    """(id, route_id, window start, window end as POSIX seconds, closed) of these runs."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, route_id, EXTRACT(EPOCH FROM window_start)::float8, EXTRACT(EPOCH FROM window_end)::float8, "
                "closed_at IS NOT NULL FROM patrol_patrolrun WHERE id = ANY(%s)",
                [ids],
            )
            return cursor.fetchall()
    runs: list[tuple[int, int, float, float, bool]] = []
    for start in range(0, len(ids), 500):
        runs.extend(
            (pk, route, s.timestamp(), e.timestamp(), closed is not None)
            for pk, route, s, e, closed in PatrolRun.objects.filter(pk__in=ids[start : start + 500]).values_list(
                "pk", "route_id", "window_start", "window_end", "closed_at"
            )
        )
    return runs


def _specs(runs: list[tuple[int, int, float, float, bool]]) -> dict[int, RunSpec]:
    route_ids = {r[1] for r in runs}
    routes = {
        pk: (ordered, lo, hi)
        for pk, ordered, lo, hi in Route.objects.filter(pk__in=route_ids).values_list(
            "pk", "ordered", "min_minutes", "max_minutes"
        )
    }
    stops: dict[int, list[Stop]] = defaultdict(list)
    for route_id, cp, minutes in (
        RouteCheckpoint.objects.filter(route_id__in=route_ids)
        .order_by("route_id", "position")
        .values_list("route_id", "checkpoint_id", "expected_minutes")
    ):
        stops[route_id].append(Stop(cp, minutes * 60))
    # One spec per route and window length would do, but a spec is cheap next to its reads.
    frozen = {route_id: tuple(s) for route_id, s in stops.items()}
    specs = {}
    for run_id, route_id, start, end, _closed in runs:
        ordered, lo, hi = routes[route_id]
        specs[run_id] = RunSpec(
            start=start,
            end=end,
            stops=frozen.get(route_id, ()),
            ordered=ordered,
            min_seconds=lo * 60 if lo is not None else None,
            max_seconds=hi * 60 if hi is not None else None,
        )
    return specs


@transaction.atomic
def evaluate_runs(run_ids: Iterable[int], *, now: dt.datetime | None = None) -> dict[int, RunResult]:
    """Recompute and store the results of these runs (closed runs get their final status). One
    query for the runs, one for the reads, one bulk write — the month of a city in one pass."""
    now = now or timezone.now()
    ids = sorted(set(run_ids))
    if not ids:
        return {}
    runs = _load_runs(ids)
    if not runs:
        return {}
    specs = _specs(runs)
    results = evaluate_many(specs, _load_reads([r[0] for r in runs]), {r[0]: r[4] for r in runs})
    _write_results(results, now)
    return results


def _copy_text(value: object) -> str:
    """One value in COPY text format. The results hold numbers, fixed words, instants and JSON of
    numbers only, so nothing needs escaping."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _write_results(results: dict[int, RunResult], now: dt.datetime) -> None:
    if connection.vendor == "postgresql":
        columns = ", ".join(RESULT_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS patrol_eval_stage ON COMMIT DELETE ROWS AS "
                f"SELECT id, {columns} FROM patrol_patrolrun WITH NO DATA"
            )
            # Emptied at commit, but several evaluations can share one transaction.
            cursor.execute("TRUNCATE patrol_eval_stage")
            lines = [
                "\t".join(_copy_text(v) for v in (run_id, *_result_values(result, now)))
                for run_id, result in results.items()
            ]
            with cursor.cursor.copy(f"COPY patrol_eval_stage (id, {columns}) FROM STDIN") as copy:
                copy.write("\n".join(lines) + "\n")
            assignments = ", ".join(f"{col} = s.{col}" for col in RESULT_COLUMNS)
            cursor.execute(f"UPDATE patrol_patrolrun r SET {assignments} FROM patrol_eval_stage s WHERE r.id = s.id")
        return
    objs = []
    for run_id, result in results.items():
        run = PatrolRun(pk=run_id)
        for column, value in zip(RESULT_COLUMNS, _result_values(result, now), strict=True):
            setattr(run, column, value)
        objs.append(run)
    PatrolRun.objects.bulk_update(objs, list(RESULT_COLUMNS), batch_size=500)


@dataclass
class DueSummary:
    closed: int = 0
    not_started_alarms: int = 0
    missed_alarms: int = 0


def _subject(run: PatrolRun, text: str) -> str:
    start = run.window_start.astimezone(LOCAL)
    end = run.window_end.astimezone(LOCAL)
    return f"{run.route.name} {start:%m-%d %H:%M}–{end:%H:%M} {text}"


@transaction.atomic
def evaluate_due(now: dt.datetime | None = None) -> DueSummary:
    """The ticker: close runs whose window (+ grace) ended, judge them, and raise the patrol alarms
    on the duty console — not started (nothing read some minutes into the window) and missed
    (closed with checkpoints unread). Each alarm once per run."""
    from anfang.alarms.services import raise_platform_alarm

    now = now or timezone.now()
    summary = DueSummary()
    due = list(
        PatrolRun.objects.select_for_update(skip_locked=True)
        .filter(status__in=c.OPEN_STATUSES, window_end__lte=now - CLOSE_GRACE)
        .values_list("pk", flat=True)
    )
    if due:
        PatrolRun.objects.filter(pk__in=due).update(closed_at=now)
        evaluate_runs(due, now=now)
        summary.closed = len(due)

    missed = PatrolRun.objects.filter(
        pk__in=due, status__in=(c.RunStatus.MISSED, c.RunStatus.INCOMPLETE), missed_alarm_id=None
    ).select_related("route")
    for run in missed:
        text = (
            _("未巡查")
            if run.status == c.RunStatus.MISSED
            else _("漏检 %(missed)s/%(expected)s 个巡查点")
            % {"missed": len(run.missed_checkpoints), "expected": run.expected_count}
        )
        alarm = raise_platform_alarm(
            compound_id=run.compound_id,
            kind=PlatformKind.PATROL_MISSED,
            at=now,
            subject=_subject(run, text),
            link=run_link(run.pk),
        )
        PatrolRun.objects.filter(pk=run.pk).update(missed_alarm_id=alarm.pk if alarm else 0)
        summary.missed_alarms += alarm is not None

    candidates = PatrolRun.objects.filter(
        status=c.RunStatus.NOT_STARTED,
        not_started_alarm_id=None,
        window_start__lte=now - dt.timedelta(minutes=1),
        window_end__gt=now - CLOSE_GRACE,
    ).select_related("route")
    for run in candidates:
        window = run.window_end - run.window_start
        if now - run.window_start < min(NOT_STARTED_AFTER, window / 3):
            continue
        alarm = raise_platform_alarm(
            compound_id=run.compound_id,
            kind=PlatformKind.PATROL_NOT_STARTED,
            at=now,
            subject=_subject(run, _("巡查未开始")),
            link=run_link(run.pk),
        )
        PatrolRun.objects.filter(pk=run.pk).update(not_started_alarm_id=alarm.pk if alarm else 0)
        summary.not_started_alarms += alarm is not None
    return summary
