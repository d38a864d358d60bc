"""Filters shared by the compound list page and the API, so both answer the same question the
same way. Each takes a queryset and already-parsed values; None means "not filtered"."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class CompoundFilter:
    q: str | None = None  # name or address contains
    district: int | None = None  # district bureau id (parent of the station)
    police_station: int | None = None
    community: int | None = None
    property_company: int | None = None
    mode: str | None = None  # ManagementMode value (Art 5 / 6)
    status: str | None = None
    archived: bool | None = False  # default: hide archived compounds

    def apply(self, qs: QuerySet) -> QuerySet:
        if self.q:
            qs = qs.filter(Q(name__icontains=self.q) | Q(address__icontains=self.q))
        if self.district:
            qs = qs.filter(police_station__parent_id=self.district)
        if self.police_station:
            qs = qs.filter(police_station_id=self.police_station)
        if self.community:
            qs = qs.filter(community_id=self.community)
        if self.property_company:
            qs = qs.filter(property_company_id=self.property_company)
        if self.mode == "managed":
            qs = qs.filter(property_company__isnull=False)
        elif self.mode == "unmanaged":
            qs = qs.filter(property_company__isnull=True)
        if self.status:
            qs = qs.filter(status=self.status)
        if self.archived is not None:
            qs = qs.filter(archived_at__isnull=not self.archived)
        return qs


@dataclass(frozen=True)
class DeviceFilter:
    q: str | None = None  # name, serial, IP, model contains
    compound: int | None = None
    subsystem: str | None = None
    device_type: str | None = None
    vendor: str | None = None
    status: str | None = None

    def apply(self, qs: QuerySet) -> QuerySet:
        if self.q:
            qs = qs.filter(
                Q(name__icontains=self.q)
                | Q(serial__icontains=self.q)
                | Q(ip_address__startswith=self.q)
                | Q(model__icontains=self.q)
            )
        for field in ("compound", "subsystem", "device_type", "vendor", "status"):
            value = getattr(self, field)
            if value:
                qs = qs.filter(**{f"{field}_id" if field == "compound" else field: value})
        return qs
