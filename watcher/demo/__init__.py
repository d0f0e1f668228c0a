"""`watcher demo`: the product working in under a minute, with no network and no setup.

A local server on 127.0.0.1 replays recorded public responses; a local receiver stands in for the
NGO's webhook (a real Apprise json:// channel); two rounds run against a real SQLite file. Round 1
finds the watched people; round 2 sees a hearing moved and a sanctions entry updated.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from collections.abc import Callable
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from watcher.config import Config, load_config

__all__ = ["example_config_text", "run_demo"]

DATA = files("watcher.demo") / "data"
CAUSE_LIST = "cath_daily-cause-list.html"
UN_LIST = "consolidated_trimmed_2026-02-27.xml"

CONFIG = """\
# The demo's config: the same format as config.example.toml.
[watcher]
database = "sqlite:///demo.db"
data_dir = "data"
retries = 0

[[person]]
id = "robert-mccalla"
name = "Robert McCalla"          # a party in the recorded Court of Appeal list

[[person]]
id = "doku-umarov"
name = "Doku Umarov"
aliases = ["Доку Умаров"]
nationalities = ["RU"]            # listed on the recorded UN consolidated list

[[person]]
id = "bota-jardemalie"
name = "Bota Jardemalie"
aliases = ["Botagoz Jardemalie", "Жардемали Ботагоз"]
birth_date = "1974"

[[source]]
id = "court-of-appeal-list"
adapter = "html_list"
every = "2h"
[source.options]
url = "{base}/cause-list"
item = "table.govuk-table tbody tr"
key = "case_number"
fill_down = ["venue", "judge"]
name_fields = ["case_details"]
[source.options.fields]
venue = "td:nth-child(1)"
judge = "td:nth-child(2)"
time = "td:nth-child(3)"
case_number = "td:nth-child(4)"
case_details = "td:nth-child(5)"
hearing_type = "td:nth-child(6)"

[[source]]
id = "un-consolidated"
adapter = "un_consolidated"
every = "6h"
expect_min_records = 1            # the recorded list is trimmed to a few entries
[source.options]
url = "{base}/un/consolidated.xml"

[[channel]]
id = "ngo-team"
url = "{receiver}"

[[subscription]]
channel = "ngo-team"
"""


def example_config_text() -> str:
    return (files("watcher.demo") / "data" / "config.example.toml").read_text(encoding="utf-8")


class _Site:
    """Routes of the replay server, swappable between rounds."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.received: list[dict[str, Any]] = []


def _handler(site: _Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, ctype = site.routes.get(self.path.split("?")[0], (b"not found", "text/plain"))
            self.send_response(200 if self.path.split("?")[0] in site.routes else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            site.received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _serve(stack: ExitStack, site: _Site) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return f"127.0.0.1:{server.server_address[1]}"


def _publish(site: _Site, edit: Callable[[str, str], tuple[str, str]] | None = None) -> None:
    cause_list = (DATA / CAUSE_LIST).read_text(encoding="utf-8")
    un_list = (DATA / UN_LIST).read_text(encoding="utf-8")
    if edit:
        cause_list, un_list = edit(cause_list, un_list)
    site.routes = {
        "/cause-list": (cause_list.encode(), "text/html; charset=utf-8"),
        "/un/consolidated.xml": (un_list.encode(), "application/xml"),
    }


def _round_two(cause_list: str, un_list: str) -> tuple[str, str]:
    """A hearing moves from 10:30am to 2:15pm; the UN entry QDi.290 gets a new 'last updated' date."""
    row = '<td class="govuk-table__cell">10:30am</td>\n            <td class="govuk-table__cell">202503277 A5'
    cause_list = cause_list.replace(row, row.replace("10:30am", "2:15pm"))
    last = "<VALUE>2021-11-15</VALUE>\n      </LAST_DAY_UPDATED>"
    un_list = un_list.replace(
        last, "<VALUE>2021-11-15</VALUE>\n        <VALUE>2026-11-30</VALUE>\n      </LAST_DAY_UPDATED>"
    )
    return cause_list, un_list


async def _check_once(config: Config, console: Console) -> None:
    from watcher.service import Service

    async with Service(config) as svc:
        report = await svc.check()
    for run in report.runs:
        failure = f" — {run.error}" if run.error else ""
        line = f"  source {run.source_id}: {run.status}, {run.records} records, {run.alerts} alerts"
        console.print(line + failure, markup=False, highlight=False)


def run_demo(console: Console, keep: Path | None = None) -> int:
    from watcher.status import read_alerts

    workdir = Path(tempfile.mkdtemp(prefix="watcher-demo-")) if keep is None else keep
    workdir.mkdir(parents=True, exist_ok=True)
    site = _Site()
    with ExitStack() as stack:
        if keep is None:
            stack.callback(shutil.rmtree, workdir, True)
        address = _serve(stack, site)
        config_path = workdir / "watcher.toml"
        config_path.write_text(
            CONFIG.replace("{base}", f"http://{address}").replace("{receiver}", f"json://{address}/webhook"),
            encoding="utf-8",
        )
        config = load_config(config_path)
        console.rule("[bold]watcher demo")
        console.print(
            f"Watching {len(config.person)} people in {len(config.source)} recorded sources "
            f"(served on http://{address}); alerts go to a local webhook via Apprise."
        )
        for number, edit, story in (
            (1, None, "the sources as recorded"),
            (2, _round_two, "a hearing moved to 2:15pm; the UN entry amended"),
        ):
            _publish(site, edit)
            before = len(site.received)
            console.rule(f"round {number}: {story}")

            asyncio.run(_check_once(config, console))
            for message in site.received[before:]:
                console.print(Text("\n" + str(message.get("title")), style="bold green"))
                console.print(message.get("message", ""), markup=False, highlight=False)
        console.rule("stored")
        alerts = read_alerts(config, limit=100, only=None)
        console.print(f"{len(alerts)} alerts in {config.database_url}; evidence bodies in {config.data_dir}")
        console.print("Bota Jardemalie: no record in these sources, so no alert (see `watcher status`).")
        if keep is not None:
            console.print(f"Files kept in {workdir}: try `watcher status -c {config_path}`")
    return 0 if site.received else 1
