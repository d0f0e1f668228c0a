"""fetch.py and the privacy of the watch: redirects (through a proxy, DNS rebinding), the headers kept as
evidence, and random request timing; against real local servers and a local SOCKS5 proxy."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.support.cli import run_cli, write_config
from tests.support.servers import Route, SourceFarm
from tests.support.socks import Socks5Proxy
from watcher.db.engine import open_engine
from watcher.db.tables import Snapshot
from watcher.errors import FetchError
from watcher.fetch import Fetcher, FetchSettings
from watcher.models import Fetched, SourceRequest

SETTINGS = FetchSettings(timeout=5, retries=0, backoff=0)


def fetch(request: SourceRequest, **kw: Any) -> Fetched:
    async def go() -> Fetched:
        async with Fetcher(SETTINGS) as fetcher:
            return await fetcher.fetch(request, **kw)

    return asyncio.run(go())


@pytest.fixture
def proxy() -> Iterator[Socks5Proxy]:
    p = Socks5Proxy(hosts={"hidden-service.onion": "127.0.0.1"})
    yield p
    p.stop()


def test_sent_headers_are_kept_as_evidence_without_secrets(
    farm: SourceFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_TEST_TOKEN", "s3cret-value")
    farm.set_routes([Route("/api", b"{}")])
    request = SourceRequest(f"{farm.base}/api", headers={"Authorization": "Token {env:WATCHER_TEST_TOKEN}"})
    got = fetch(request)
    assert got.sent["user-agent"].startswith("watcher")
    assert got.sent["authorization"] == "Token {env:WATCHER_TEST_TOKEN}"
    assert "s3cret-value" not in repr(got.sent)


def test_redirect_through_a_proxy_is_resolved_by_the_proxy(farm: SourceFarm, proxy: Socks5Proxy) -> None:
    """Resolving the redirect target here would leak it to the local resolver and could never reach a
    .onion name; before the fix it failed as "redirect to an unresolvable host refused"."""
    port = farm.server.port
    target = f"http://hidden-service.onion:{port}/feed"
    farm.set_routes(
        [Route("/start", b"", status=302, headers={"Location": target}), Route("/feed", b"items")]
    )
    got = fetch(SourceRequest(f"http://hidden-service.onion:{port}/start"), proxy=proxy.url)
    assert got.body == b"items" and got.url == target
    assert proxy.targets == [f"hidden-service.onion:{port}"] * 2


def test_redirect_through_a_proxy_to_a_literal_private_address_is_refused(
    farm: SourceFarm, proxy: Socks5Proxy
) -> None:
    farm.set_routes([Route("/start", b"", status=302, headers={"Location": "http://169.254.169.254/x"})])
    with pytest.raises(FetchError, match="private or local address refused"):
        fetch(SourceRequest(f"http://hidden-service.onion:{farm.server.port}/start"), proxy=proxy.url)


def test_redirect_whose_name_rebinds_to_loopback_is_refused(
    farm: SourceFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves to a public address when checked, to 127.0.0.1 when connecting."""
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host: Any, *args: Any, **kw: Any) -> Any:
        if host in ("rebind.example", b"rebind.example"):  # anyio asks in IDNA bytes
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, args[0] if args else 80))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    target = f"http://rebind.example:{farm.server.port}/secret"
    farm.set_routes([Route("/go", b"", status=302, headers={"Location": target}), Route("/secret", b"x")])
    with pytest.raises(FetchError, match="connected to a private or local address"):
        fetch(SourceRequest(f"{farm.base}/go"))


def test_snapshot_keeps_the_headers_sent(tmp_path: Path, farm: SourceFarm) -> None:
    farm.set_routes([Route("/feed", FEED, content_type="application/rss+xml")])
    config = write_config(tmp_path / "watcher.toml", CONFIG.format(db=tmp_path / "w.db", base=farm.base))
    assert run_cli("check", "-c", str(config)).code == 0
    with Session(open_engine(f"sqlite:///{tmp_path / 'w.db'}")) as s:
        (snapshot,) = s.exec(select(Snapshot)).all()
    sent = json.loads(snapshot.request_headers)
    assert sent["user-agent"] == farm.user_agents[0] and sent["accept-encoding"]


CONFIG = """
[watcher]
database = "sqlite:///{db}"
data_dir = "data"
[[person]]
id = "p"
name = "Robert McCalla"
[[source]]
id = "feed"
adapter = "rss"
[source.options]
url = "{base}/feed"
"""
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Nothing here</title><link>http://example.org/1</link><guid>1</guid></item></channel></rss>"""


def _spread(farm: SourceFarm, jitter: float) -> float:
    start = len(farm.hit_times)

    async def go() -> None:
        async with Fetcher(SETTINGS) as fetcher:
            urls = [f"{farm.base}/q?n={n}" for n in range(6)]
            await asyncio.gather(*(fetcher.fetch(SourceRequest(u), jitter=jitter) for u in urls))

    asyncio.run(go())
    times = farm.hit_times[start:]
    return max(times) - min(times)


def test_request_jitter_spreads_a_rounds_requests(farm: SourceFarm) -> None:
    """Six name searches fired together: with jitter they reach the source spread over time (no burst
    that counts the watchlist at a glance); without, they arrive together (the measurement can fail)."""
    farm.set_routes([Route("/q", b"{}")])
    assert _spread(farm, 0.0) < 0.15
    assert 0.15 < _spread(farm, 0.8) < 5 * 0.8 + 0.5  # five random gaps of up to 0.8 s
