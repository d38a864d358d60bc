"""Plate search (anfang.vehicles.search, the page and the API): the five match modes and their
wildcard semantics, a table of real-looking ANPR misreads the fuzzy search must find, scope both
ways (police by jurisdiction, managers by compound, out-of-scope never appears), the purpose rule,
the 90-day limit, and the audit entry every search writes (Art 33(5))."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from anfang.audit.models import AuditEntry
from anfang.core.choices import Role
from anfang.events.media import save_picture
from anfang.vehicles import search as s
from anfang.vehicles.models import Passage
from anfang.vehicles.plates import read_plate
from tests import factories as f

pytestmark = pytest.mark.django_db

PURPOSE = "案件编号 A2026-118：查找嫌疑车辆"


def jpeg(text: str = "plate", size: tuple[int, int] = (120, 40)) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, (30, 80, 190))
    ImageDraw.Draw(img).text((6, 10), text, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def make_passage(compound, raw: str, *, ago: dt.timedelta = dt.timedelta(hours=1), pictures=None, **extra) -> Passage:
    """A passage as vehicles-core stores it: the camera's read through `read_plate`."""
    read = read_plate(raw, extra.pop("colour", "blue"))
    at = timezone.now() - ago
    values: dict[str, Any] = {
        "compound": compound,
        "captured_at": at,
        "received_at": at,
        "plate": read.plate,
        "plate_raw": raw,
        "plate_valid": read.valid,
        "plate_series": read.series,
        "plate_colour": read.colour,
        "plate_skeleton": read.skeleton,
        "confidence": 90,
        "direction": "in",
        "pictures": pictures or [],
    }
    values.update(extra)
    return Passage.objects.create(**values)


def run(user, query: s.PlateQuery, purpose: str = PURPOSE, **params) -> s.SearchResult:
    request = RequestFactory().get("/vehicles/search/", params)
    request.user = user
    return s.search(request, query, purpose)


def plates_of(result: s.SearchResult) -> set[str]:
    return {p.plate for p in result.rows}


@pytest.fixture
def admin(db):
    return f.admin_user()


# ---------------------------------------------------------------- match modes


@pytest.fixture
def plates(world):
    cx = world["cx"]
    for raw in ["辽H12345", "辽H12346", "辽HD12345", "辽B12345", "京A12345", "辽H2234", "辽H1234警", "使196013"]:
        make_passage(cx, raw)
    return world


@pytest.mark.parametrize(
    ("mode", "term", "expected"),
    [
        ("exact", "辽H12345", {"辽H12345"}),
        ("exact", " 辽h·12345 ", {"辽H12345"}),  # normalised like the stored plate
        ("exact", "辽ＨI2345", {"辽H12345"}),  # full-width, and I in the serial is a 1
        ("exact", "辽H1234", set()),
        ("prefix", "辽H1", {"辽H12345", "辽H12346", "辽H1234警"}),
        ("prefix", "H1", set()),  # a prefix starts where the plate starts
        ("prefix", "辽HO", set()),  # O read as 0 after the office letter
        ("contains", "2345", {"辽H12345", "辽HD12345", "辽B12345", "京A12345"}),
        ("contains", "H2", {"辽H2234"}),
        ("contains", "警", {"辽H1234警"}),
        ("wildcard", "辽H1?34*", {"辽H12345", "辽H12346", "辽H1234警"}),
        ("wildcard", "辽H?2345", {"辽H12345"}),  # ? is exactly one character: not 辽HD12345
        ("wildcard", "辽H*2345", {"辽H12345", "辽HD12345"}),  # * may be a run …
        ("wildcard", "辽H12345*", {"辽H12345"}),  # … or nothing
        ("wildcard", "*6", {"辽H12346"}),
        ("wildcard", "辽H12345", {"辽H12345"}),  # without wildcards: the whole plate
        ("wildcard", "使*", {"使196013"}),
        ("fuzzy", "辽H1Z345", {"辽H12345"}),
        ("fuzzy", "辽8I2345", {"辽B12345"}),
        ("fuzzy", "辽HO12345", {"辽HD12345"}),
        ("fuzzy", "辽H?2345", {"辽H12345"}),  # wildcards work on the skeleton too
    ],
)
def test_modes(plates, admin, mode, term, expected):
    assert plates_of(run(admin, s.PlateQuery(term, mode))) == expected


def test_percent_and_underscore_are_literal(plates, admin):
    make_passage(plates["cx"], "辽H%345")
    assert plates_of(run(admin, s.PlateQuery("%", "contains"))) == {"辽H%345"}
    assert plates_of(run(admin, s.PlateQuery("辽H%*", "wildcard"))) == {"辽H%345"}
    assert plates_of(run(admin, s.PlateQuery("辽H%", "prefix"))) == {"辽H%345"}


def test_exact_finds_the_guards_correction(world, admin):
    make_passage(world["cx"], "辽H1Z345", confirmed_plate="辽H12345")
    result = run(admin, s.PlateQuery("辽H12345", "exact"))
    assert [p.confirmed_plate for p in result.rows] == ["辽H12345"]


# ---------------------------------------------------------------- the misread table

# (what the car carries, what the camera read, why it is plausible). The officer types the true
# plate; the fuzzy search must find the passage stored with the misread.
MISREADS = [
    ("辽H12345", "辽H1Z345", "2↔Z: the same stroke shape at low resolution"),
    ("辽B88888", "辽888888", "B↔8 on the office letter"),
    ("辽BB8123", "辽B8B123", "8↔B inside the serial"),
    ("京AD0123", "京A00123", "D↔0: rounded left edge lost"),
    ("沪AQ1234", "沪A01234", "Q↔0: the tail of Q lost in glare"),
    ("辽HL2345", "辽H12345", "L↔1: foot of L lost"),
    ("粤BS1234", "粤B51234", "S↔5"),
    ("苏EG1234", "苏E61234", "G↔6"),
    ("粤BDB1234", "粤BD81234", "B↔8 on a new-energy plate"),
    ("粤BD12345", "粤B012345", "D↔0 on the new-energy letter (read is invalid, still found)"),
    ("辽H8S0Z1", "辽HB5D21", "several confusions in one plate"),
    ("辽H0D123", "辽HDO123", "0↔D↔O next to each other"),
]


@pytest.mark.parametrize(("true_plate", "misread", "why"), MISREADS)
def test_fuzzy_search_finds_misreads(world, admin, true_plate, misread, why):
    make_passage(world["cx"], misread)
    make_passage(world["cx"], "辽H99999")  # an unrelated car
    found = run(admin, s.PlateQuery(true_plate, "fuzzy"))
    assert {p.plate_raw for p in found.rows} == {misread}, why
    # and the exact search does not: the misread is why fuzzy search exists
    if read_plate(misread).plate != read_plate(true_plate).plate:
        assert run(admin, s.PlateQuery(true_plate, "exact")).rows == []


def test_fuzzy_any_province_finds_a_misread_province(world, admin):
    make_passage(world["cx"], "京H12345")  # 辽 read as 京
    assert run(admin, s.PlateQuery("辽H12345", "fuzzy")).rows == []
    found = run(admin, s.PlateQuery("辽H12345", "fuzzy", any_province=True))
    assert plates_of(found) == {"京H12345"}


def test_fuzzy_does_not_fold_unrelated_characters(world, admin):
    make_passage(world["cx"], "辽H12346")
    make_passage(world["cx"], "辽H1234T")
    assert run(admin, s.PlateQuery("辽H12345", "fuzzy")).rows == []


# ---------------------------------------------------------------- filters


def test_time_range_direction_and_compound(world, admin):
    cx, cu = world["cx"], world["cu"]
    make_passage(cx, "辽H12345", ago=dt.timedelta(days=2), direction="in")
    make_passage(cx, "辽H12345", ago=dt.timedelta(days=10), direction="out")
    make_passage(cu, "辽H12345", ago=dt.timedelta(hours=2), direction="out")
    now = timezone.now()
    week = s.PlateQuery("辽H12345", "exact", since=now - dt.timedelta(days=7), until=now)
    assert len(run(admin, week).rows) == 2
    month = s.PlateQuery("辽H12345", "exact", since=now - dt.timedelta(days=30), until=now)
    assert len(run(admin, month).rows) == 3
    outs = s.PlateQuery("辽H12345", "exact", since=now - dt.timedelta(days=30), until=now, direction="out")
    assert {p.compound_id for p in run(admin, outs).rows} == {cx.pk, cu.pk}
    only_cu = s.PlateQuery("辽H12345", "exact", since=now - dt.timedelta(days=30), until=now, compounds=(cu.pk,))
    assert {p.compound_id for p in run(admin, only_cu).rows} == {cu.pk}


@pytest.mark.parametrize(
    ("query", "field", "fragment"),
    [
        (s.PlateQuery("", "exact"), "q", "请输入车牌号"),
        (s.PlateQuery("**", "wildcard"), "q", "请输入车牌号"),
        (s.PlateQuery("辽H" + "1" * 20, "contains"), "q", "最多16个字符"),
        (s.PlateQuery("辽H12345", "soundex"), "mode", "未知的查询方式"),
        (s.PlateQuery("辽H12345", "exact", direction="up"), "direction", "未知的行驶方向"),
        (
            s.PlateQuery("辽H12345", "exact", since=timezone.now() - dt.timedelta(days=91)),
            "since",
            "最多90天",
        ),
        (
            s.PlateQuery("辽H12345", "exact", since=timezone.now(), until=timezone.now() - dt.timedelta(days=1)),
            "since",
            "开始时间必须早于结束时间",
        ),
    ],
)
def test_bad_queries_are_refused_by_field_and_not_audited(world, admin, query, field, fragment):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        run(admin, query)
    assert any(fragment in m for m in exc.value.message_dict[field])
    assert not AuditEntry.objects.exists()


def test_ninety_days_are_allowed(world, admin):
    make_passage(world["cx"], "辽H12345", ago=dt.timedelta(days=89))
    now = timezone.now()
    query = s.PlateQuery("辽H12345", "exact", since=now - dt.timedelta(days=90), until=now)
    assert len(run(admin, query).rows) == 1


# ---------------------------------------------------------------- scope and purpose


@pytest.fixture
def scoped(world):
    for key in ("cx", "cy", "cu"):
        make_passage(world[key], "辽H12345")
    ids = {world[k].pk: k for k in ("cx", "cy", "cu")}
    return world, ids


@pytest.mark.parametrize(
    ("role", "org", "visible"),
    [
        (Role.POLICE_STATION, "station_a", {"cx", "cu"}),
        (Role.POLICE_STATION, "station_b", {"cy"}),
        (Role.POLICE_DISTRICT, "district", {"cx", "cy", "cu"}),
        (Role.POLICE_CITY, "city", {"cx", "cy", "cu"}),
        (Role.PROPERTY_MANAGER, "company_x", {"cx"}),
        (Role.PROPERTY_MANAGER, "company_y", {"cy"}),
        (Role.COMMUNITY_MANAGER, "community", {"cu"}),
    ],
)
def test_scope(scoped, role, org, visible):
    world, ids = scoped
    user = f.user_with(role, world[org])
    result = run(user, s.PlateQuery("辽H12345", "exact"))
    assert {ids[p.compound_id] for p in result.rows} == visible
    # naming an out-of-scope compound yields nothing, not an error and not a leak
    outside = [pk for pk, key in ids.items() if key not in visible]
    if outside:
        assert run(user, s.PlateQuery("辽H12345", "exact", compounds=tuple(outside))).rows == []


def test_scope_as_a_semi_join_for_wide_jurisdictions(scoped, monkeypatch):
    """Above ID_LIST_MAX compounds the scope is a subquery: same rows, both ways."""
    world, ids = scoped
    monkeypatch.setattr(s, "ID_LIST_MAX", 1)
    user = f.user_with(Role.POLICE_STATION, world["station_a"])
    assert {ids[p.compound_id] for p in run(user, s.PlateQuery("辽H12345", "exact")).rows} == {"cx", "cu"}
    assert run(user, s.PlateQuery("辽H12345", "exact", compounds=(world["cy"].pk,))).rows == []


@pytest.mark.parametrize("role", [Role.GUARD, Role.DUTY_OPERATOR])
def test_guards_and_operators_may_not_search(scoped, role):
    from django.core.exceptions import PermissionDenied

    world, _ = scoped
    user = f.user_with(role, world["company_x"])
    with pytest.raises(PermissionDenied):
        run(user, s.PlateQuery("辽H12345", "exact"))


@pytest.mark.parametrize("purpose", ["", "   ", "查案"])
@pytest.mark.parametrize("role", [Role.POLICE_STATION, Role.PROPERTY_MANAGER])
def test_purpose_is_required(scoped, role, purpose):
    from django.core.exceptions import ValidationError

    world, _ = scoped
    user = f.user_with(role, world["station_a" if role == Role.POLICE_STATION else "company_x"])
    with pytest.raises(ValidationError) as exc:
        run(user, s.PlateQuery("辽H12345", "exact"), purpose=purpose)
    assert "查询事由" in exc.value.message_dict["purpose"][0]
    assert not AuditEntry.objects.exists()


def test_every_search_is_audited_with_purpose_query_filters_and_count(scoped):
    world, _ = scoped
    officer = f.user_with(Role.POLICE_STATION, world["station_a"], username="officer-wang")
    result = run(officer, s.PlateQuery("辽H1?345", "wildcard", direction="in"))
    entry = AuditEntry.objects.get()
    assert entry.seq == result.audit_seq
    assert (entry.actor_id, entry.actor_name) == (officer.pk, "officer-wang")
    assert (entry.action, entry.object_type, entry.purpose) == ("search", "vehicles.search", PURPOSE)
    assert entry.detail["query"] == "辽H1?345"
    assert entry.detail["term"] == "辽H1?345"
    assert entry.detail["filters"]["mode"] == "wildcard"
    assert entry.detail["filters"]["direction"] == "in"
    assert entry.detail["count"] == 2
    since, until = (dt.datetime.fromisoformat(v) for v in entry.detail["period"])
    assert until - since == dt.timedelta(days=s.DEFAULT_DAYS)
    assert sorted(entry.detail["passages"]) == sorted(p.pk for p in result.rows)
    # a search that finds nothing is audited too
    run(officer, s.PlateQuery("京A00000", "exact"))
    assert AuditEntry.objects.latest("seq").detail["count"] == 0


# ---------------------------------------------------------------- paging


def test_pages_by_key_and_audits_each_page(world, admin):
    for i in range(25):
        make_passage(world["cx"], "辽H12345", ago=dt.timedelta(minutes=i + 1))
    first = run(admin, s.PlateQuery("辽H12345", "exact"))
    assert len(first.rows) == s.PER_PAGE and first.page.total == 25 and first.page.older
    second = run(admin, s.PlateQuery("辽H12345", "exact"), before=first.page.older)
    assert len(second.rows) == 5
    assert not {p.pk for p in first.rows} & {p.pk for p in second.rows}
    assert AuditEntry.objects.count() == 2
    assert AuditEntry.objects.latest("seq").detail["page"] == first.page.older


# ---------------------------------------------------------------- the page and the pictures


@pytest.fixture
def pictured(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    refs = [
        {**save_picture(jpeg("辽H12345"), name="plate.jpg"), "role": "plate"},
        {**save_picture(jpeg("scene", (320, 180)), name="scene.jpg"), "role": "scene"},
    ]
    passage = make_passage(world["cx"], "辽H12345", pictures=refs)
    other = make_passage(world["cy"], "辽H12345", pictures=refs)
    return world, passage, other


def _page(client, **params):
    base = {"q": "辽H12345", "mode": "exact", "purpose": PURPOSE}
    return client.get(reverse("vehicles:search"), {**base, **params})


def test_page_lists_scoped_passages_with_pictures(client, pictured):
    world, passage, _ = pictured
    officer = f.user_with(Role.POLICE_STATION, world["station_a"])
    client.force_login(officer)
    response = _page(client)
    assert response.status_code == 200
    rows = response.context["result"].rows
    assert [p.pk for p in rows] == [passage.pk]
    html = response.content.decode()
    assert "民警查询须填写查询事由" in html
    links = rows[0].picture_links
    assert [pic["role"] for pic in links] == ["plate", "scene"]
    for pic in links:
        assert pic["url"] in html
        picture = client.get(pic["url"])
        assert picture.status_code == 200
        assert picture["Content-Type"] == "image/jpeg"
        assert b"".join(picture.streaming_content).startswith(b"\xff\xd8\xff")
    # showing the thumbnails did not add entries: the search's entry covers them
    assert AuditEntry.objects.count() == 1


def test_page_without_purpose_shows_the_rule_and_runs_nothing(client, pictured):
    world, *_ = pictured
    client.force_login(f.user_with(Role.PROPERTY_MANAGER, world["company_x"]))
    response = _page(client, purpose="")
    assert response.status_code == 400
    assert response.context["result"] is None
    assert response.context["form"].errors["purpose"]
    assert "物业和社区管理人员查询同样须填写事由" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_page_refuses_a_period_over_90_days(client, pictured):
    world, *_ = pictured
    client.force_login(f.user_with(Role.POLICE_CITY, world["city"]))
    now = timezone.localtime()
    response = _page(
        client,
        since=(now - dt.timedelta(days=120)).strftime("%Y-%m-%dT%H:%M"),
        until=now.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 400
    assert "最多90天" in str(response.context["form"].errors["since"])


def test_page_empty_form_and_refusals(client, pictured):
    world, *_ = pictured
    client.force_login(f.user_with(Role.POLICE_STATION, world["station_a"]))
    blank = client.get(reverse("vehicles:search"))
    assert blank.status_code == 200 and blank.context["result"] is None
    assert not AuditEntry.objects.exists()
    client.force_login(f.user_with(Role.GUARD, world["company_x"]))
    assert _page(client).status_code == 403
    client.logout()
    assert _page(client).status_code == 302  # to the login page


def test_picture_links_are_bound_to_user_scope_and_signature(client, pictured):
    world, passage, other = pictured
    station_a = f.user_with(Role.POLICE_STATION, world["station_a"])
    city = f.user_with(Role.POLICE_CITY, world["city"])
    client.force_login(city)
    rows = _page(client).context["result"].rows
    link_b = next(p for p in rows if p.pk == other.pk).picture_links[0]["url"]
    assert client.get(link_b).status_code == 200
    # another officer cannot use the city officer's link, even for a passage in their own scope
    link_a = next(p for p in rows if p.pk == passage.pk).picture_links[0]["url"]
    client.force_login(station_a)
    assert client.get(link_a).status_code == 404
    # a forged or damaged token, or an index out of range
    assert client.get(reverse("vehicles:search_picture", args=["forged:token", 0])).status_code == 404
    own = _page(client).context["result"].rows[0].picture_links[0]["url"]
    assert client.get(own.replace("/0/", "/7/")).status_code == 404


def test_picture_out_of_scope_after_the_grant_is_gone(client, pictured):
    world, *_ = pictured
    manager = f.user_with(Role.PROPERTY_MANAGER, world["company_x"])
    client.force_login(manager)
    url = _page(client).context["result"].rows[0].picture_links[0]["url"]
    from anfang.core.models import RoleGrant

    RoleGrant.objects.filter(user=manager).update(organisation=world["company_y"])
    client.force_login(manager)
    assert client.get(url).status_code == 404


# ---------------------------------------------------------------- the API


def _api(client, **params):
    base = {"q": "辽H12345", "mode": "exact", "purpose": PURPOSE}
    return client.get("/api/vehicles/search/", {**base, **params})


def test_api_search(client, pictured):
    world, passage, _ = pictured
    client.force_login(f.user_with(Role.POLICE_STATION, world["station_a"]))
    response = _api(client)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [item["id"] for item in body["items"]] == [passage.pk]
    assert body["count"] == 1 and body["term"] == "辽H12345"
    assert [p["role"] for p in body["items"][0]["pictures"]] == ["plate", "scene"]
    assert client.get(body["items"][0]["pictures"][0]["url"]).status_code == 200
    entry = AuditEntry.objects.get()
    assert entry.seq == body["audit_seq"] and entry.purpose == PURPOSE


def test_api_refusals(client, pictured):
    world, *_ = pictured
    client.force_login(f.user_with(Role.POLICE_STATION, world["station_a"]))
    missing = client.get("/api/vehicles/search/", {"q": "辽H12345"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"][-1] == "purpose"
    short = _api(client, purpose="查案")
    assert short.status_code == 422 and short.json()["detail"][0]["loc"] == ["query", "purpose"]
    since = (timezone.now() - dt.timedelta(days=100)).isoformat()
    wide = _api(client, since=since)
    assert wide.status_code == 422 and wide.json()["detail"][0]["loc"] == ["query", "since"]
    assert _api(client, mode="soundex").status_code == 422
    assert not AuditEntry.objects.exists()
    client.force_login(f.user_with(Role.GUARD, world["company_x"]))
    assert _api(client).status_code == 403
    client.logout()
    assert _api(client).status_code == 401


def test_api_paging(client, world, admin):
    for i in range(23):
        make_passage(world["cx"], "辽H12345", ago=dt.timedelta(minutes=i + 1))
    client.force_login(admin)
    first = _api(client).json()
    assert len(first["items"]) == s.PER_PAGE and first["older"]
    second = _api(client, before=first["older"]).json()
    assert len(second["items"]) == 3 and second["newer"]
