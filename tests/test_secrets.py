"""Secrets (channel URLs carry tokens) never appear in logs (at DEBUG), errors, `watcher status`, alerts
output or the database, whatever the Apprise scheme puts them in: user, password, a host that is a bot
token, path segments, query values. A database that cannot be used is a clear error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.support.smtp import SmtpReceiver
from tests.test_pipeline_e2e import CONFIG, PAGE

TOKEN = "s3cr3tT0k3nDoNotLeak42"
# Each case: an Apprise URL ({json}, {smtp} and {farm} are local servers) and the parts of it that are
# secret. Services on the internet are reached through a proxy that refuses at once (HTTPS_PROXY below),
# so each attempt fails fast, after Apprise has logged what it was about to send.
CASES = [
    ("tgram", "tgram://123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/123456789",
     ["ABC-DEF1234ghIkl-zyx57W2v1u123ew11"]),
    ("discord", "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", ["4174216298", "JHMHI8qBe7bk2ZwO5U711o3dV_js"]),
    ("slack", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
     ["T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"]),
    ("mailtos", "mailtos://watchlogin:s3cretPassw0rd@example.org:{smtp}?to=team@example.org&smtp=127.0.0.1",
     ["watchlogin", "s3cretPassw0rd"]),
    ("json token query", "json://127.0.0.1:{json}/notify?token=" + TOKEN, [TOKEN]),
    ("json header and login", "json://hookuser:hookPassw0rd@127.0.0.1:{json}/notify?+X-Api-Key=headerSecret77",
     ["hookuser", "hookPassw0rd", "headerSecret77"]),
    ("json down", "json://127.0.0.1:{farm}/down?token=" + TOKEN, [TOKEN]),
    ("matrix", "matrix://matrixlogin:matrixPassw0rd@127.0.0.1:{farm}/#room", ["matrixlogin", "matrixPassw0rd"]),
]  # fmt: skip


@pytest.mark.parametrize(("label", "url", "secrets"), CASES, ids=[c[0] for c in CASES])
def test_channel_secrets_never_leak(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, label: str, url: str, secrets: list[str]
) -> None:
    smtp = SmtpReceiver() if "{smtp}" in url else None
    try:
        url = url.format(json=receiver.server.port, smtp=smtp.port if smtp else 0, farm=farm.server.port)
        outputs = _every_output(tmp_path, farm, url)
    finally:
        if smtp:
            smtp.stop()
    for secret in secrets:
        assert secret not in outputs, f"{label}: {secret} leaked:\n{_around(outputs, secret)}"
        for stored in _stored_files(tmp_path):
            assert secret.encode() not in stored.read_bytes(), f"{label}: {secret} stored in {stored}"


def _every_output(tmp_path: Path, farm: SourceFarm, url: str) -> str:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base))
    farm.set_routes([Route("/cause-list", PAGE.encode()), Route("/other", b"<html></html>", status=500)])
    env = {
        "TEST_NGO_URL": url,
        "WATCHER_LOG_LEVEL": "DEBUG",
        "HTTPS_PROXY": "http://127.0.0.1:9",  # nothing listens: the internet is refused at once
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    results = [
        # The brief's Telegram case as a user runs it, in its own process; the others in-process (faster).
        run_cli("check", "-c", str(path), env=env, subprocess_=url.startswith("tgram")),
        run_cli("notify-test", "ngo-team", "-c", str(path), env=env),
        run_cli("status", "-c", str(path), env=env),
        run_cli("alerts", "-c", str(path), "--json", env=env),
        run_cli("alerts", "-c", str(path), env=env),
    ]
    assert "ngo-team" in results[2].stdout, "status names the channel (masked)"
    return "\n".join(r.stdout + r.stderr for r in results)


def _stored_files(tmp_path: Path) -> list[Path]:
    candidates = [*tmp_path.glob("watcher.db*"), *(tmp_path / "data").rglob("*")]
    return [p for p in candidates if p.is_file()]


def _around(text: str, secret: str) -> str:
    at = text.index(secret)
    return text[max(0, at - 300) : at + 100]


def test_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(
        CONFIG.replace("{base}", "http://127.0.0.1:9").replace(
            "sqlite:///watcher.db", "sqlite:///missing/dir/w.db"
        )
    )
    result = run_cli("check", "-c", str(path), env={"TEST_NGO_URL": "json://127.0.0.1:9/x"})
    assert result.code == 3, "exit 3: the database cannot be used"
    assert "database folder" in result.stderr and "does not exist" in result.stderr


def test_traceback_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    from watcher.logs import setup_logging

    setup_logging("DEBUG", ["tr4cebackSecret"])
    try:
        raise RuntimeError("failed posting to https://hook.example/tr4cebackSecret")
    except RuntimeError:
        logging.getLogger("watcher.test").exception("delivery crashed")
    err = capsys.readouterr().err
    assert "delivery crashed" in err and "RuntimeError" in err and "hook.example/***" in err
    assert "tr4cebackSecret" not in err


def test_a_url_without_secrets_stays_readable() -> None:
    """Nothing in json://host:port/hook is secret: logs and status keep it (a redacted host and path
    would hide which webhook failed)."""
    from pydantic import SecretStr

    from watcher.deliver import mask_url
    from watcher.logs import secret_parts

    url = "json://127.0.0.1:8080/hook"
    assert mask_url(SecretStr(url)).startswith(url + "?")
    assert secret_parts(url, mask_url(SecretStr(url))) == []
    token = "json://127.0.0.1:8080/hook?token=abcdefghij12"
    assert mask_url(SecretStr(token)).startswith("json://127.0.0.1:8080/hook?")
    assert "abcdefghij12" in secret_parts(token, mask_url(SecretStr(token)))
