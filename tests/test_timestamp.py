"""RFC 3161 timestamps: rounds through the real CLI get the chain head stamped by a local TSA, the token
travels in the bundle and verifies (with watcher and with openssl); a TSA that is down fails nothing and
the next round stamps; a chain rewritten after stamping is caught; bad tokens are named."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, SourceFarm
from tests.support.tsa import LocalTsa, make_certificate
from tests.test_pipeline_e2e import CONFIG, PAGE, check, moved, publish
from watcher.chain import entry_hash
from watcher.timestamp import TimestampError, check_token


@pytest.fixture
def tsa() -> Iterator[LocalTsa]:
    authority = LocalTsa()
    yield authority
    authority.stop()


@pytest.fixture
def config(tmp_path: Path, farm: SourceFarm) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base))
    return path


def stamped_config(tmp_path: Path, farm: SourceFarm, tsa: LocalTsa) -> Path:
    tsa.write_certificate(tmp_path / "tsa.pem")
    settings = f'backoff = 0\ntsa_url = "{tsa.url}"\ntsa_ca_file = "tsa.pem"\n'
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base).replace("backoff = 0\n", settings, 1))
    return path


def verify(config: Path, receiver: JsonReceiver) -> tuple[int, str]:
    result = run_cli("evidence", "verify", "-c", str(config), env={"TEST_NGO_URL": receiver.url})
    return result.code, result.stdout + result.stderr


def tokens(config: Path) -> list[tuple[int, str, bytes]]:
    with sqlite3.connect(config.parent / "watcher.db") as db:
        return db.execute("select snapshot_id, chain_hash, token from timestamp_token order by id").fetchall()


def head(config: Path) -> tuple[int, str]:
    with sqlite3.connect(config.parent / "watcher.db") as db:
        return db.execute("select id, chain_hash from snapshot order by id desc limit 1").fetchone()


def test_rounds_are_stamped_and_the_bundle_carries_the_token(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, tsa: LocalTsa
) -> None:
    config = stamped_config(tmp_path, farm, tsa)
    publish(farm, PAGE)
    assert check(config, receiver) == 0
    assert tsa.requests == 1, "one request for the round's two snapshots, not one per snapshot"
    publish(farm, moved(PAGE))
    assert check(config, receiver) == 0
    assert tsa.requests == 2
    assert [(t[0], t[1]) for t in tokens(config)][-1] == head(config), "the newest entry is stamped"

    code, said = verify(config, receiver)
    assert code == 0, said
    assert "timestamps: 2 token(s) valid" in said and "issued under tsa_ca_file" in said
    assert "not timestamped yet" not in said

    env = {"TEST_NGO_URL": receiver.url}
    alerts = [
        json.loads(x) for x in run_cli("alerts", "-c", str(config), "--json", env=env).stdout.splitlines()
    ]
    changed = next(a for a in alerts if a["event"] == "changed")
    out = tmp_path / "bundle"
    result = run_cli("evidence", "export", str(changed["id"]), "--out", str(out), "-c", str(config), env=env)
    assert result.code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["timestamps"], "the bundle carries the tokens that date its exchanges"
    bundled = {s["id"] for s in manifest["snapshots"]}
    covered = {i for t in manifest["timestamps"] for i in t["covers_snapshots"]}
    assert covered == bundled
    for stamp in manifest["timestamps"]:
        token = (out / stamp["file"]).read_bytes()
        assert stamp["file"] in manifest["files"]
        info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
        assert info["message_imprint"]["hashed_message"].native.hex() == stamp["message_imprint_sha256"]
        assert check_token(token, stamp["message_imprint_sha256"], (tsa.cert,)).trusted
        assert "openssl ts -verify" in (out / "README.txt").read_text()
        if shutil.which("openssl"):  # an independent verifier: the token is what RFC 3161 says
            openssl = subprocess.run(
                ["openssl", "ts", "-verify", "-token_in", "-in", str(out / stamp["file"]),
                 "-digest", stamp["message_imprint_sha256"], "-CAfile", str(tmp_path / "tsa.pem")],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert "Verification: OK" in openssl.stdout, openssl.stdout + openssl.stderr


def test_tsa_down_fails_nothing_and_a_later_round_stamps(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, tsa: LocalTsa
) -> None:
    config = stamped_config(tmp_path, farm, tsa)
    tsa.down = True
    publish(farm, PAGE)
    assert check(config, receiver) == 0, "a TSA that is down does not fail the round"
    assert len(receiver.messages) == 1, "and the alert went out"
    assert tsa.requests == 1 and tokens(config) == []
    code, said = verify(config, receiver)
    assert code == 0, said
    last, _ = head(config)
    assert f"not timestamped yet: {last} snapshot(s), #1 to #{last}" in said

    tsa.down = False
    assert check(config, receiver) == 0  # nothing new published: the unstamped head is stamped now
    assert [(t[0], t[1]) for t in tokens(config)] == [head(config)]
    code, said = verify(config, receiver)
    assert code == 0 and "timestamps: 1 token(s) valid" in said and "not timestamped yet" not in said, said


def test_without_tsa_url_nothing_is_stamped(config: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    publish(farm, PAGE)
    assert check(config, receiver) == 0
    assert tokens(config) == []
    code, said = verify(config, receiver)
    assert code == 0 and "timestamp" not in said, said


def test_a_chain_rewritten_after_stamping_is_caught(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, tsa: LocalTsa
) -> None:
    config = stamped_config(tmp_path, farm, tsa)
    publish(farm, PAGE)
    assert check(config, receiver) == 0
    # Someone with the database rewrites an entry and recomputes every hash after it: the chain alone
    # cannot tell, the TSA's token over the old head can.
    with sqlite3.connect(config.parent / "watcher.db") as db:
        db.row_factory = sqlite3.Row
        db.execute("update snapshot set url = 'https://forged.example/' where id = 1")
        prev = "0" * 64
        for row in db.execute("select * from snapshot order by id").fetchall():
            fields = {**dict(row), "fetched_at": _aware(row["fetched_at"])}
            new = entry_hash(prev, fields)
            db.execute(
                "update snapshot set prev_hash = ?, chain_hash = ? where id = ?", (prev, new, row["id"])
            )
            prev = new
    code, said = verify(config, receiver)
    assert code == 1, said
    assert "evidence chain intact" in said, "the rewrite itself is consistent"
    assert "timestamp token #1" in said and "the chain was rewritten" in said


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_wrong_answer_is_not_stored_and_the_round_succeeds(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, tsa: LocalTsa
) -> None:
    config = stamped_config(tmp_path, farm, tsa)
    tsa.wrong_imprint = True
    publish(farm, PAGE)
    assert check(config, receiver) == 0
    assert tsa.requests == 1 and tokens(config) == [], "a token for another hash proves nothing: not kept"


def _token(tsa: LocalTsa, chain_hash: str) -> bytes:
    query = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": bytes.fromhex(chain_hash),
            },
            "nonce": 7,
        }
    )
    return bytes(tsa.token(query).dump())


HASH = "ab" * 32


def _flip_signature(token: bytes) -> bytes:
    info = cms.ContentInfo.load(token)
    signature = bytearray(info["content"]["signer_infos"][0]["signature"].native)
    at = token.index(bytes(signature))
    signature[10] ^= 1
    return token[:at] + bytes(signature) + token[at + len(signature) :]


def _change_content(token: bytes) -> bytes:
    # The TSTInfo's serial number 1 -> 2: the signed message digest no longer matches.
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].contents
    changed = info.replace(b"\x02\x01\x01", b"\x02\x01\x02", 1)
    return token.replace(info, changed)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("another hash", "is not the chain hash"),
        ("changed signature", "signature does not verify"),
        ("changed content", "content was changed after it was signed"),
        ("untrusted signer", "was not issued by a certificate in tsa_ca_file"),
        ("not a timestamping certificate", "is not a timestamping certificate"),
        ("garbage", "not a well-formed RFC 3161 timestamp token"),
    ],
    ids=lambda v: v if " " in v else None,
)
def test_check_token_names_what_is_wrong(case: str, expected: str, tsa: LocalTsa) -> None:
    token, chain_hash, trusted = _token(tsa, HASH), HASH, [tsa.cert]
    assert check_token(token, HASH, trusted).trusted
    if case == "another hash":
        chain_hash = "cd" * 32
    elif case == "changed signature":
        token = _flip_signature(token)
    elif case == "changed content":
        token = _change_content(token)
    elif case == "untrusted signer":
        trusted = [make_certificate(ec.generate_private_key(ec.SECP256R1()), "some other CA")]
    elif case == "not a timestamping certificate":
        plain = LocalTsa(usage=False)
        try:
            token, trusted = _token(plain, HASH), [plain.cert]
        finally:
            plain.stop()
    else:
        token = b"\x30\x03\x02\x01\x05"
    with pytest.raises(TimestampError, match=expected):
        check_token(token, chain_hash, trusted)


def test_an_unreachable_tsa_fails_nothing_and_its_login_stays_out_of_logs(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = f'backoff = 0\ntsa_url = "http://user:s3cret-token@127.0.0.1:{port}/tsr?key=k3y-in-query"\n'
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base).replace("backoff = 0\n", settings, 1))
    publish(farm, PAGE)
    result = run_cli("check", "-c", str(path), env={"TEST_NGO_URL": receiver.url})
    assert result.code == 0, result.stderr
    assert "no timestamp" in result.stderr and "ConnectError" in result.stderr
    assert "s3cret-token" not in result.stderr and "k3y-in-query" not in result.stderr
    assert tokens(path) == []


def test_tokens_store_and_verify_on_both_databases(database_url: str, tsa: LocalTsa) -> None:
    """The token table (binary DER) works on SQLite and PostgreSQL: stamp, verify, find the covering token."""
    from watcher.chain import link
    from watcher.db.engine import open_engine
    from watcher.db.tables import Snapshot
    from watcher.fetch import Fetcher, FetchSettings
    from watcher.timestamp import Authority, stamp_head, tokens_covering, verify_timestamps

    engine = open_engine(database_url)
    now = datetime.now(UTC)
    rows = [
        {"source_id": "s", "url": f"https://example.org/{i}", "method": "GET", "status": 200,
         "request_headers": "{}", "response_headers": "{}", "sha256": "00" * 32, "size": 0, "fetched_at": now}
        for i in range(2)
    ]  # fmt: skip
    link(rows, "0" * 64)
    with engine.begin() as conn:
        conn.execute(Snapshot.__table__.insert(), rows)  # type: ignore[attr-defined]

    async def stamp() -> object:
        async with Fetcher(FetchSettings(retries=0, timeout=5)) as fetcher:
            return await stamp_head(engine, fetcher, Authority(tsa.url, (tsa.cert,)))

    try:
        outcome = asyncio.run(stamp())
        report = verify_timestamps(engine, (tsa.cert,))
        covering = tokens_covering(engine, [1])
    finally:
        engine.dispose()
    assert getattr(outcome, "facts", None) is not None, outcome
    assert report.ok and report.tokens == 1 and report.uncovered is None, report
    assert [t.snapshot_id for t in covering] == [2] and covering[0].chain_hash == rows[1]["chain_hash"]
    assert check_token(covering[0].token, rows[1]["chain_hash"], (tsa.cert,)).trusted
