"""Real local servers for tests: a source farm replaying recorded bodies, and alert receivers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


class QuickServer(HTTPServer):
    """pytest-httpserver's server, looking for a shutdown every 20 ms instead of every 500 ms: each
    test's teardown waited that half second per server, 80 s of the whole suite."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


@dataclass
class Route:
    path: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: a slow source


class SourceFarm:
    """Serves routes on 127.0.0.1; `set_routes` swaps what the 'source' publishes between rounds."""

    def __init__(self) -> None:
        self.server = QuickServer(host="127.0.0.1", port=0, threaded=True)
        self.routes: list[Route] = []
        self.hits: list[str] = []
        self.hit_times: list[float] = []  # time.monotonic() of each hit, for pacing tests
        self.user_agents: list[str] = []
        self.server.expect_request(re.compile(r"^/.*")).respond_with_handler(self._handle)
        self.server.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def set_routes(self, routes: list[Route]) -> None:
        self.routes = list(routes)

    def _handle(self, request: Request) -> Response:
        self.hit_times.append(time.monotonic())
        self.hits.append(request.full_path)
        self.user_agents.append(request.headers.get("User-Agent", ""))
        best: Route | None = None
        for route in self.routes:
            if route.path != request.path:
                continue
            fits = all(request.args.get(k) == v for k, v in route.query.items())
            if fits and (best is None or len(route.query) > len(best.query)):
                best = route
        if best is None:
            return Response("not found", status=404)
        if best.delay:
            time.sleep(best.delay)
        return Response(
            best.body, status=best.status, content_type=best.content_type, headers=dict(best.headers)
        )

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()


class JsonReceiver:
    """What Apprise's json:// sends lands here; `down` answers 500 like a broken webhook."""

    def __init__(self) -> None:
        self.server = QuickServer(host="127.0.0.1", port=0, threaded=True)
        self.messages: list[dict[str, Any]] = []
        self.down = False
        self.server.expect_request("/notify", method="POST").respond_with_handler(self._handle)
        self.server.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.port}/notify"

    def _handle(self, request: Request) -> Response:
        if self.down:
            return Response("unavailable", status=500)
        self.messages.append(json.loads(request.get_data()))
        return Response("ok", status=200)

    def bodies(self) -> Iterator[str]:
        for m in self.messages:
            yield f"{m.get('title', '')}\n{m.get('message', '')}"

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()
