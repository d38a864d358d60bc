"""Passage-shaped records for the uplink tests (the uplink reads only attributes, so these do not
depend on the vehicles app's model) and a helper to queue them."""

from __future__ import annotations

import datetime as dt
import types
from typing import Any

from anfang.uplink import gat1400
from anfang.uplink.services import Outgoing, enqueue_many

T0 = dt.datetime(2026, 11, 2, 8, 30, 0, tzinfo=dt.UTC)


def passage(pk: int, **fields: Any) -> types.SimpleNamespace:
    values: dict[str, Any] = {
        "pk": pk,
        "compound_id": None,
        "device_id": 7,
        "captured_at": T0 + dt.timedelta(seconds=pk % 10**8),
        "received_at": T0 + dt.timedelta(seconds=pk % 10**8 + 1),
        "plate": "辽H8A123",
        "confirmed_plate": "",
        "plate_colour": "blue",
        "plate_series": "ordinary",
        "confidence": 93,
        "lane": "1",
        "pictures": [
            {"path": f"aa/{pk:08d}.jpg", "type": "image/jpeg", "name": "scene.jpg", "role": "scene"},
            {"path": f"bb/{pk:08d}.jpg", "type": "image/jpeg", "name": "plate.jpg", "role": "plate"},
        ],
    }
    values.update(fields)
    return types.SimpleNamespace(**values)


def queue(compound_id: int, ids: range | list[int], now: dt.datetime = T0, **fields: Any) -> None:
    enqueue_many(
        [
            Outgoing(
                "motor_vehicle",
                pk,
                compound_id,
                gat1400.motor_vehicle(p := passage(pk, compound_id=compound_id, **fields)),
                gat1400.idempotency_key(p),
            )
            for pk in ids
        ],
        now=now,
    )
