"""One generic test runs every adapter against its recorded fixtures (juriscraper's way).

Layout: tests/fixtures/<adapter>/<case>.case.json describes one recorded response:
    {"body": "<file beside it>", "url": "...", "options": {...}, "purpose": "main",
     "status": 200, "headers": {"content-type": "..."},
     "provenance": "shared/samples/... (real) | synthetic: written from SOURCES.md section N"}
and <case>.expected.json is the golden ParseResult. Rewrite goldens only with --update-goldens.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watcher.adapter import ManualAdapter, SourceAdapter
from watcher.codec import parse_result_to_json
from watcher.models import Fetched, SourceRequest
from watcher.registry import load_registry

FIXTURES = Path(__file__).parent / "fixtures"
REGISTRY = load_registry()


def _cases() -> list[tuple[str, Path]]:
    cases = []
    for name in REGISTRY.names():
        for case in sorted((FIXTURES / name).glob("*.case.json")):
            cases.append((name, case))
    return cases


@pytest.mark.parametrize("name", REGISTRY.names())
def test_every_adapter_has_a_recorded_fixture(name: str) -> None:
    folder = FIXTURES / name
    if issubclass(REGISTRY.get(name), ManualAdapter):
        assert (folder / "NO_FIXTURE.md").exists(), (
            f"manual adapter {name!r}: say in {folder}/NO_FIXTURE.md why"
        )
        return
    assert list(folder.glob("*.case.json")), f"adapter {name!r} has no fixture: add {folder}/<case>.case.json"


@pytest.mark.parametrize("name", REGISTRY.names())
def test_every_adapter_states_provenance(name: str) -> None:
    adapter = REGISTRY.get(name)
    assert adapter.__module__ == f"sources.{name}", "an adapter's name is its module name"
    assert len(adapter.provenance()) > 80, f"{name}: the docstring must give the provenance"
    assert adapter.title and adapter.homepage.startswith("http")


def load_case(case: Path) -> tuple[SourceAdapter, Fetched]:  # type: ignore[type-arg]
    meta = json.loads(case.read_text())
    adapter_cls = REGISTRY.get(case.parent.name)
    adapter = adapter_cls(adapter_cls.Options(**meta.get("options", {})))
    body = (case.parent / meta["body"]).read_bytes()
    request = SourceRequest(
        meta["url"], purpose=meta.get("purpose", "main"), for_record=meta.get("for_record")
    )
    fetched = Fetched(
        request=request,
        url=meta["url"],
        status=meta.get("status", 200),
        headers={k.lower(): v for k, v in meta.get("headers", {}).items()},
        body=body,
        sha256=hashlib.sha256(body).hexdigest(),
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return adapter, fetched


@pytest.mark.parametrize(("name", "case"), _cases(), ids=[f"{n}/{c.name}" for n, c in _cases()])
def test_parse_matches_golden(name: str, case: Path, request: pytest.FixtureRequest) -> None:
    meta = json.loads(case.read_text())
    assert meta.get("provenance"), f"{case}: say where the body came from (real sample or synthetic)"
    adapter, fetched = load_case(case)
    got = parse_result_to_json(adapter.parse(fetched))
    golden = case.with_name(case.name.replace(".case.json", ".expected.json"))
    if request.config.getoption("--update-goldens"):
        golden.write_text(json.dumps(got, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    assert golden.exists(), f"missing golden {golden}; run pytest --update-goldens and review it"
    assert got == json.loads(golden.read_text())
