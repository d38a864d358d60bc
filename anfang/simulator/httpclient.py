"""A small asyncio HTTP/1.1 client for pushing at a steady rate: a pool of keep-alive connections,
requests written as prepared bytes. Cheap per request (no per-request objects beyond the bytes),
so the simulator and the ISAPI benchmark measure the server rather than the client."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Tally:
    """Responses by class, transport errors, and the last error text for the progress line."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    last_error: str = ""

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.errors

    def by_class(self) -> dict[str, int]:
        classes: Counter[str] = Counter()
        for status, n in self.statuses.items():
            classes[f"{status // 100}xx"] += n
        return dict(classes)


def request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, data: bytes) -> tuple[int, bytes]:
        """Send one request, return (status, body). Reconnects once when a kept-alive connection
        turns out to be closed by the server."""
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                await self._open()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(data)
                await self.writer.drain()
                return await asyncio.wait_for(self._response(), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if fresh or attempt == 2:
                    raise ConnectionError(str(exc) or type(exc).__name__) from exc
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body, close = await self.reader.read(), True
        if close or status_line.startswith(b"HTTP/1.0"):
            self.close()
        return status, body


class Pool:
    """`concurrency` connections to one server; `submit` queues a request (bounded: it waits when
    all connections are busy and the queue is full, so a slow server slows the sender)."""

    def __init__(
        self,
        url: str,
        *,
        concurrency: int = 8,
        timeout: float = 10.0,
        on_response: Callable[[int, bytes], None] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http:// URLs are supported, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.netloc = parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.tally = Tally()
        self.on_response = on_response
        self.timeout = timeout
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=concurrency * 4)
        self.workers = [asyncio.ensure_future(self._work()) for _ in range(concurrency)]

    def prepare(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        return request_bytes(self.netloc, self.prefix + path, body, headers)

    async def submit(self, request: bytes) -> None:
        await self.queue.put(request)

    def backlog(self) -> int:
        return self.queue.qsize()

    async def _work(self) -> None:
        conn = Connection(self.host, self.port, self.timeout)
        try:
            while (request := await self.queue.get()) is not None:
                try:
                    status, body = await conn.send(request)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    self.tally.errors += 1
                    self.tally.last_error = f"{type(exc).__name__}: {exc}"[:200]
                    continue
                self.tally.statuses[status] += 1
                if status >= 400:
                    self.tally.last_error = f"HTTP {status}: {body[:160].decode('utf-8', 'replace')}"
                if self.on_response is not None:
                    self.on_response(status, body)
        finally:
            conn.close()

    async def close(self) -> None:
        """Finish what is queued, then close every connection."""
        for _ in self.workers:
            await self.queue.put(None)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.workers)
