"""factory_boy factories for the registry. `org_tree()` builds the usual police/community tree."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from anfang.compounds import choices as cc
from anfang.compounds import models as cm
from anfang.core.choices import OrgKind, Role
from anfang.core.models import Organisation, RoleGrant
from anfang.devices import choices as dc
from anfang.devices.models import Device


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = OrgKind.PROPERTY_COMPANY
    name = factory.Sequence(lambda n: f"组织{n}")


def org_tree(prefix: str = "") -> dict[str, Organisation]:
    """City bureau → district → two stations; a street with a community; two property companies."""
    city = OrganisationFactory(kind=OrgKind.CITY_BUREAU, name=f"{prefix}营口市公安局")
    district = OrganisationFactory(kind=OrgKind.DISTRICT_BUREAU, name=f"{prefix}站前分局", parent=city)
    station_a = OrganisationFactory(kind=OrgKind.POLICE_STATION, name=f"{prefix}建设派出所", parent=district)
    station_b = OrganisationFactory(kind=OrgKind.POLICE_STATION, name=f"{prefix}跃进派出所", parent=district)
    street = OrganisationFactory(kind=OrgKind.STREET, name=f"{prefix}八田地街道")
    community = OrganisationFactory(kind=OrgKind.COMMUNITY, name=f"{prefix}青年社区", parent=street)
    company_x = OrganisationFactory(kind=OrgKind.PROPERTY_COMPANY, name=f"{prefix}安居物业")
    company_y = OrganisationFactory(kind=OrgKind.PROPERTY_COMPANY, name=f"{prefix}乐家物业")
    return {
        "city": city,
        "district": district,
        "station_a": station_a,
        "station_b": station_b,
        "street": street,
        "community": community,
        "company_x": company_x,
        "company_y": company_y,
    }


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("anfang-demo")


def user_with(
    role: str,
    organisation: Organisation | None = None,
    compound: cm.Compound | None = None,
    username: str | None = None,
):
    user = UserFactory(**({"username": username} if username else {}))
    RoleGrant.objects.create(user=user, role=role, organisation=organisation, compound=compound)
    return user


def admin_user():
    return user_with(Role.PLATFORM_ADMIN, username="platform-admin")


class CompoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.Compound

    name = factory.Sequence(lambda n: f"小区{n}")
    address = factory.Sequence(lambda n: f"营口市站前区测试路{n}号")
    police_station = factory.SubFactory(OrganisationFactory, kind=OrgKind.POLICE_STATION)
    property_company = factory.SubFactory(OrganisationFactory, kind=OrgKind.PROPERTY_COMPANY)
    status = cc.CompoundStatus.IN_USE
    households = 300


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.Building

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"{n}号楼")
    floors = 6


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.Unit

    building = factory.SubFactory(BuildingFactory)
    compound = factory.SelfAttribute("building.compound")
    name = factory.Sequence(lambda n: f"{n}单元")
    entrance_door_standard = True
    intercom = cc.IntercomKind.NETWORKED


class EntranceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.Entrance

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"出入口{n}")
    role = cc.EntranceRole.MAIN
    traffic = cc.Traffic.MIXED
    gate_type = cc.GateType.ELECTRIC_SLIDING
    barrier = cc.BarrierKind.ELECTRIC


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"摄像机{n}")
    subsystem = dc.Subsystem.VIDEO
    device_type = dc.DeviceType.CAMERA
    vendor = dc.Vendor.HIKVISION
    serial = factory.Sequence(lambda n: f"DS-2CD{n:08d}")


# --- Compound parts used by the compliance golden cases (issue 4) ---


class PerimeterSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.PerimeterSegment

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"周界{n}段")
    barrier = cc.PerimeterBarrier.WALL
    length_m = 120
    electronic_protection = True


class ParkingLotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.ParkingLot

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"停车场{n}")
    kind = cc.ParkingKind.UNDERGROUND
    spaces = 200


class ParkingEntranceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.ParkingEntrance

    parking_lot = factory.SubFactory(ParkingLotFactory)
    compound = factory.SelfAttribute("parking_lot.compound")
    name = factory.Sequence(lambda n: f"车库口{n}")
    barrier = cc.BarrierKind.ELECTRIC


class ElevatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.Elevator

    building = factory.SubFactory(BuildingFactory)
    compound = factory.SelfAttribute("building.compound")
    name = factory.Sequence(lambda n: f"{n}号梯")


class PublicAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.PublicArea

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"主干道{n}")
    kind = cc.AreaKind.MAIN_ROAD


class DutyRoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.DutyRoom

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"值班室{n}")
    area_m2 = 24
    relation = cc.DutyRoomRelation.MERGED
    is_monitoring_centre = True


class SecurityTeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.SecurityTeam

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"保安队{n}")
    kind = cc.TeamKind.GUARD_FORCE
    headcount = 12
    full_time = True


class HouseholdDoorSurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = cm.HouseholdDoorSurvey

    compound = factory.SubFactory(CompoundFactory)
    name = factory.Sequence(lambda n: f"户门调查{n}")
    surveyed_on = "2024-05-01"
    households_surveyed = 100
    standard_doors = 100
    lock_grade_b_or_above = 100
