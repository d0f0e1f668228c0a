"""`watcher evidence export`: everything a lawyer needs to show what a source published, and when.

A bundle is a folder with: `exchanges.warc.gz` (each HTTP exchange behind the alert, as WARC request and
response records, readable by any web-archive tool), `alert.json` (the alert and the parsed record),
`manifest.json` (every file's SHA-256, each snapshot's body hash and hash-chain entry), and `README.txt`
(what the bundle shows and what it does not).
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from watcher import __version__
from watcher.db.tables import Alert, RecordVersion, Snapshot
from watcher.errors import WatcherError
from watcher.evidence import BodyStore

__all__ = ["export_bundle"]

README = """\
watcher evidence bundle for alert #{alert_id} ({event}, source {source}, record {record})

What this bundle shows
- exchanges.warc.gz holds the HTTP exchanges watcher made with the source: the request it sent and the
  response it received (status, headers, body exactly as received after transfer decoding), with the time
  of each. Open it with any WARC tool (e.g. `warcio index`, pywb, replayweb.page).
- manifest.json gives the SHA-256 of every body and of every file here, and each exchange's entry in
  watcher's hash chain: each entry's hash covers the entry before it, so an entry changed or removed after
  the fact breaks every later hash. `watcher evidence verify` on the instance checks the whole chain.
- alert.json is what watcher made of the response: the parsed record, the matched name and why.

What it does not show
- That the source's content is true, or that the record is about the person: the match is watcher's
  judgement (its score and reasons are in alert.json), to be checked by a person.
- Who operated the source's server, or that nobody altered the response in transit beyond TLS.
- The time of an exchange independently of this watcher instance, unless the manifest carries a
  timestamp from a trusted timestamp authority (RFC 3161).
- Anything the source published between two polls, or after the last one.
"""


def export_bundle(engine: Engine, bodies: BodyStore, alert_id: int, out: Path) -> Path:
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise WatcherError(f"no alert #{alert_id}; `watcher alerts` lists them")
        snapshots = _snapshots_for(s, alert)
    out.mkdir(parents=True, exist_ok=True)
    warc = out / "exchanges.warc.gz"
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for snap in snapshots:
            _write_exchange(writer, snap, bodies.get(snap.sha256))
    content = json.loads(alert.content)
    alert_json = {
        "id": alert.id,
        "event": alert.event,
        "source": alert.source_id,
        "person": alert.person_id,
        "record_key": alert.record_key,
        "created_at": alert.created_at.isoformat(),
        **content,
    }
    (out / "alert.json").write_text(json.dumps(alert_json, indent=2, ensure_ascii=False) + "\n")
    (out / "README.txt").write_text(
        README.format(alert_id=alert.id, event=alert.event, source=alert.source_id, record=alert.record_key)
    )
    manifest = {
        "watcher_version": __version__,
        "alert": alert.id,
        "snapshots": [_snapshot_entry(snap) for snap in snapshots],
        "files": {p.name: _sha256(p) for p in sorted(out.iterdir()) if p.name != "manifest.json"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def _snapshots_for(s: Session, alert: Alert) -> list[Snapshot]:
    """The alert's own snapshot and those of every earlier version of its record (the before and after)."""
    ids: set[int] = {alert.snapshot_id} if alert.snapshot_id else set()
    if alert.record_id is not None:
        versions = s.exec(
            select(RecordVersion.snapshot_id).where(
                RecordVersion.record_id == alert.record_id,
                col(RecordVersion.version) <= (alert.record_version or 0),
            )
        )
        ids |= {i for i in versions if i is not None}
    if not ids:
        raise WatcherError(f"alert #{alert.id} refers to no stored snapshot (a source-health alert?)")
    return list(s.exec(select(Snapshot).where(col(Snapshot.id).in_(ids)).order_by(col(Snapshot.id))))


def _write_exchange(writer: WARCWriter, snap: Snapshot, body: bytes) -> None:
    when = snap.fetched_at.replace(tzinfo=snap.fetched_at.tzinfo or UTC).astimezone(UTC)
    date = {"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    parts = urlsplit(snap.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    request_headers = [("Host", parts.netloc), *json.loads(snap.request_headers).items()]
    request = StatusAndHeaders(f"{snap.method} {target} HTTP/1.1", request_headers, is_http_request=True)
    writer.write_record(
        writer.create_warc_record(snap.url, "request", http_headers=request, warc_headers_dict=date)
    )
    # The body is stored decoded: drop transfer encodings so WARC readers take it as it is.
    skip = {"content-encoding", "transfer-encoding", "content-length"}
    headers = [(k, v) for k, v in json.loads(snap.response_headers).items() if k.lower() not in skip]
    headers.append(("Content-Length", str(len(body))))
    response = StatusAndHeaders(str(snap.status), headers, protocol="HTTP/1.1")
    record = writer.create_warc_record(
        snap.url, "response", payload=io.BytesIO(body), http_headers=response, warc_headers_dict=date
    )
    writer.write_record(record)


def _snapshot_entry(snap: Snapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "url": snap.url,
        "status": snap.status,
        "fetched_at": snap.fetched_at.isoformat(),
        "body_sha256": snap.sha256,
        "size": snap.size,
        "prev_hash": snap.prev_hash,
        "chain_hash": snap.chain_hash,
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
