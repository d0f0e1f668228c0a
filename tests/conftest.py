from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import JsonReceiver, SourceFarm


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/fixtures/<adapter>/<case>.expected.json from the current parse output",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store and outbox tests run on both databases."""
    from tests.support.db import pg_schema_url, sqlite_url

    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        yield from pg_schema_url()


@pytest.fixture
def farm() -> Iterator[SourceFarm]:
    """A local source farm on 127.0.0.1 replaying whatever routes the test sets."""
    f = SourceFarm()
    yield f
    f.stop()


@pytest.fixture
def receiver() -> Iterator[JsonReceiver]:
    """A local webhook that Apprise's json:// posts alerts to."""
    r = JsonReceiver()
    yield r
    r.stop()
