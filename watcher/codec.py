"""JSON forms of the stage values, for the parse cache, golden fixtures and evidence bundles."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from watcher.models import ParseResult, Record, SourceRequest

__all__ = [
    "parse_result_from_json",
    "parse_result_to_json",
    "record_from_json",
    "record_to_json",
    "request_from_json",
    "request_to_json",
]


def request_to_json(req: SourceRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"url": req.url, "purpose": req.purpose}
    if req.params:
        out["params"] = dict(req.params)
    if req.headers:
        out["headers"] = dict(req.headers)
    if req.method != "GET":
        out["method"] = req.method
    if req.body is not None:
        out["body_b64"] = base64.b64encode(req.body).decode()
    if req.for_record is not None:
        out["for_record"] = req.for_record
    if req.ok_statuses != frozenset({200}):
        out["ok_statuses"] = sorted(req.ok_statuses)
    if req.reuse_token is not None:
        out["reuse_token"] = req.reuse_token
    return out


def request_from_json(data: Mapping[str, Any]) -> SourceRequest:
    body = data.get("body_b64")
    return SourceRequest(
        url=data["url"],
        params=dict(data.get("params", {})),
        headers=dict(data.get("headers", {})),
        method=data.get("method", "GET"),
        body=base64.b64decode(body) if body is not None else None,
        purpose=data.get("purpose", "main"),
        for_record=data.get("for_record"),
        ok_statuses=frozenset(data.get("ok_statuses", [200])),
        reuse_token=data.get("reuse_token"),
    )


def record_to_json(record: Record) -> dict[str, Any]:
    return {"key": record.key, **record.content()}


def record_from_json(data: Mapping[str, Any]) -> Record:
    return Record.from_content(str(data["key"]), data)


def parse_result_to_json(result: ParseResult) -> dict[str, Any]:
    return {
        "records": [record_to_json(r) for r in result.records],
        "follow": [request_to_json(r) for r in result.follow],
        "complete": result.complete,
        "removed": list(result.removed),
        "cursor": result.cursor,
    }


def parse_result_from_json(data: Mapping[str, Any]) -> ParseResult:
    return ParseResult(
        records=[record_from_json(r) for r in data.get("records", [])],
        follow=[request_from_json(r) for r in data.get("follow", [])],
        complete=bool(data.get("complete", True)),
        removed=tuple(data.get("removed", [])),
        cursor=data.get("cursor"),
    )
