"""Plate search for police and managers (issue 8 §6; Art 9, Art 33(2), Art 33(5)).

Five ways to match a plate, all over `received_at` (at most 90 days per query: the span vehicle
data is guaranteed to be kept, Art 33(2)), the compounds in the user's scope, and a direction:
- exact:    the plate as normalised by `read_plate` (also the plate a guard confirmed);
- prefix:   the plate starts with the term (京A12 …);
- contains: the term anywhere in the plate (a partial read: "1234");
- wildcard: `?` one character, `*` any run (京A?23*);
- fuzzy:    the confusion skeleton (0/O/D/Q, 8/B, 1/I/L, 2/Z, 5/S, 6/G folded), optionally with
            wildcards and with "any province" for a misread province character.

Scope: police (city / district / station) see the compounds of their jurisdiction, property and
community managers their compounds (`Compound.objects.in_scope_of_roles`); a compound outside that
scope is never searched, whatever the request names. Every search must state a purpose and is
written to the access audit chain with the query, the filters and the result count (Art 33(5))."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from anfang.audit.choices import AuditAction
from anfang.audit.services import record_request
from anfang.compounds.models import Compound, Entrance, ParkingEntrance
from anfang.core.choices import Role
from anfang.core.grants import has_role
from anfang.events.filters import KeysetPage, keyset_page

from .choices import Direction
from .models import Passage
from .plates import PROVINCES, fold_serial, normalise_text, read_plate, skeleton

POLICE_ROLES = frozenset({Role.POLICE_CITY, Role.POLICE_DISTRICT, Role.POLICE_STATION})
SEARCH_ROLES = POLICE_ROLES | {Role.PLATFORM_ADMIN, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER}
MAX_DAYS = 90
DEFAULT_DAYS = 7
MIN_PURPOSE = 4
MAX_TERM = 16
PER_PAGE = 20
ID_LIST_MAX = 100  # scopes up to this many compounds go into the query as a list of ids
COUNT_CAP = 1000  # beyond this the page says "more than 1,000": counting further costs, tells nothing
AUDIT_TYPE = "vehicles.search"
PICTURE_SALT = "vehicles.search.picture"
PICTURE_MAX_AGE = 8 * 3600  # a results page stays usable for a working shift


class Mode(models.TextChoices):
    EXACT = "exact", _("精确")
    PREFIX = "prefix", _("前缀")
    CONTAINS = "contains", _("包含")
    WILDCARD = "wildcard", _("通配符（? 一个字符，* 任意个字符）")
    FUZZY = "fuzzy", _("模糊（易混字符）")


@dataclass(frozen=True)
class PlateQuery:
    text: str
    mode: str = Mode.EXACT
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    compounds: tuple[int, ...] = ()
    direction: str = ""
    any_province: bool = False


@dataclass
class SearchResult:
    page: KeysetPage
    query: PlateQuery
    term: str  # what was matched, after normalisation (for the page and the audit entry)
    audit_seq: int = 0
    rows: list[Any] = field(default_factory=list)


# ---------------------------------------------------------------- who may search what


def can_search(user: Any) -> bool:
    return has_role(user, SEARCH_ROLES)


def is_police(user: Any) -> bool:
    return has_role(user, POLICE_ROLES)


def searchable_compounds(user: Any) -> QuerySet[Compound]:
    return Compound.objects.in_scope_of_roles(user, SEARCH_ROLES)


def _compound_ids(user: Any, wanted: Iterable[int]) -> list[int]:
    """The wanted compounds that are in scope (all in scope when none is wanted). Out-of-scope ids
    are dropped silently: outside the scope a compound does not exist."""
    qs = searchable_compounds(user)
    wanted = list(wanted)
    if wanted:
        qs = qs.filter(pk__in=wanted)
    return list(qs.values_list("pk", flat=True))


# ---------------------------------------------------------------- the query


def _like_to_regex(term: str) -> str:
    """`?` one character, `*` any run, everything else literal; anchored at both ends."""
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in term]
    return "^" + "".join(parts) + "$"


def clean_term(text: str, mode: str) -> str:
    """The normalised term for `mode`; raises ValidationError naming the field `q`."""
    term = normalise_text(text)
    if mode != Mode.WILDCARD and mode != Mode.FUZZY:
        term = term.replace("*", "").replace("?", "")
    if not term.strip("*?"):
        raise ValidationError({"q": _g("请输入车牌号或车牌的一部分。")})
    if len(term) > MAX_TERM:
        raise ValidationError({"q": _g("车牌查询条件最多%(n)s个字符。") % {"n": MAX_TERM}})
    if mode == Mode.EXACT:
        read = read_plate(term)
        return read.plate or term
    if mode == Mode.PREFIX:
        # The serial never uses I or O: read them as 1 and 0 (a prefix starts where a plate starts).
        return fold_serial(term)
    if mode == Mode.FUZZY:
        return skeleton(term)
    return term


def _pattern_q(field: str, term: str) -> Q:
    """A wildcard pattern as a regular expression, ANDed with what it implies in plain LIKE terms
    (its literal start, else its longest literal run): the planner estimates those well and uses
    the btree / trigram index, where on a bare regular expression it may walk the time index."""
    q = Q(**{f"{field}__regex": _like_to_regex(term)})
    runs = [r for r in re.split(r"[*?]", term) if r]
    head = re.split(r"[*?]", term)[0]
    if len(head) >= 2:
        q &= Q(**{f"{field}__startswith": head})
    elif runs and len(longest := max(runs, key=len)) >= 3:
        q &= Q(**{f"{field}__contains": longest})
    return q


def _plate_q(term: str, mode: str, any_province: bool) -> Q:
    if mode == Mode.EXACT:
        return Q(plate=term) | Q(confirmed_plate=term)
    if mode == Mode.PREFIX:
        return Q(plate__startswith=term)
    if mode == Mode.CONTAINS:
        return Q(plate__contains=term)
    if mode == Mode.WILDCARD:
        return _pattern_q("plate", term)
    # fuzzy
    if any_province and term[:1] in PROVINCES:
        term = "?" + term[1:]
    if "*" in term or "?" in term:
        return _pattern_q("plate_skeleton", term)
    return Q(plate_skeleton=term)


def validate_period(since: dt.datetime | None, until: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.now()
    until = until or now
    since = since or until - dt.timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise ValidationError({"since": _g("开始时间必须早于结束时间。")})
    if until - since > dt.timedelta(days=MAX_DAYS):
        raise ValidationError(
            {"since": _g("一次查询的时间范围最多%(n)s天（第33条第2款：车辆数据至少保存3个月）。") % {"n": MAX_DAYS}}
        )
    return since, until


def validate_purpose(purpose: str) -> str:
    purpose = " ".join((purpose or "").split())
    if len(purpose) < MIN_PURPOSE:
        raise ValidationError(
            {"purpose": _g("请填写查询事由（例如案件编号、警情编号或事由说明），至少%(n)s个字。") % {"n": MIN_PURPOSE}}
        )
    return purpose[:255]


@dataclass(frozen=True)
class Built:
    qs: QuerySet[Passage]
    term: str
    compound_ids: list[int]
    since: dt.datetime
    until: dt.datetime


def build_queryset(user: Any, query: PlateQuery) -> Built:
    """The scoped, filtered passages and the normalised term. Raises ValidationError (by field)."""
    if query.mode not in Mode.values:
        raise ValidationError({"mode": _g("未知的查询方式。")})
    if query.direction and query.direction not in Direction.values:
        raise ValidationError({"direction": _g("未知的行驶方向。")})
    term = clean_term(query.text, query.mode)
    since, until = validate_period(query.since, query.until)
    ids = _compound_ids(user, query.compounds)
    qs = Passage.objects.filter(received_at__gte=since, received_at__lt=until)
    if len(ids) <= ID_LIST_MAX:
        qs = qs.filter(compound_id__in=ids)
    else:
        # A city's 1,500 ids copied into the condition of each of 90 day partitions make PostgreSQL
        # plan for longer than it searches; the same ids as a semi-join are planned once.
        qs = qs.filter(compound_id__in=Compound.objects.filter(pk__in=ids).values("pk"))
    qs = qs.filter(_plate_q(term, query.mode, query.any_province))
    if query.direction:
        qs = qs.filter(direction=query.direction)
    return Built(qs, term, ids, since, until)


def _audit_detail(query: PlateQuery, built: Built, page: KeysetPage, cursor: str) -> dict[str, Any]:
    filters = asdict(query)
    filters.pop("text")
    return {
        "query": query.text,
        "term": built.term,
        "filters": filters,
        "period": [built.since.isoformat(), built.until.isoformat()],
        "count": page.total,
        "capped": page.capped,
        "page": cursor,
        "passages": [row.pk for row in page.object_list],
    }


def search(request: HttpRequest, query: PlateQuery, purpose: str, *, per_page: int = PER_PAGE) -> SearchResult:
    """Run one search for the request's user and write it to the audit chain (Art 33(5)).
    Refused (PermissionDenied) without a search role; ValidationError names the bad field."""
    user = request.user
    if not can_search(user):
        raise PermissionDenied(_g("只有公安民警和小区管理人员可以查询过车记录。"))
    errors: dict[str, list[str]] = {}
    try:
        purpose = validate_purpose(purpose)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    built = None
    try:
        built = build_queryset(user, query)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors or built is None:
        raise ValidationError(errors)
    page = keyset_page(request, built.qs, per_page=per_page, cap=COUNT_CAP)
    cursor = request.GET.get("before") or request.GET.get("after") or ""
    ids = built.compound_ids
    entry = record_request(
        request,
        AuditAction.SEARCH,
        AUDIT_TYPE,
        compound_id=ids[0] if len(query.compounds) == 1 and len(ids) == 1 else None,
        purpose=purpose,
        detail=_audit_detail(query, built, page, cursor),
    )
    attach_places(page.object_list, entry.seq, user.pk or 0)
    return SearchResult(page=page, query=query, term=built.term, audit_seq=entry.seq, rows=page.object_list)


# ---------------------------------------------------------------- rows for display


def picture_token(passage: Passage, audit_seq: int, user_id: int) -> str:
    """A signed reference to one passage's pictures, issued by an audited search: showing them is
    covered by that search's audit entry (which lists the passage), without an entry per thumbnail."""
    micros = (passage.received_at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    return signing.dumps([passage.pk, micros, audit_seq, user_id], salt=PICTURE_SALT, compress=True)


def read_picture_token(token: str) -> tuple[int, dt.datetime, int, int]:
    """(passage id, received_at, audit seq, user id); raises signing.BadSignature (expired included)."""
    pk, micros, seq, user_id = signing.loads(token, salt=PICTURE_SALT, max_age=PICTURE_MAX_AGE)
    at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))
    return int(pk), at, int(seq), int(user_id)


def _passage_url(pk: int) -> str:
    try:
        return reverse("vehicles:passage", args=[pk])
    except NoReverseMatch:  # vehicles-core's passage page not mounted
        return ""


def attach_places(rows: Iterable[Any], audit_seq: int, user_id: int) -> None:
    """Give each row its compound and entrance names and its picture links: three queries a page."""
    rows = list(rows)
    compounds = Compound.objects.only("pk", "name").in_bulk({r.compound_id for r in rows})
    entrances = Entrance.objects.only("pk", "name").in_bulk({r.entrance_id for r in rows if r.entrance_id})
    parking = ParkingEntrance.objects.only("pk", "name").in_bulk(
        {r.parking_entrance_id for r in rows if r.parking_entrance_id}
    )
    for row in rows:
        row.compound_obj = compounds.get(row.compound_id)
        row.place_obj = entrances.get(row.entrance_id) or parking.get(row.parking_entrance_id)
        token = picture_token(row, audit_seq, user_id)
        row.picture_links = [
            {"role": ref.get("role", ""), "url": reverse("vehicles:search_picture", args=[token, index])}
            for index, ref in enumerate(row.pictures or [])
            if isinstance(ref, dict) and ref.get("type") in {"image/jpeg", "image/png"}
        ]
        row.detail_url = _passage_url(row.pk)
