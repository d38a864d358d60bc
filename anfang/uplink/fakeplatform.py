"""A local stand-in for the police 视图库 (GA/T 1400), for tests and the demo.

A threaded HTTP server on 127.0.0.1 that speaks the subset the uplink uses: digest-authenticated
registration (/VIID/System/Register), keepalive, and list POSTs to /VIID/MotorVehicles. It
validates every object's shape (ids, lengths, code tables, times) and answers a
ResponseStatusListObject with one status per object. It can misbehave on purpose: a share of
requests answered 500, a share answered too late (the objects are recorded first, so the sender
times out on a delivery that did arrive and resends it), a share of objects refused with a
non-zero StatusCode, or the whole platform down (503 or connection reset). It records what it
received and counts duplicate ids, so tests can check that every record arrived exactly once in
effect.

    python -m anfang.uplink.fakeplatform --port 8941 --failure-rate 0.2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIGITS = re.compile(r"^\d+$")
TIME = re.compile(r"^\d{14}$")
PLATE_CLASSES = {f"{n:02d}" for n in (*range(1, 18), 20, 21, 22, 23, 24, 25, 26, 27, 31, 32, 51, 52, 99)}
COLOURS = {str(n) for n in range(1, 14)} | {"99"}
IMAGE_TYPES = {f"{n:02d}" for n in range(1, 15)} | {"100"}
REALM = "VIID"

OK, INVALID, REFUSED = 0, 4, 1  # StatusCode: 0 OK; non-zero otherwise (the fake's choice)


def _status(request_url: str, code: int, text: str, object_id: str = "") -> dict[str, Any]:
    return {
        "RequestURL": request_url,
        "StatusCode": code,
        "StatusString": text,
        "Id": object_id,
        "LocalTime": time.strftime("%Y%m%d%H%M%S"),
    }


def problems(obj: Any) -> list[str]:
    """What is wrong with one MotorVehicleObject (field named in each problem); [] when valid."""
    if not isinstance(obj, dict):
        return ["MotorVehicleObject: 不是对象"]
    found = []

    def need(name: str, length: int | None = None, digits: bool = False) -> str:
        value = obj.get(name)
        if value in (None, ""):
            found.append(f"{name}: 缺失")
            return ""
        text = str(value)
        if length is not None and len(text) != length:
            found.append(f"{name}: 长度应为 {length}，实为 {len(text)}")
        if digits and not DIGITS.match(text):
            found.append(f"{name}: 应为数字")
        return text

    mv_id = need("MotorVehicleID", 48, digits=True)
    source = need("SourceID", 41, digits=True)
    device = need("DeviceID", 20, digits=True)
    if mv_id and source and not mv_id.startswith(source):
        found.append("MotorVehicleID: 前 41 位应为 SourceID")
    if source and device and not source.startswith(device):
        found.append("SourceID: 前 20 位应为 DeviceID")
    if str(obj.get("InfoKind")) not in ("0", "1", "2"):
        found.append("InfoKind: 应为 0/1/2")
    if not TIME.match(str(obj.get("PassTime", ""))):
        found.append("PassTime: 应为 yyyyMMddHHmmss")
    if not str(obj.get("PlateNo", "")).strip():
        found.append("PlateNo: 缺失（无法识别时应为“无车牌”）")
    if obj.get("PlateClass") is not None and str(obj["PlateClass"]) not in PLATE_CLASSES:
        found.append(f"PlateClass: 不在号牌种类代码表中（{obj['PlateClass']}）")
    if obj.get("PlateColor") is not None and str(obj["PlateColor"]) not in COLOURS:
        found.append(f"PlateColor: 不在颜色代码表中（{obj['PlateColor']}）")
    images = (obj.get("SubImageList") or {}).get("SubImageInfoObject", [])
    if not isinstance(images, list):
        found.append("SubImageList.SubImageInfoObject: 应为列表")
        images = []
    for n, image in enumerate(images):
        where = f"SubImageList.SubImageInfoObject[{n}]"
        if not isinstance(image, dict):
            found.append(f"{where}: 不是对象")
            continue
        if len(str(image.get("ImageID", ""))) != 41:
            found.append(f"{where}.ImageID: 长度应为 41")
        if str(image.get("Type", "")) not in IMAGE_TYPES:
            found.append(f"{where}.Type: 不在图像类型代码表中")
        if not image.get("StoragePath") and not image.get("Data"):
            found.append(f"{where}: StoragePath 与 Data 均为空")
        if not TIME.match(str(image.get("ShotTime", ""))):
            found.append(f"{where}.ShotTime: 应为 yyyyMMddHHmmss")
    return found


@dataclass
class Behaviour:
    """How the fake misbehaves (rates are per request, 0…1; `seed` makes it repeatable)."""

    failure_rate: float = 0.0  # HTTP 500
    timeout_rate: float = 0.0  # objects recorded, then the answer comes after `delay` seconds
    refuse_rate: float = 0.0  # per object: StatusCode != 0 (not recorded)
    delay: float = 1.0
    down: str = ""  # "", "503" or "reset": every request fails that way
    username: str = ""  # registration needs digest auth with these when set
    password: str = ""
    seed: int | None = None


@dataclass
class Received:
    """What the fake platform accepted, and how often it saw each id."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    rejected: list[tuple[str, list[str]]] = field(default_factory=list)
    registrations: int = 0
    user_identify: set[str] = field(default_factory=set)

    @property
    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.counts.items() if n > 1}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is expected here (the timeout behaviour).
        return


class FakePlatform:
    """Start with `with FakePlatform(...) as fake:`; `fake.url` is the base URL."""

    def __init__(self, port: int = 0, **behaviour: Any) -> None:
        self.behaviour = Behaviour(**behaviour)
        self.received = Received()
        self.lock = threading.Lock()
        self.rng = random.Random(self.behaviour.seed)
        self.registered: set[str] = set()
        self.nonces: set[str] = set()
        self.server = _Server(("127.0.0.1", port), self._handler())
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakePlatform:
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-viid", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _chance(self, rate: float) -> bool:
        with self.lock:
            return rate > 0 and self.rng.random() < rate

    # -- digest auth (RFC 2617, MD5, qop=auth) --------------------------------------------------
    def _challenge(self) -> str:
        nonce = secrets.token_hex(16)
        with self.lock:
            self.nonces.add(nonce)
        return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'

    def _digest_ok(self, header: str, method: str) -> bool:
        if not header.startswith("Digest "):
            return False
        parts = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
        b = self.behaviour
        if parts.get("username") != b.username or parts.get("nonce") not in self.nonces:
            return False

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5(f"{b.username}:{REALM}:{b.password}")
        ha2 = md5(f"{method}:{parts.get('uri', '')}")
        expected = md5(
            f"{ha1}:{parts['nonce']}:{parts.get('nc', '')}:{parts.get('cnonce', '')}:{parts.get('qop', '')}:{ha2}"
        )
        return secrets.compare_digest(expected, parts.get("response", ""))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/VIID+JSON;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                b = fake.behaviour
                with fake.lock:
                    fake.received.requests += 1
                if b.down == "reset":
                    self.connection.close()
                    self.close_connection = True
                    return
                if b.down:
                    self._send(503, {"error": "down"})
                    return
                if self.path == "/VIID/System/Register":
                    self._register(raw)
                elif self.path == "/VIID/System/Keepalive":
                    known = not b.username or self.headers.get("User-Identify", "") in fake.registered
                    self._send(
                        200,
                        {
                            "ResponseStatusObject": _status(
                                self.path, OK if known else INVALID, "OK" if known else "未注册"
                            )
                        },
                    )
                elif self.path == "/VIID/MotorVehicles":
                    self._motor_vehicles(raw)
                else:
                    self._send(404, {"ResponseStatusObject": _status(self.path, INVALID, "unknown resource")})

            def _register(self, raw: bytes) -> None:
                b = fake.behaviour
                if b.username and not fake._digest_ok(self.headers.get("Authorization", ""), "POST"):
                    self._send(401, {}, {"WWW-Authenticate": fake._challenge()})
                    return
                try:
                    device = str(json.loads(raw)["RegisterObject"]["DeviceID"])
                except (ValueError, KeyError, TypeError):
                    self._send(
                        400, {"ResponseStatusObject": _status(self.path, INVALID, "RegisterObject.DeviceID 缺失")}
                    )
                    return
                with fake.lock:
                    fake.registered.add(device)
                    fake.received.registrations += 1
                self._send(200, {"ResponseStatusObject": _status(self.path, OK, "OK", device)})

            def _motor_vehicles(self, raw: bytes) -> None:
                b = fake.behaviour
                who = self.headers.get("User-Identify", "")
                if b.username and who not in fake.registered:
                    self._send(401, {"ResponseStatusObject": _status(self.path, INVALID, "未注册")})
                    return
                if fake._chance(b.failure_rate):
                    self._send(500, {"error": "internal"})
                    return
                try:
                    objects = json.loads(raw)["MotorVehicleListObject"]["MotorVehicleObject"]
                    if not isinstance(objects, list):
                        raise TypeError
                except (ValueError, KeyError, TypeError):
                    self._send(
                        400,
                        {
                            "ResponseStatusObject": _status(
                                self.path, INVALID, "缺少 MotorVehicleListObject.MotorVehicleObject 列表"
                            )
                        },
                    )
                    return
                statuses = []
                for obj in objects:
                    object_id = str(obj.get("MotorVehicleID", "")) if isinstance(obj, dict) else ""
                    found = problems(obj)
                    if found:
                        with fake.lock:
                            fake.received.rejected.append((object_id, found))
                        statuses.append(_status(self.path, INVALID, "; ".join(found), object_id))
                    elif fake._chance(b.refuse_rate):
                        statuses.append(_status(self.path, REFUSED, "暂不能入库", object_id))
                    else:
                        with fake.lock:
                            fake.received.counts[object_id] += 1
                            fake.received.objects.setdefault(object_id, obj)
                            fake.received.user_identify.add(who)
                        statuses.append(_status(self.path, OK, "OK", object_id))
                if fake._chance(b.timeout_rate):
                    time.sleep(b.delay)  # recorded already: the client times out on a delivery that arrived
                self._send(200, {"ResponseStatusListObject": {"ResponseStatusObject": statuses}})

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake GA/T 1400 police platform (for the demo)")
    parser.add_argument("--port", type=int, default=8941)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--refuse-rate", type=float, default=0.0)
    parser.add_argument("--username", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    fake = FakePlatform(
        args.port,
        failure_rate=args.failure_rate,
        timeout_rate=args.timeout_rate,
        refuse_rate=args.refuse_rate,
        username=args.username,
        password=args.password,
    )
    print(f"fake 视图库 listening on {fake.url} (Ctrl-C to stop)")
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        with fake.lock:
            print(f"received {len(fake.received.objects)} records, {len(fake.received.duplicates)} duplicated ids")
        fake.server.server_close()


if __name__ == "__main__":
    main()
