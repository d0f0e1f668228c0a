"""RFC 3161 timestamps of the evidence chain: a timestamp authority's signed word that an entry existed.

After rounds store snapshots, the chain's newest entry (its head) is sent to `[watcher] tsa_url` as a
TimeStampReq whose message imprint is that entry's `chain_hash` (itself a SHA-256); the signed token in
the answer is checked and stored (table `timestamp_token`) against the entry. Each entry's hash covers
the one before it, so one token over the head covers every earlier entry: one request per round, not
per snapshot.

A TSA that is down, or answers with something that does not check out, fails nothing: the round's data
is committed already; the problem is logged and the next round stamps the then-newest head. Until then
`watcher evidence verify` names the entries no token covers. With `tsa_ca_file` a token must be signed
by a certificate issued by one in that file; without it the signature is checked against the
certificate the token carries, which proves the token unchanged but not who issued it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from watcher.config import Config
from watcher.db.tables import Snapshot, TimestampToken
from watcher.errors import FetchError, WatcherError
from watcher.fetch import Fetcher
from watcher.models import SourceRequest

__all__ = [
    "Authority",
    "StampOutcome",
    "StampReport",
    "TimestampError",
    "TokenFacts",
    "authority_of",
    "check_token",
    "stamp_head",
    "tokens_covering",
    "verify_timestamps",
]

log = logging.getLogger(__name__)
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# Rounds finishing together send one request, not one each (a lock per event loop: tests run several).
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


class TimestampError(WatcherError):
    """A timestamp could not be obtained, or a stored token does not check out."""


@dataclass(frozen=True, slots=True)
class Authority:
    url: str
    trusted: tuple[x509.Certificate, ...] = ()  # from tsa_ca_file; empty: not checked against a CA

    @property
    def public_url(self) -> str:
        """The URL without credentials or query: what is logged and stored."""
        return public_url(self.url)


@dataclass(frozen=True, slots=True)
class TokenFacts:
    gen_time: datetime
    signer: str  # the signing certificate's subject, e.g. "CN=Example TSA"
    trusted: bool  # the signer was checked against tsa_ca_file


@dataclass(frozen=True, slots=True)
class StampOutcome:
    snapshot_id: int  # the head that was (or could not be) stamped
    facts: TokenFacts | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class StampReport:
    tokens: int
    covered_to: int | None  # the newest snapshot id a valid token covers
    uncovered: tuple[int, int, int] | None  # (first id, last id, count) of entries no token covers
    newest: TokenFacts | None
    problem: str = ""  # the first token that does not check out

    @property
    def ok(self) -> bool:
        return not self.problem

    def summary(self) -> list[str]:
        lines = []
        if self.newest is not None:
            trust = "issued under tsa_ca_file" if self.newest.trusted else "signer not checked against a CA"
            lines.append(
                f"timestamps: {self.tokens} token(s) valid; snapshots up to #{self.covered_to} existed by"
                f" {self.newest.gen_time:%Y-%m-%d %H:%M:%S} UTC ({self.newest.signer}; {trust})"
            )
        if self.uncovered is not None:
            first, last, count = self.uncovered
            lines.append(
                f"not timestamped yet: {count} snapshot(s), #{first} to #{last}: no token covers them"
                " (with tsa_url set, the next round asks the timestamp authority again)"
            )
        return lines


def public_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def authority_of(config: Config) -> Authority | None:
    """The configured TSA, None without `tsa_url`; TimestampError when tsa_ca_file cannot be used."""
    w = config.watcher
    if not w.tsa_url:
        return None
    trusted = load_certificates(config.base_dir / w.tsa_ca_file) if w.tsa_ca_file else ()
    return Authority(w.tsa_url, trusted)


def load_certificates(path: Path) -> tuple[x509.Certificate, ...]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TimestampError(f"cannot read tsa_ca_file {path}: {exc.strerror}") from None
    try:
        if b"-----BEGIN" in data:
            return tuple(x509.load_pem_x509_certificates(data))
        return (x509.load_der_x509_certificate(data),)
    except ValueError as exc:
        raise TimestampError(f"tsa_ca_file {path} holds no usable certificate (PEM or DER): {exc}") from None


async def stamp_head(engine: Engine, fetcher: Fetcher, authority: Authority) -> StampOutcome | None:
    """Stamp the newest chain entry unless a token covers it already. Never raises for the TSA's sake."""
    async with _LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock()):
        head = _unstamped_head(engine)
        if head is None:
            return None
        snapshot_id, chain_hash = head
        try:
            token = await _request_token(fetcher, authority, chain_hash)
            facts = check_token(token, chain_hash, authority.trusted)
        except (FetchError, TimestampError) as exc:
            error = str(exc).replace(authority.url, authority.public_url)  # a TSA login stays out of logs
            log.warning(
                "no timestamp tsa=%s snapshot=%d: %s; the next round tries again",
                authority.public_url,
                snapshot_id,
                error,
            )
            return StampOutcome(snapshot_id, None, error)
        _store(engine, snapshot_id, chain_hash, authority, token, facts)
        log.info("timestamped tsa=%s snapshot=%d at=%s", authority.public_url, snapshot_id, facts.gen_time)
        return StampOutcome(snapshot_id, facts)


def _unstamped_head(engine: Engine) -> tuple[int, str] | None:
    snap, token = Snapshot.__table__, TimestampToken.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        head = conn.execute(select(snap.c.id, snap.c.chain_hash).order_by(snap.c.id.desc()).limit(1)).first()
        stamped = conn.execute(select(func.max(token.c.snapshot_id))).scalar()
    if head is None or (stamped is not None and stamped >= head.id):
        return None
    return int(head.id), str(head.chain_hash)


async def _request_token(fetcher: Fetcher, authority: Authority, chain_hash: str) -> bytes:
    nonce = secrets.randbits(63)
    query = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": _imprint(chain_hash),
            "nonce": nonce,
            "cert_req": True,  # the token carries the TSA's certificate, so a bundle verifies alone
        }
    )
    request = SourceRequest(
        url=authority.url,
        method="POST",
        body=query.dump(),
        headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
        purpose="timestamp",
    )
    fetched = await fetcher.fetch(request)
    return _token_from_reply(fetched.body, nonce, authority.public_url)


def _imprint(chain_hash: str) -> dict[str, Any]:
    return {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": bytes.fromhex(chain_hash)}


def _token_from_reply(body: bytes, nonce: int, where: str) -> bytes:
    try:
        reply = tsp.TimeStampResp.load(body)
        status = reply["status"]["status"].native
        token = reply["time_stamp_token"]
        if status not in ("granted", "granted_with_mods") or token.native is None:
            texts = reply["status"]["status_string"].native or []
            raise TimestampError(f"the TSA at {where} refused: {status} {' '.join(texts)}".strip())
        got = token["content"]["encap_content_info"]["content"].parsed["nonce"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the TSA at {where} did not answer with a TimeStampResp: {exc}") from None
    if got != nonce:
        raise TimestampError(f"the TSA at {where} answered another request (nonce {got}, sent {nonce})")
    return bytes(token.dump())


def check_token(token: bytes, chain_hash: str, trusted: Sequence[x509.Certificate] = ()) -> TokenFacts:
    """A stored token's imprint is the chain hash, its signature holds, its signer may stamp (and, with
    trusted certificates, was issued by one of them). TimestampError says which check failed."""
    try:
        return _check_token(token, chain_hash, trusted)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # asn1crypto parses lazily: a damaged token fails wherever it is first read.
        raise TimestampError(f"not a well-formed RFC 3161 timestamp token: {exc}") from None


def _check_token(token: bytes, chain_hash: str, trusted: Sequence[x509.Certificate]) -> TokenFacts:
    signed = cms.ContentInfo.load(token)["content"]
    content = signed["encap_content_info"]["content"]
    imprint = content.parsed["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    hashed = bytes(imprint["hashed_message"].native)
    gen_time: datetime = content.parsed["gen_time"].native
    if algorithm != "sha256" or hashed != bytes.fromhex(chain_hash):
        raise TimestampError(
            f"its message imprint ({algorithm} {hashed.hex()}) is not the chain hash {chain_hash}"
        )
    signer_info = signed["signer_infos"][0]
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"] or []]
    signer = _signer_certificate(signer_info, [*certs, *trusted])
    _check_signature(signer_info, bytes(content.contents), signer)
    _check_signer(signer, gen_time)
    if trusted:
        _check_issued(signer, certs, trusted)
    return TokenFacts(gen_time.astimezone(UTC), signer.subject.rfc4514_string(), bool(trusted))


def _signer_certificate(signer_info: Any, candidates: Sequence[x509.Certificate]) -> x509.Certificate:
    sid = signer_info["sid"]
    for cert in candidates:
        if sid.name == "subject_key_identifier":
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == bytes(sid.chosen.native):
                return cert
        elif cert.serial_number == sid.chosen["serial_number"].native and cert.issuer.public_bytes() == bytes(
            sid.chosen["issuer"].dump()
        ):
            return cert
    raise TimestampError("the token carries no certificate of its signer, and tsa_ca_file has none either")


def _check_signature(signer_info: Any, content: bytes, signer: x509.Certificate) -> None:
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(f"the token is signed with an unsupported digest {digest_name}")
    digest = _HASHES[digest_name]()
    attrs = signer_info["signed_attrs"]
    found = {a["type"].native: a["values"][0].native for a in attrs} if attrs else {}
    if found.get("content_type") != "tst_info":
        raise TimestampError("the token's signed attributes do not say it holds a TSTInfo")
    hasher = hashes.Hash(digest)
    hasher.update(content)
    if found.get("message_digest") != hasher.finalize():
        raise TimestampError("the token's content was changed after it was signed (message digest differs)")
    signed_bytes = b"\x31" + bytes(attrs.dump())[1:]  # signed as a SET OF, stored as [0] IMPLICIT
    signature = bytes(signer_info["signature"].native)
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_bytes, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_bytes, ec.ECDSA(digest))
        else:
            raise TimestampError(f"the TSA's key type {type(key).__name__} is not supported")
    except InvalidSignature:
        raise TimestampError(
            f"its signature does not verify with {signer.subject.rfc4514_string()}"
        ) from None


def _check_signer(signer: x509.Certificate, gen_time: datetime) -> None:
    try:
        usage = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise TimestampError(f"{signer.subject.rfc4514_string()} is not a timestamping certificate")
    if not signer.not_valid_before_utc <= gen_time <= signer.not_valid_after_utc:
        raise TimestampError(f"the token's time {gen_time} is outside its signer's validity")


def _check_issued(
    signer: x509.Certificate, carried: Sequence[x509.Certificate], trusted: Sequence[x509.Certificate]
) -> None:
    current = signer
    for _ in range(8):  # a TSA's chain is short; a loop in a hostile token stops here
        if current in trusted:
            return
        issuers = [c for c in (*trusted, *carried) if c.subject == current.issuer and c != current]
        issuer = next((c for c in issuers if _issued_by(current, c)), None)
        if issuer is None:
            break
        current = issuer
    raise TimestampError(f"{signer.subject.rfc4514_string()} was not issued by a certificate in tsa_ca_file")


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _store(
    engine: Engine, snapshot_id: int, chain_hash: str, authority: Authority, token: bytes, facts: TokenFacts
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(TimestampToken.__table__),  # type: ignore[attr-defined]
            {
                "snapshot_id": snapshot_id,
                "chain_hash": chain_hash,
                "tsa": authority.public_url,
                "gen_time": facts.gen_time,
                "token": token,
                "created_at": datetime.now(UTC),
            },
        )


def verify_timestamps(engine: Engine, trusted: Sequence[x509.Certificate] = ()) -> StampReport:
    """Every stored token checks out against the entry it names, and which entries no token covers.

    A token whose entry's chain hash is no longer the one it stamped means the chain was rewritten after
    the TSA saw it: that is the tampering a timestamp exists to expose."""
    snap = Snapshot.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(TimestampToken.__table__, snap.c.chain_hash.label("entry_hash"))  # type: ignore[attr-defined]
            .outerjoin(snap, snap.c.id == TimestampToken.__table__.c.snapshot_id)  # type: ignore[attr-defined]
            .order_by(TimestampToken.__table__.c.snapshot_id)  # type: ignore[attr-defined]
        ).all()
        covered_to, newest, problem = None, None, ""
        for row in rows:
            facts, problem = _check_row(row, trusted)
            if facts is None:
                break
            covered_to, newest = row.snapshot_id, facts
        later = snap.c.id > (covered_to or 0)
        first, last, count = conn.execute(
            select(func.min(snap.c.id), func.max(snap.c.id), func.count()).where(later)
        ).one()
    uncovered = (int(first), int(last), int(count)) if count else None
    return StampReport(len(rows), covered_to, uncovered, newest, problem)


def _check_row(row: Any, trusted: Sequence[x509.Certificate]) -> tuple[TokenFacts | None, str]:
    where = f"timestamp token #{row.id} (snapshot #{row.snapshot_id}, from {row.tsa})"
    if row.entry_hash is None:
        return None, f"{where}: the snapshot entry it stamped is gone"
    if row.entry_hash != row.chain_hash:
        return (
            None,
            f"{where}: the entry's chain hash changed after the TSA stamped it: the chain was rewritten",
        )
    try:
        return check_token(bytes(row.token), row.chain_hash, trusted), ""
    except TimestampError as exc:
        return None, f"{where}: {exc}"


def tokens_covering(engine: Engine, snapshot_ids: Sequence[int]) -> list[TimestampToken]:
    """For each snapshot, the earliest token over it or a later entry (the tightest bound on its time)."""
    table = TimestampToken.__table__  # type: ignore[attr-defined]
    chosen: dict[int, TimestampToken] = {}
    with engine.connect() as conn:
        for snapshot_id in sorted(set(snapshot_ids)):
            row = conn.execute(
                select(table).where(table.c.snapshot_id >= snapshot_id).order_by(table.c.snapshot_id).limit(1)
            ).first()
            if row is not None:
                chosen[row.id] = TimestampToken.model_validate(row._mapping)
    return sorted(chosen.values(), key=lambda t: t.snapshot_id)
