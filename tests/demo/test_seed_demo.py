"""`manage.py seed_demo`: runs, is idempotent, resets, and gives every role a working login
that sees exactly its compounds."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from anfang.audit.models import AuditEntry, AuditVerification
from anfang.compounds import choices as cc
from anfang.compounds import models as cm
from anfang.core import demo
from anfang.core.choices import ChangeAction, OrgKind, Role
from anfang.core.models import ChangeRecord, Organisation, RoleGrant
from anfang.devices.models import Device

ALL_NAMES = {s.name for s in demo.COMPOUNDS}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module (it takes seconds); every test runs in its own rolled-back
    transaction on top, and the demo is wiped afterwards so other modules start clean."""
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()
        demo.reset()
        # A reset keeps the audit chain (append-only, Art 33(5)); the test database starts the
        # next module with an empty chain, as every other module expects.
        AuditEntry.objects.all().delete()
        AuditVerification.objects.all().delete()


def counts() -> dict[str, int]:
    return {
        "compounds": cm.Compound.objects.count(),
        "buildings": cm.Building.objects.count(),
        "devices": Device.objects.count(),
        "changes": ChangeRecord.objects.count(),
        "grants": RoleGrant.objects.count(),
        "orgs": Organisation.objects.count(),
        "users": get_user_model().objects.count(),
    }


def descendants(keys: tuple[str, ...]) -> set[str]:
    """Org keys at or under `keys`, from the demo definitions (not from the scoping code)."""
    found = set(keys)
    while True:
        more = {key for key, _kind, _name, parent, _extra in demo.ORGS if parent in found} - found
        if not more:
            return found
        found |= more


def expected_names(user: demo.DemoUser) -> set[str]:
    if user.role == Role.PLATFORM_ADMIN:
        return ALL_NAMES
    orgs = descendants(user.orgs)
    return {s.name for s in demo.COMPOUNDS if {s.station, s.community, s.company} & orgs or s.name in user.compounds}


def test_seed_creates_the_city(seeded, db):
    assert cm.Compound.objects.count() == 12
    assert "新建小区 12 个" in seeded
    assert Organisation.objects.filter(kind=OrgKind.POLICE_STATION).count() == 3
    assert Organisation.objects.filter(kind=OrgKind.DISTRICT_BUREAU).count() == 2
    assert Organisation.objects.filter(kind=OrgKind.PROPERTY_COMPANY).count() == 3
    assert Organisation.objects.filter(kind=OrgKind.COMMUNITY, parent__kind=OrgKind.STREET).count() == 4
    for kind in (OrgKind.DEVELOPER, OrgKind.DESIGNER, OrgKind.CONTRACTOR, OrgKind.SUPERVISOR, OrgKind.REVIEW_BODY):
        assert Organisation.objects.filter(kind=kind).exists(), kind
    statuses = set(cm.Compound.objects.values_list("status", flat=True))
    assert statuses == {c.value for c in cc.CompoundStatus}
    assert Device.objects.count() > 300


def test_login_table_is_printed(seeded):
    for user in demo.USERS:
        assert user.username in seeded
    assert demo.DEMO_PASSWORD in seeded


def test_second_run_changes_nothing(seeded, db):
    before = counts()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert counts() == before
    assert "新建小区 0 个" in out.getvalue()


def test_reset_wipes_and_recreates(seeded, db):
    compound = cm.Compound.objects.get(name="金域华府")
    compound.note = "被改动"
    compound.save()
    cm.Building.objects.create(compound=compound, name="临时楼")
    before = counts()
    call_command("seed_demo", "--reset", stdout=StringIO())
    after = counts()
    assert after["buildings"] == before["buildings"] - 1
    assert {k: v for k, v in after.items() if k != "buildings"} == {k: v for k, v in before.items() if k != "buildings"}
    assert cm.Compound.objects.get(name="金域华府").note.startswith("示范小区")
    assert not cm.Building.objects.filter(name="临时楼").exists()


def test_reset_on_empty_database_just_seeds(db):
    call_command("seed_demo", "--reset", stdout=StringIO())
    assert cm.Compound.objects.count() == 12


def test_history_exists_and_is_system_made(seeded, db):
    compound = cm.Compound.objects.get(name="金域华府")
    # The registry's history: one record per compound, part and device (the domain apps' demo
    # data — a legal hold, patrol checkpoints — keeps its own history beside it).
    registry = {ContentType.objects.get_for_model(m) for m in (cm.Compound, *cm.PART_MODELS, Device)}
    records = ChangeRecord.objects.filter(compound=compound, content_type__in=registry)
    assert records.filter(action=ChangeAction.CREATE, object_id=str(compound.pk)).exists()
    assert records.count() == 1 + sum(m.objects.filter(compound=compound).count() for m in cm.PART_MODELS) + (
        compound.devices.count()
    )
    assert not records.exclude(actor=None).exists()


@pytest.mark.parametrize("user", demo.USERS, ids=lambda u: u.username)
def test_every_demo_user_logs_in_and_sees_their_compounds(seeded, client, user):
    assert client.login(username=user.username, password=demo.DEMO_PASSWORD)
    account = get_user_model().objects.get(username=user.username)
    visible = set(cm.Compound.objects.visible_to(account).values_list("name", flat=True))
    assert visible
    assert visible == expected_names(user)
    page = client.get("/compounds/")
    assert page.status_code == 200
    text = page.content.decode()
    for name in visible:
        assert name in text
    for name in ALL_NAMES - visible:
        assert name not in text


def test_wrong_password_is_refused(seeded, client):
    assert not client.login(username="police-city", password="wrong")


def test_every_role_has_a_demo_user():
    assert {u.role for u in demo.USERS} == {r.value for r in Role}


def test_admin_reaches_django_admin_and_others_do_not(seeded, client):
    assert client.login(username="admin", password=demo.DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200
    client.logout()
    assert client.login(username="property", password=demo.DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 302


def test_compounds_differ_per_article(seeded, db):
    """The variants the demo promises are really there, so compliance findings will differ."""
    c = {x.name: x for x in cm.Compound.objects.all()}
    model = c["金域华府"]
    assert model.duty_rooms.get().area_m2 == 25 and model.duty_rooms.get().entrance.role == cc.EntranceRole.MAIN
    assert not model.perimeter_segments.exclude(electronic_protection=True).exists()
    assert all(e.device_set.filter(device_type="camera").exists() for e in model.elevators.all())
    assert all(u.device_set.filter(device_type="camera").exists() for u in model.units.all())
    main = model.entrances.get(role=cc.EntranceRole.MAIN)
    assert main.device_set.filter(anpr=True, police_linked=True).exists()
    assert c["滨海名都"].perimeter_segments.filter(barrier=cc.PerimeterBarrier.OPEN).count() == 1
    assert c["辽河湾小区"].duty_rooms.get().area_m2 == 19
    assert sum(not e.device_set.exists() for e in c["锦绣花园"].elevators.all()) == 1
    assert set(c["学府佳苑"].units.values_list("intercom", flat=True)) == {cc.IntercomKind.STANDALONE}
    unsurveyed = c["新兴里小区"]
    assert set(unsurveyed.units.values_list("entrance_door_standard", flat=True)) == {None}
    assert set(unsurveyed.perimeter_segments.values_list("electronic_protection", flat=True)) == {None}
    assert unsurveyed.year_built is None and unsurveyed.households is None
    assert c["机床厂宿舍"].devices.count() <= 2
    assert not c["春江花园"].devices.exclude(certificate_number="").exists()


def test_unmanaged_compounds_have_the_community_patrol_team(seeded, db):
    unmanaged = cm.Compound.objects.filter(property_company=None)
    assert unmanaged.count() >= 3
    for compound in unmanaged:
        team = compound.security_teams.get()
        assert team.kind == cc.TeamKind.PATROL_TEAM
        assert team.full_time
        assert team.provider == compound.community
