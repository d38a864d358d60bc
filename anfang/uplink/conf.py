"""Uplink settings. Read from Django settings when set there, else from the environment, so the
uplink can be configured without editing the shared settings module.

ANFANG_UPLINK_URL            base URL of the police 视图库, e.g. http://10.0.0.5:8080 ("" = sender off)
ANFANG_UPLINK_USER/PASSWORD  HTTP digest credentials (GA/T 1400 registration uses digest)
ANFANG_UPLINK_TOKEN          alternatively a bearer token (some provincial platforms)
ANFANG_UPLINK_USER_IDENTIFY  the `User-Identify` header: our platform's 20-digit code
ANFANG_UPLINK_CENTRE_CODE    8-digit GB/T 28181 centre code prefixed to device codes (Yingkou: 21080000)
ANFANG_UPLINK_MEDIA_BASE_URL absolute base URL the platform can fetch pictures from (StoragePath)
ANFANG_UPLINK_INLINE_IMAGES  1 = send each picture's bytes too (base64 `Data`), read from the media store
ANFANG_UPLINK_BATCH          messages per POST (a MotorVehicleListObject holds a list)
ANFANG_UPLINK_TIMEOUT        seconds per request
ANFANG_UPLINK_MAX_ATTEMPTS   attempts before a message is dead
ANFANG_UPLINK_MAX_AGE_DAYS   days after enqueue a failing message is dead
ANFANG_UPLINK_BACKOFF_BASE / _CAP  seconds: first retry delay, longest delay
ANFANG_UPLINK_KEEPALIVE_SECONDS    seconds between keepalives of the running sender
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "URL": "",
    "USER": "",
    "PASSWORD": "",
    "TOKEN": "",
    "USER_IDENTIFY": "",
    "CENTRE_CODE": "21080000",
    "MEDIA_BASE_URL": "",
    "INLINE_IMAGES": False,
    "BATCH": 50,
    "TIMEOUT": 10.0,
    "MAX_ATTEMPTS": 1000,
    "MAX_AGE_DAYS": 7,
    "BACKOFF_BASE": 10.0,
    "BACKOFF_CAP": 900.0,
    "LEASE_SECONDS": 120,
    "KEEPALIVE_SECONDS": 60.0,
}


def get(name: str) -> Any:
    key = f"ANFANG_UPLINK_{name}"
    default = DEFAULTS[name]
    if hasattr(settings, key):
        return getattr(settings, key)
    raw = os.environ.get(key)
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return type(default)(raw) if not isinstance(default, str) else raw
