"""Protocol adapters, one module per protocol, each exposing `ADAPTER` (see base.Adapter)."""

from __future__ import annotations

from importlib import import_module

from .base import Adapter

MODULES = {
    "isapi": "anfang.events.adapters.isapi",
    "dahua": "anfang.events.adapters.dahua",
    "mqtt": "anfang.events.adapters.mqtt",
    "api": "anfang.events.adapters.batch",
}


def adapter_for(source: str) -> Adapter:
    return import_module(MODULES[source]).ADAPTER
