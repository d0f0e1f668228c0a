"""Several `watcher run` processes on one database share the work: no source is polled twice in a
period and no alert is delivered twice. SIGTERM stops each cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.support.servers import JsonReceiver, Route, SourceFarm

PAGE = (Path(__file__).parent / "fixtures" / "pipeline" / "cath_daily-cause-list.html").read_text()
SOURCES = 6

HEAD = """
[watcher]
database = "{db}"
retries = 0
[[person]]
id = "mccalla"
name = "Robert McCalla"
[[channel]]
id = "team"
url = "{receiver}"
[[subscription]]
channel = "team"
"""
SOURCE = """
[[source]]
id = "roll-{n}"
adapter = "html_list"
every = "1h"
[source.options]
url = "{base}/roll-{n}"
item = "table.govuk-table tbody tr"
key = "case_number"
name_fields = ["case_details"]
fields = {{ case_number = "td:nth-child(4)", case_details = "td:nth-child(5)" }}
"""


def test_two_processes_share_sources_and_deliveries(tmp_path: Path, database_url: str) -> None:
    farm, receiver = SourceFarm(), JsonReceiver()
    try:
        farm.set_routes([Route(f"/roll-{n}", PAGE.encode(), delay=0.2) for n in range(SOURCES)])
        text = HEAD.format(db=database_url, receiver=receiver.url)
        text += "".join(SOURCE.format(n=n, base=farm.base) for n in range(SOURCES))
        config = tmp_path / "watcher.toml"
        config.write_text(text)
        env = {**os.environ, "WATCHER_LOG_LEVEL": "WARNING"}
        procs = [
            subprocess.Popen([sys.executable, "-m", "watcher", "run", "-c", str(config)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]  # fmt: skip
        deadline = time.monotonic() + 60
        while len(receiver.messages) < SOURCES and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(5.5)  # another delivery pass of each process: a duplicate would show up now
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=30) for proc in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        polls = Counter(hit.split("?")[0] for hit in farm.hits)
        assert polls == {f"/roll-{n}": 1 for n in range(SOURCES)}, "each source polled once in its period"
        titles = [m["message"].rsplit("Alert: #", 1)[1] for m in receiver.messages]
        assert len(titles) == SOURCES and len(set(titles)) == SOURCES, "each alert delivered once"
    finally:
        farm.stop()
        receiver.stop()
