"""`watcher serve`: the page a confidential alert's link opens. Read-only; one alert per reference.

A confidential message carries `<public_url>/alerts/<n>?ref=<reference>`; the reference is an HMAC
only this watcher can make (watcher.reference). This server answers exactly that: alert n, when the
reference is the one made for it. Anything else (a wrong or missing reference, another path, a
listing) is the same 404, so it tells nothing about which alerts exist. It listens on 127.0.0.1 by
default and is meant to sit behind the operator's reverse proxy, which does TLS and login; references
never reach the log (they open the alert).
"""

from __future__ import annotations

import html
import json
import logging
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import Engine

from watcher.reference import check_reference
from watcher.review import alert_detail

__all__ = ["AlertServer", "alert_page"]

log = logging.getLogger(__name__)
_PATH = re.compile(r"/alerts/(\d{1,12})")
_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'",
}
NOT_FOUND = "No such alert, or not its reference. References are made by this watcher only."


class AlertServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.engine = engine

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def alert_page(detail: dict[str, Any]) -> str:
    """One alert in full, as text on a page: nothing from a source becomes markup or a link."""
    text = json.dumps(detail, ensure_ascii=False, indent=2)
    return _page(f"watcher alert #{detail['id']} ({detail['event']})", f"<pre>{html.escape(text)}</pre>")


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


class _Handler(BaseHTTPRequestHandler):
    server: AlertServer
    server_version = "watcher"
    sys_version = ""

    def do_GET(self) -> None:
        detail = self._alert()
        if detail is None:
            self._answer(404, _page("Not found", f"<p>{html.escape(NOT_FOUND)}</p>"))
        else:
            self._answer(200, alert_page(detail))

    def _alert(self) -> dict[str, Any] | None:
        parts = urlsplit(self.path)
        match = _PATH.fullmatch(parts.path)
        refs = parse_qs(parts.query).get("ref", [])
        if match is None or len(refs) != 1:
            return None
        number = check_reference(self.server.engine, refs[0])
        if number is None or number != int(match.group(1)):
            return None
        return alert_detail(self.server.engine, number)

    def _answer(self, status: int, page: str) -> None:
        body = page.encode("utf-8")
        self.send_response(status)
        for name, value in {**_HEADERS, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only: the query holds the reference, which opens the alert.
        log.info("serve %s %s %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.warning("serve: %s", re.sub(r"\?\S*", "?...", format % args))
