"""Deliver due outbox messages to the police platform (Art 9), with retry and backoff.

One round (`send_due`): claim up to `batch` due messages (FOR UPDATE SKIP LOCKED on PostgreSQL,
so several senders never take the same row; a claim is a lease that runs out if the sender dies),
POST them as one GA/T 1400 list per kind, then record the outcome of every message in one
transaction. A message that fails is retried after a capped exponential backoff with jitter;
after MAX_ATTEMPTS attempts or MAX_AGE_DAYS days it is `dead` — kept, shown on the status page,
and can be re-queued. When the platform cannot be reached the round stops after the first batch
(a probe), so a day-long outage costs one request per round, and everything goes once it is back.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from django.db import connection, transaction

from . import choices as c
from . import conf, gat1400
from .models import OutboxMessage, UplinkAttempt

MAX_ERROR = 2000


class PlatformError(Exception):
    """The platform could not be reached or gave no usable answer: the whole batch failed."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


@dataclass(frozen=True)
class ObjectStatus:
    """The platform's verdict on one object (a ResponseStatusObject)."""

    id: str
    code: int
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True)
class Reply:
    http_status: int
    statuses: list[ObjectStatus]


class Client(Protocol):
    def post(self, kind: str, body: dict[str, Any]) -> Reply: ...


def parse_statuses(data: Any) -> list[ObjectStatus]:
    """ResponseStatusListObject.ResponseStatusObject[] or a single ResponseStatusObject."""
    if not isinstance(data, dict):
        raise PlatformError("应答不是 JSON 对象")
    if "ResponseStatusListObject" in data:
        items = (data["ResponseStatusListObject"] or {}).get("ResponseStatusObject")
    elif "ResponseStatusObject" in data:
        items = data["ResponseStatusObject"]
    else:
        raise PlatformError("应答缺少 ResponseStatusListObject / ResponseStatusObject")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise PlatformError("ResponseStatusObject 不是列表")
    statuses = []
    for item in items:
        try:
            code = int(item["StatusCode"])
        except (KeyError, TypeError, ValueError):
            raise PlatformError("ResponseStatusObject 缺少有效的 StatusCode") from None
        statuses.append(ObjectStatus(str(item.get("Id") or ""), code, str(item.get("StatusString") or "")))
    return statuses


class HttpClient:
    """GA/T 1400 client: registers with HTTP digest at /VIID/System/Register, then POSTs lists
    with the `User-Identify` header (or a bearer token when ANFANG_UPLINK_TOKEN is set); a 401
    means the registration lapsed, so it registers again and retries once."""

    def __init__(
        self,
        base_url: str,
        *,
        user: str = "",
        password: str = "",
        token: str = "",
        user_identify: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user, self.password, self.token = user, password, token
        self.user_identify = user_identify or user
        self.http = httpx.Client(timeout=timeout)
        self.registered = bool(token) or not user

    @classmethod
    def from_settings(cls) -> HttpClient:
        return cls(
            conf.get("URL"),
            user=conf.get("USER"),
            password=conf.get("PASSWORD"),
            token=conf.get("TOKEN"),
            user_identify=conf.get("USER_IDENTIFY"),
            timeout=float(conf.get("TIMEOUT")),
        )

    def close(self) -> None:
        self.http.close()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": gat1400.CONTENT_TYPE, "Accept": "application/json"}
        if self.user_identify:
            headers["User-Identify"] = self.user_identify
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _request(self, path: str, body: dict[str, Any], auth: httpx.Auth | None = None) -> httpx.Response:
        try:
            return self.http.post(
                self.base_url + path,
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers=self._headers(),
                auth=auth or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException:
            raise PlatformError("请求超时") from None
        except httpx.HTTPError as exc:
            raise PlatformError(f"无法连接公安平台：{exc.__class__.__name__}") from None

    def register(self) -> None:
        response = self._request(
            "/VIID/System/Register",
            {"RegisterObject": {"DeviceID": self.user_identify}},
            auth=httpx.DigestAuth(self.user, self.password),
        )
        if response.status_code != 200:
            raise PlatformError(f"注册失败：HTTP {response.status_code}", response.status_code)
        statuses = parse_statuses(_json(response))
        if not statuses or not statuses[0].ok:
            raise PlatformError(f"注册被拒绝：{statuses[0].text if statuses else ''}", response.status_code)
        self.registered = True

    def keepalive(self) -> bool:
        """POST /VIID/System/Keepalive (GA/T 1400 保活). A refusal means the platform forgot our
        registration: register again before the next data POST."""
        if not self.user_identify:
            return True
        try:
            response = self._request("/VIID/System/Keepalive", {"KeepaliveObject": {"DeviceID": self.user_identify}})
            ok = response.status_code == 200 and all(s.ok for s in parse_statuses(_json(response)))
        except PlatformError:
            return False
        if not ok and self.user and not self.token:
            self.registered = False
        return ok

    def post(self, kind: str, body: dict[str, Any]) -> Reply:
        if not self.registered:
            self.register()
        response = self._request(gat1400.RESOURCE[kind], body)
        if response.status_code == 401 and self.user and not self.token:
            self.registered = False
            self.register()
            response = self._request(gat1400.RESOURCE[kind], body)
        if response.status_code != 200:
            raise PlatformError(f"HTTP {response.status_code}", response.status_code)
        return Reply(response.status_code, parse_statuses(_json(response)))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PlatformError(f"应答不是 JSON（HTTP {response.status_code}）", response.status_code) from None


def backoff(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """Capped exponential backoff with jitter: base·2^(n-1), at most cap, scaled by [0.5, 1)."""
    base, cap = float(conf.get("BACKOFF_BASE")), float(conf.get("BACKOFF_CAP"))
    delay = min(cap, base * 2 ** min(max(attempts - 1, 0), 30))
    return dt.timedelta(seconds=delay * (0.5 + 0.5 * (rng or random).random()))


@dataclass
class RoundReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    stopped: str = ""  # why the round stopped early (the platform was unreachable)
    errors: list[str] = field(default_factory=list)


def claim(now: dt.datetime, batch: int) -> list[OutboxMessage]:
    """Take up to `batch` due messages under a lease (status SENDING until now + LEASE_SECONDS)."""
    lease = now + dt.timedelta(seconds=int(conf.get("LEASE_SECONDS")))
    with transaction.atomic():
        due = OutboxMessage.objects.filter(status__in=c.DUE_STATUSES, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "id"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:batch])
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids).update(status=c.Status.SENDING, next_attempt_at=lease)
    return list(OutboxMessage.objects.filter(id__in=ids).order_by("id"))


def _outcomes(messages: Sequence[OutboxMessage], reply: Reply) -> dict[int, tuple[bool, int | None, str]]:
    """Each message's (ok, platform status code, error) from the platform's status list: by Id,
    else by position when the platform echoes no ids."""
    by_id = {s.id: s for s in reply.statuses if s.id}
    outcomes: dict[int, tuple[bool, int | None, str]] = {}
    for index, message in enumerate(messages):
        status = by_id.get(message.external_id)
        if status is None and not by_id and index < len(reply.statuses):
            status = reply.statuses[index]
        if status is None:
            outcomes[message.pk] = (False, None, "平台应答中没有该条记录的状态")
        else:
            outcomes[message.pk] = (
                status.ok,
                status.code,
                "" if status.ok else f"StatusCode {status.code} {status.text}",
            )
    return outcomes


def _record(
    messages: Sequence[OutboxMessage],
    outcomes: dict[int, tuple[bool, int | None, str]],
    now: dt.datetime,
    http_status: int | None,
    duration_ms: int,
    report: RoundReport,
    rng: random.Random | None,
) -> None:
    max_attempts = int(conf.get("MAX_ATTEMPTS"))
    max_age = dt.timedelta(days=float(conf.get("MAX_AGE_DAYS")))
    attempts = []
    with transaction.atomic():
        for message in messages:
            ok, code, error = outcomes[message.pk]
            message.attempts += 1
            message.last_status_code = code if code is not None else http_status
            message.last_error = error[:MAX_ERROR]
            if ok:
                message.status, message.sent_at = c.Status.SENT, now
                report.sent += 1
            elif message.attempts >= max_attempts or now - message.queued_at >= max_age:
                message.status = c.Status.DEAD
                report.dead += 1
            else:
                message.status = c.Status.FAILED
                message.next_attempt_at = now + backoff(message.attempts, rng)
                report.failed += 1
            if error and error not in report.errors:
                report.errors.append(error)
            attempts.append(
                UplinkAttempt(
                    message=message,
                    at=now,
                    ok=ok,
                    http_status=http_status,
                    status_code=code,
                    error=error[:MAX_ERROR],
                    duration_ms=duration_ms,
                )
            )
        OutboxMessage.objects.bulk_update(
            messages,
            ["status", "attempts", "last_status_code", "last_error", "sent_at", "next_attempt_at", "updated_at"],
        )
        UplinkAttempt.objects.bulk_create(attempts)


def read_picture(path: str) -> bytes | None:
    from anfang.core import storage

    try:
        return storage.get_store().read({"path": path})
    except OSError:  # gone (retention) or the store is down: send the reference only
        return None


def _body(kind: str, group: Sequence[OutboxMessage]) -> dict[str, Any]:
    objects = [m.payload for m in group]
    if conf.get("INLINE_IMAGES"):
        objects = [gat1400.inline_images(obj, read_picture) for obj in objects]
    return gat1400.wrap(kind, objects)


def send_due(
    now: dt.datetime,
    client: Client,
    *,
    batch: int | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RoundReport:
    """One round: claim due messages and deliver them, one list POST per kind."""
    report = RoundReport()
    messages = claim(now, int(batch or conf.get("BATCH")))
    report.claimed = len(messages)
    by_kind: dict[str, list[OutboxMessage]] = defaultdict(list)
    for message in messages:
        by_kind[message.kind].append(message)
    for kind, group in by_kind.items():
        outcomes: dict[int, tuple[bool, int | None, str]]
        if report.stopped:
            # The platform is unreachable: hand the rest back untouched, due again at once.
            OutboxMessage.objects.filter(id__in=[m.pk for m in group]).update(
                status=c.Status.PENDING, next_attempt_at=now
            )
            continue
        started = clock()
        try:
            reply = client.post(kind, _body(kind, group))
        except PlatformError as exc:
            report.stopped = str(exc)
            outcomes = {m.pk: (False, None, str(exc)) for m in group}
            http_status = exc.http_status
        else:
            outcomes = _outcomes(group, reply)
            http_status = reply.http_status
        _record(group, outcomes, now, http_status, int((clock() - started) * 1000), report, rng)
    return report
