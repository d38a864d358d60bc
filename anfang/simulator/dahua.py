"""A fake Dahua device: the HTTP event stream of `eventManager.cgi?action=attach` behind digest
auth, as the device firmware serves it (see anfang.events.adapters.dahua for the format). Used by
the tests, the demo and `manage.py simulate`.

    device = start("127.0.0.1", 0, "admin", "secret")   # port 0: any free port
    device.emit("VideoMotion", "Start", 0)
    device.emit("CrossLineDetection", "Start", 0, data={"Name": "北门", "Direction": "LeftToRight"})
    device.stop()

Each attached client gets every emitted event and a `Heartbeat` part every `heartbeat` seconds
(from its query string). For fault tests `emit` can split a part across TCP writes or cut the
connection inside it, `drop()` closes every stream, and `replay_on_attach` re-sends the last parts
to a client that attaches again (what a device does that did not see them acknowledged)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import queue
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOUNDARY = "myboundary"
ATTACH_PATH = "/cgi-bin/eventManager.cgi"


# --- The wire format -----------------------------------------------------------------------------


def dahua_json(value: Any, level: int = 0) -> str:
    """JSON as Dahua firmware prints it: three-space indent, `"Key" : value`, short arrays inline
    with inner spaces (`[ 0, 1 ]`)."""
    pad, inner = "   " * level, "   " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_scalar(str(k))} : {dahua_json(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        if all(not isinstance(v, dict | list | tuple) for v in value):
            return "[ " + ", ".join(_scalar(v) for v in value) + " ]"
        return "[\n" + ",\n".join(inner + dahua_json(v, level + 1) for v in value) + "\n" + pad + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def record(code: str, action: str, index: int, data: dict[str, Any] | None = None) -> str:
    """`Code=…;action=…;index=…[;data={…}]`."""
    text = f"Code={code};action={action};index={index}"
    return text if data is None else f"{text};data={dahua_json(data)}"


def part(body: str | bytes) -> bytes:
    """One part of the stream, framed as the Dahua HTTP API shows it: the Content-Length counts the
    record with its line end (39 for `Code=VideoMotion;action=Start;index=0`), the heartbeat just
    its 9 letters, and a blank line follows."""
    text = body.encode() if isinstance(body, str) else body
    if text != b"Heartbeat":
        text += b"\r\n"
    return b"--%s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n" % (
        BOUNDARY.encode(),
        len(text),
        text,
    )


def event_part(code: str, action: str, index: int, data: dict[str, Any] | None = None) -> bytes:
    return part(record(code, action, index, data))


HEARTBEAT_PART = part("Heartbeat")


# --- Digest auth (RFC 7616, MD5, qop=auth), as Dahua devices challenge ----------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # the protocol's own hash


def _digest_fields(header: str) -> dict[str, str]:
    return {k.lower(): v1 or v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header)}


# --- The device ----------------------------------------------------------------------------------


@dataclass
class _Write:
    data: bytes
    split: Sequence[int] = ()
    cut_after: int | None = None


class _Stream:
    def __init__(self, codes: set[str] | None) -> None:
        self.codes = codes
        self.queue: queue.Queue[_Write | None] = queue.Queue()

    def wants(self, code: str | None) -> bool:
        return self.codes is None or code is None or code in self.codes


class DahuaDevice:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        realm: str = "Login to 6J0000ANFANG01",
        replay_on_attach: int = 0,
        split_delay: float = 0.02,
    ) -> None:
        self.username, self.password, self.realm = username, password, realm
        self.replay_on_attach = replay_on_attach
        self.split_delay = split_delay
        self._nonces: set[str] = set()
        self._streams: list[_Stream] = []
        self._recent: deque[tuple[str | None, bytes]] = deque(maxlen=64)
        self._lock = threading.Lock()
        self._attached = threading.Condition(self._lock)
        self.unauthorized = 0
        self.attaches = 0
        self.requests: list[tuple[str, int]] = []
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        address = self.server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-dahua-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def attached(self) -> int:
        with self._lock:
            return len(self._streams)

    def start(self) -> DahuaDevice:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for stream in self._streams:
                stream.queue.put(None)
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    # -- what tests and the simulator call -------------------------------------------------------

    def emit(
        self,
        code: str,
        action: str = "Pulse",
        index: int = 0,
        data: dict[str, Any] | None = None,
        *,
        split: Sequence[int] = (),
        cut_after: int | None = None,
    ) -> bytes:
        """Send one event to every attached client; returns the part as sent. `split`: byte
        offsets at which the part is cut into separate TCP writes; `cut_after`: close the
        connection after this many bytes of it."""
        return self.emit_raw(event_part(code, action, index, data), code=code, split=split, cut_after=cut_after)

    def emit_raw(
        self, data: bytes, *, code: str | None = None, split: Sequence[int] = (), cut_after: int | None = None
    ) -> bytes:
        """Send bytes as they are (a captured part, or a broken one)."""
        with self._lock:
            if data != HEARTBEAT_PART:
                self._recent.append((code, data))
            for stream in self._streams:
                if stream.wants(code):
                    stream.queue.put(_Write(data, split, cut_after))
        return data

    def heartbeat(self) -> None:
        self.emit_raw(HEARTBEAT_PART)

    def drop(self) -> None:
        """Close every attached stream (the device rebooting, a switch port flapping)."""
        with self._lock:
            for stream in self._streams:
                stream.queue.put(None)

    def wait_attached(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until `count` attaches have happened since the device started."""
        deadline = time.monotonic() + timeout
        with self._attached:
            while self.attaches < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._attached.wait(left)
        return True

    # -- HTTP -----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        device = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "Webs"  # what the firmware's web server calls itself

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if not device._authorized(self.headers.get("Authorization", ""), self.path):
                    device.requests.append((self.path, 401))
                    self._challenge()
                    return
                query = parse_qs(url.query)
                if url.path != ATTACH_PATH or query.get("action") != ["attach"] or "codes" not in query:
                    device.requests.append((self.path, 400))
                    self._plain(400, b"Error\r\nBad Request!\r\n")
                    return
                device.requests.append((self.path, 200))
                self._stream(query)

            def _challenge(self) -> None:
                nonce = secrets.token_hex(16)
                with device._lock:
                    device._nonces.add(nonce)
                    device.unauthorized += 1
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate",
                    f'Digest realm="{device.realm}", qop="auth", nonce="{nonce}", opaque="{secrets.token_hex(16)}"',
                )
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _plain(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, query: dict[str, list[str]]) -> None:
                codes_text = query["codes"][0].strip("[]")
                codes = None if codes_text in ("All", "") else set(codes_text.split(","))
                try:
                    heartbeat = max(1, int(query.get("heartbeat", ["60"])[0]))
                except ValueError:
                    heartbeat = 60
                stream = _Stream(codes)
                self.close_connection = True
                self.send_response(200)
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Pragma", "no-cache")
                self.send_header("Expires", "Thu, 01 Dec 2099 16:00:00 GMT")
                self.send_header("Connection", "close")
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                self.wfile.flush()
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with device._lock:
                    recent = list(device._recent)[-device.replay_on_attach :] if device.replay_on_attach else []
                    for code, data in recent:
                        if stream.wants(code):
                            stream.queue.put(_Write(data))
                    device._streams.append(stream)
                    device.attaches += 1
                    device._attached.notify_all()
                try:
                    self._pump(stream, heartbeat)
                finally:
                    with device._lock:
                        device._streams.remove(stream)

            def _pump(self, stream: _Stream, heartbeat: int) -> None:
                while True:
                    try:
                        item = stream.queue.get(timeout=heartbeat)
                    except queue.Empty:
                        item = _Write(HEARTBEAT_PART)
                    if item is None:
                        return
                    data = item.data if item.cut_after is None else item.data[: item.cut_after]
                    cuts = [0, *sorted(o for o in item.split if 0 < o < len(data)), len(data)]
                    try:
                        for a, b in itertools.pairwise(cuts):
                            self.wfile.write(data[a:b])
                            self.wfile.flush()
                            if b < len(data):
                                time.sleep(device.split_delay)
                    except OSError:
                        return
                    if item.cut_after is not None:
                        with contextlib.suppress(OSError):
                            self.connection.shutdown(socket.SHUT_RDWR)
                        return

        return Handler

    def _authorized(self, header: str, path: str) -> bool:
        if not header.lower().startswith("digest "):
            return False
        f = _digest_fields(header[7:])
        with self._lock:
            known = f.get("nonce") in self._nonces
        if not known or f.get("username") != self.username or f.get("realm") != self.realm or f.get("uri") != path:
            return False
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"GET:{path}")
        if f.get("qop") == "auth":
            expected = _md5(f"{ha1}:{f['nonce']}:{f.get('nc', '')}:{f.get('cnonce', '')}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{f['nonce']}:{ha2}")
        return hmac.compare_digest(expected, f.get("response", ""))


def start(
    host: str = "127.0.0.1", port: int = 0, username: str = "admin", password: str = "admin", **options: Any
) -> DahuaDevice:
    """A fake Dahua device serving its event stream on host:port (0 = any free port)."""
    return DahuaDevice(host, port, username, password, **options).start()
