"""A fake Hikvision recorder on a real socket: digest authentication (MD5, qop=auth), the NVR's
channel list (`GET /ISAPI/ContentMgmt/InputProxy/channels`) and the recording search
(`POST /ISAPI/ContentMgmt/search` with a CMSearchDescription → CMSearchResult, oldest segment first)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from defusedxml.ElementTree import fromstring

NS = "http://www.hikvision.com/ver20/XMLSchema"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _fields(header: str) -> dict[str, str]:
    return {k.lower(): a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header)}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    """`earliest`: channel → the start of its oldest recording (None: no recording)."""

    realm = "DS-7608NI"

    def __init__(self, earliest: dict[int, dt.datetime | None], username="admin", password="pass1234", broken=False):
        self.earliest, self.username, self.password, self.broken = earliest, username, password, broken
        self.nonces: set[str] = set()
        self.searches: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorized(self, method: str, header: str, path: str) -> bool:
        if not header.lower().startswith("digest "):
            return False
        f = _fields(header[7:])
        if f.get("nonce") not in self.nonces or f.get("username") != self.username or f.get("uri") != path:
            return False
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"{method}:{path}")
        expected = _md5(f"{ha1}:{f['nonce']}:{f.get('nc', '')}:{f.get('cnonce', '')}:auth:{ha2}")
        return hmac.compare_digest(expected, f.get("response", ""))

    def channels_xml(self) -> bytes:
        items = "".join(
            f"<InputProxyChannel><id>{c}</id><name>Camera {c:02d}</name></InputProxyChannel>" for c in self.earliest
        )
        return f'<?xml version="1.0" encoding="UTF-8"?><InputProxyChannelList version="2.0" xmlns="{NS}">{items}</InputProxyChannelList>'.encode()

    def search_xml(self, body: bytes) -> bytes:
        root = fromstring(body)
        ns = {"h": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {}
        track = int(root.findtext(".//h:trackID" if ns else ".//trackID", namespaces=ns))
        search_id = root.findtext(".//h:searchID" if ns else ".//searchID", namespaces=ns)
        self.searches.append(str(track))
        start = self.earliest.get(track // 100)
        if start is None:
            return (
                f'<?xml version="1.0" encoding="UTF-8"?><CMSearchResult version="2.0" xmlns="{NS}">'
                f"<searchID>{search_id}</searchID><responseStatus>true</responseStatus>"
                "<responseStatusStrg>NO MATCHES</responseStatusStrg><numOfMatches>0</numOfMatches><matchList/>"
                "</CMSearchResult>"
            ).encode()
        end = start + dt.timedelta(hours=1, minutes=20)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><CMSearchResult version="2.0" xmlns="{NS}">'
            f"<searchID>{search_id}</searchID><responseStatus>true</responseStatus>"
            "<responseStatusStrg>MORE</responseStatusStrg><numOfMatches>1</numOfMatches><matchList>"
            f"<searchMatchItem><sourceID>{{0000-0000}}</sourceID><trackID>{track}</trackID>"
            f"<timeSpan><startTime>{_iso(start)}</startTime><endTime>{_iso(end)}</endTime></timeSpan>"
            "<mediaSegmentDescriptor><contentType>video</contentType><codecType>H.264-BP</codecType>"
            f"<playbackURI>rtsp://127.0.0.1/Streaming/tracks/{track}/?starttime={start:%Y%m%dT%H%M%SZ}</playbackURI>"
            "</mediaSegmentDescriptor></searchMatchItem></matchList></CMSearchResult>"
        ).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _gate(self, method: str) -> bool:
                if rec.authorized(method, self.headers.get("Authorization", ""), self.path):
                    return True
                nonce = secrets.token_hex(16)
                rec.nonces.add(nonce)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self._answer(
                    401, headers={"WWW-Authenticate": f'Digest realm="{rec.realm}", qop="auth", nonce="{nonce}"'}
                )
                return False

            def do_GET(self) -> None:
                if not self._gate("GET"):
                    return
                if self.path == "/ISAPI/ContentMgmt/InputProxy/channels":
                    self._answer(200, rec.channels_xml())
                else:
                    self._answer(404)

            def do_POST(self) -> None:
                if not self._gate("POST"):
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/ISAPI/ContentMgmt/search":
                    self._answer(404)
                elif rec.broken:
                    self._answer(200, b"<CMSearchResult><oops")
                else:
                    self._answer(200, rec.search_xml(body))

        return Handler
