"""fetch.py against a real local server: the bounds a hostile or broken server could abuse."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator

import pytest

from tests.support.servers import Route, SourceFarm
from watcher.errors import FetchError
from watcher.fetch import Fetcher, FetchSettings, Validators
from watcher.models import Fetched, SourceRequest

SETTINGS = FetchSettings(timeout=2, retries=1, backoff=0, max_body_bytes=100_000)


@pytest.fixture
def farm() -> Iterator[SourceFarm]:
    f = SourceFarm()
    yield f
    f.stop()


def fetch(request: SourceRequest, validators: Validators | None = None, **kw: object) -> Fetched:
    async def go() -> Fetched:
        async with Fetcher(kw.pop("settings", SETTINGS)) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch(request, validators=validators, **kw)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_url_query_is_kept_and_params_merged(farm: SourceFarm) -> None:
    """Regression: params=None used to drop the URL's own query (saved searches lost their criteria)."""
    farm.set_routes([Route("/rss", b"ok", query={"q": "extradition", "lang": "fr"})])
    assert fetch(SourceRequest(f"{farm.base}/rss?q=extradition&lang=fr")).body == b"ok"
    assert fetch(SourceRequest(f"{farm.base}/rss?q=extradition", params={"lang": "fr"})).body == b"ok"


def test_conditional_get_gives_not_modified(farm: SourceFarm) -> None:
    farm.set_routes([Route("/list", b"", status=304, headers={"ETag": '"v1"'})])
    got = fetch(SourceRequest(f"{farm.base}/list"), Validators('"v1"', None, "abc"))
    assert got.not_modified and got.sha256 == "abc"


def test_body_over_cap_is_refused(farm: SourceFarm) -> None:
    farm.set_routes([Route("/big", b"x" * 200_000)])
    with pytest.raises(FetchError, match="exceeds the cap"):
        fetch(SourceRequest(f"{farm.base}/big"))


def test_gzip_bomb_stops_at_cap(farm: SourceFarm) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    farm.set_routes([Route("/bomb", bomb, headers={"Content-Encoding": "gzip"})])
    with pytest.raises(FetchError, match="after decompression"):
        fetch(SourceRequest(f"{farm.base}/bomb"))


def test_redirect_into_loopback_is_refused(farm: SourceFarm) -> None:
    farm.set_routes(
        [Route("/go", b"", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})]
    )
    with pytest.raises(FetchError, match="private or local address refused"):
        fetch(SourceRequest(f"{farm.base}/go"))


def test_redirect_allowed_when_source_allows_private(farm: SourceFarm) -> None:
    farm.set_routes([Route("/go", b"", status=302, headers={"Location": "/there"}), Route("/there", b"here")])
    assert fetch(SourceRequest(f"{farm.base}/go"), allow_private=True).body == b"here"


def test_retry_status_then_error_names_status(farm: SourceFarm) -> None:
    farm.set_routes([Route("/busy", b"", status=503)])
    with pytest.raises(FetchError, match=r"HTTP 503.*after 2 attempts"):
        fetch(SourceRequest(f"{farm.base}/busy"))
    assert len([h for h in farm.hits if h.startswith("/busy")]) == 2


def test_slow_source_times_out(farm: SourceFarm) -> None:
    farm.set_routes([Route("/slow", b"late", delay=3)])
    with pytest.raises(FetchError, match="timed out"):
        fetch(SourceRequest(f"{farm.base}/slow"), settings=FetchSettings(timeout=0.5, retries=0))


def test_adapter_ok_status_is_returned(farm: SourceFarm) -> None:
    farm.set_routes([Route("/gone", b'{"status":404}', status=404)])
    got = fetch(SourceRequest(f"{farm.base}/gone", ok_statuses=frozenset({200, 404})))
    assert got.status == 404
