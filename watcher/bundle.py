"""`watcher evidence export`: everything a lawyer needs to show what a source published, and when.

A bundle is a folder with: `exchanges.warc.gz` (each HTTP exchange behind the alert, as WARC request and
response records, readable by any web-archive tool), `alert.json` (the alert and the parsed record),
`manifest.json` (every file's SHA-256, each snapshot's body hash and hash-chain entry, and what each
timestamp token covers), `timestamp-<entry>.tst` (RFC 3161 tokens dating the chain, when the instance has a
TSA) and `README.txt` (what the bundle shows and what it does not). The folder and files are owner-only,
like the data directory: a bundle names a watched person.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from watcher import __version__
from watcher.chain import entry_problem
from watcher.db.tables import Alert, RecordVersion, Snapshot, TimestampToken
from watcher.errors import WatcherError
from watcher.evidence import BodyStore
from watcher.timestamp import TimestampError, check_token, tokens_covering

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

NO_TIMESTAMP = """
Timestamps
- None: no RFC 3161 timestamp covers these exchanges (the instance has no `tsa_url`, or the timestamp
  authority has not answered since), so their times rest on this watcher instance alone.
"""

TIMESTAMPS = """
Timestamps
- {example} (and any other timestamp-*.tst) is an RFC 3161 timestamp token: a timestamp authority's
  signature that watcher's hash-chain entry named in the manifest (`stamped_entry`) existed at the
  token's time. Its message imprint (SHA-256) is that entry's chain hash, {chain_hash}.
  Check it with: openssl ts -verify -token_in -in {example} -digest {chain_hash} -CAfile <the TSA's CA>
- Each chain entry's hash covers the one before it, so the token dates every earlier entry too, the
  exchanges listed under `covers_snapshots` included: they existed no later than the token's time.
  Linking them to the stamped entry takes the chain entries in between, which `watcher evidence verify`
  checks on the instance; they are not in this bundle (they are other requests, possibly about other
  people), and the operator can produce them if a court asks.
"""


def export_bundle(engine: Engine, bodies: BodyStore, alert_id: int, out: Path) -> Path:
    """Write the bundle, owner-only (it may name a client). Every body and chain entry is checked
    first: a bundle is never written from evidence that does not hash right."""
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise WatcherError(f"no alert #{alert_id}; `watcher alerts` lists them")
        snapshots = _snapshots_for(s, alert)
    exchanges = [(snap, _checked_body(snap, bodies)) for snap in snapshots]
    stamps = tokens_covering(engine, [snap.id for snap in snapshots if snap.id is not None])
    for stamp in stamps:
        _check_stamp(stamp)
    files = {
        "exchanges.warc.gz": _warc(exchanges),
        "alert.json": _alert_json(alert),
        "README.txt": _readme(alert, stamps).encode(),
        **{_token_name(t): t.token for t in stamps},
    }
    manifest = {
        "watcher_version": __version__,
        "alert": alert.id,
        "snapshots": [_snapshot_entry(snap) for snap in snapshots],
        "timestamps": [_token_entry(t, snapshots) for t in stamps],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, data in files.items():
            _write_private(out / name, data)
    except OSError as exc:
        raise WatcherError(f"cannot write the bundle to {out}: {exc.strerror}") from None
    return out


def _checked_body(snap: Snapshot, bodies: BodyStore) -> bytes:
    where = f"snapshot #{snap.id} ({snap.url})"
    problem = entry_problem(snap)
    if problem:
        raise WatcherError(f"{where}: {problem}; `watcher evidence verify` checks the whole chain")
    if snap.pruned_at is not None and not bodies.path(snap.sha256).exists():
        raise WatcherError(f"{where}: its body was deleted by retention on {snap.pruned_at:%Y-%m-%d}")
    body = bodies.get(snap.sha256)
    if hashlib.sha256(body).hexdigest() != snap.sha256:
        raise WatcherError(
            f"{where}: its stored body does not match its recorded SHA-256 {snap.sha256} (it was modified);"
            " no bundle written; `watcher evidence verify` checks the whole chain"
        )
    return body


def _check_stamp(stamp: TimestampToken) -> None:
    try:
        check_token(stamp.token, stamp.chain_hash)
    except TimestampError as exc:
        raise WatcherError(
            f"the timestamp token over snapshot #{stamp.snapshot_id} does not check out: {exc};"
            " no bundle written; `watcher evidence verify` checks every token"
        ) from None


def _warc(exchanges: list[tuple[Snapshot, bytes]]) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for snap, body in exchanges:
        _write_exchange(writer, snap, body)
    return buffer.getvalue()


def _alert_json(alert: Alert) -> bytes:
    content = json.loads(alert.content)
    data = {
        "id": alert.id,
        "event": alert.event,
        "source": alert.source_id,
        "person": alert.person_id,
        "record_key": alert.record_key,
        "created_at": alert.created_at.isoformat(),
        **content,
    }
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def _readme(alert: Alert, stamps: list[TimestampToken]) -> str:
    text = README.format(
        alert_id=alert.id, event=alert.event, source=alert.source_id, record=alert.record_key
    )
    if not stamps:
        return text + NO_TIMESTAMP
    return text + TIMESTAMPS.format(example=_token_name(stamps[0]), chain_hash=stamps[0].chain_hash)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # a file that was there keeps its old mode otherwise
        handle.write(data)


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
    sent: dict[str, str] = json.loads(snap.request_headers)  # as stored: the headers the request carried
    host = [] if any(k.lower() == "host" for k in sent) else [("Host", parts.netloc)]
    request_headers = [*host, *sent.items()]
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


def _token_name(token: TimestampToken) -> str:
    return f"timestamp-{token.snapshot_id}.tst"


def _token_entry(token: TimestampToken, snapshots: list[Snapshot]) -> dict[str, Any]:
    return {
        "file": _token_name(token),
        "format": "RFC 3161 TimeStampToken (CMS SignedData, DER)",
        "tsa": token.tsa,
        "time": token.gen_time.astimezone(UTC).isoformat(),
        "stamped_entry": token.snapshot_id,
        "message_imprint_sha256": token.chain_hash,
        "covers_snapshots": [snap.id for snap in snapshots if (snap.id or 0) <= token.snapshot_id],
    }
