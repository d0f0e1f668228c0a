"""Whatever a source, the config or the database holds is printed as text, never read as Rich markup:
a hostile reason phrase cannot crash `watcher check`, nor (stored as the last error) `watcher status`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.cli import run_cli

# Rich markup, a closing tag without an opening one (MarkupError), a link, and an emoji code.
REASONS = ["[/bad]", "[bold red]loud[/bold red]", "[link=https://evil.example]click[/link]", ":warning: x"]

CONFIG = """
[watcher]
database = "sqlite:///w.db"
retries = 0
[[person]]
id = "mccalla"
name = "Robert McCalla"
[[source]]
id = "roll"
adapter = "html_list"
[source.options]
url = "http://127.0.0.1:{port}/roll"
item = "tr"
key = "case_number"
fields = {{ case_number = "td" }}
"""


class _Hostile(BaseHTTPRequestHandler):
    reason = ""

    def do_GET(self) -> None:
        self.send_response(502, self.reason)  # the reason phrase is the server's to choose
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the output under test is the CLI's."""


@pytest.fixture
def hostile() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("reason", REASONS)
def test_hostile_reason_phrase_is_printed_as_text(
    tmp_path: Path, hostile: ThreadingHTTPServer, reason: str
) -> None:
    _Hostile.reason = reason
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG.format(port=hostile.server_address[1]))
    check = run_cli("check", "-c", str(config))
    assert check.code == 1, check.stdout + check.stderr
    assert f"HTTP 502 {reason}" in check.stdout
    status = run_cli("status", "-c", str(config))
    assert status.code == 1, status.stdout + status.stderr
    assert f"HTTP 502 {reason}" in status.stdout


def test_errors_print_names_as_given(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG.format(port=9))
    result = run_cli("match", "-c", str(config), "--person", "[/x]", "--name", "Robert McCalla")
    assert result.code == 2
    assert "no person '[/x]'" in result.stderr
