"""What every protocol adapter is: a pure translation of one received payload into canonical
events (DESIGN.md: one module per protocol, each with its own mapping table)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from anfang.devices.models import Device

from ..ingest import Incoming, Rejected


@dataclass(slots=True)
class Payload:
    """One thing a device (or integration) sent, as received."""

    body: bytes
    content_type: str
    received_at: dt.datetime
    source: str
    headers: dict[str, str] = field(default_factory=dict)
    remote_addr: str | None = None
    endpoint: str = ""


@dataclass(slots=True)
class Parsed:
    """Events made from a payload, and the parts of it that could not be used: each reject keeps
    its own fragment of the payload, so one bad event in a batch does not sink the rest."""

    events: list[Incoming] = field(default_factory=list)
    rejects: list[tuple[Rejected, bytes]] = field(default_factory=list)


class Adapter(Protocol):
    source: str

    def parse(self, payload: Payload, device: Device | None) -> Parsed:
        """Translate; raise Rejected when nothing in the payload can be used. `device` is the
        authenticated sender, or None for integrations that name a device per event."""
        ...


def mapped(table: dict[str, str], code: str, *, default: str = "unmapped") -> str:
    """Look a vendor code up in an adapter's table; unknown codes become `unmapped` (kept, with
    the raw code in `vendor_code`), never dropped."""
    return table.get(code, default)
