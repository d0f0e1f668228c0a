"""Crash safety, measured: `watcher run` is SIGKILLed at random moments while sources change and
alerts are delivered; after all the kills and restarts, the receiver's log is compared with the alerts
the source changes call for. Used by tests/test_crash.py (CI) and bench/chaos.py (many more kills)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import JsonReceiver, Route, SourceFarm

PAGE = (Path(__file__).parent.parent / "fixtures" / "pipeline" / "cath_daily-cause-list.html").read_text()
ROW = '<td class="govuk-table__cell">10:30am</td>\n            <td class="govuk-table__cell">202503277 A5'
# Each source goes through these pages; the watched person's hearing moves twice, then goes.
STATES = [
    ("new", PAGE),
    ("changed", PAGE.replace(ROW, ROW.replace("10:30am", "2:15pm"))),
    ("changed", PAGE.replace(ROW, ROW.replace("10:30am", "4:00pm"))),
    (
        "removed",
        PAGE[: PAGE.index("<tr", PAGE.index("R v ZDX"))]
        + PAGE[PAGE.index("</tr>", PAGE.index("Robert McCalla")) + 5 :],
    ),
]
REPEAT_MARK = "may repeat"
CONFIG = """
[watcher]
database = "sqlite:///chaos.db"
retries = 0
timeout = 5
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
every = "1s"
[source.options]
url = "{base}/roll-{n}"
item = "table.govuk-table tbody tr"
key = "case_number"
name_fields = ["case_details"]
fields = {{ case_number = "td:nth-child(4)", case_details = "td:nth-child(5)", time = "td:nth-child(3)" }}
"""


@dataclass
class ChaosReport:
    kills: int = 0
    expected: int = 0
    delivered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # unmarked second deliveries: the real failures
    marked_repeats: int = 0  # resends after an interrupted send, saying so
    seconds: float = 0.0


def _start(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WATCHER_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _events(receiver: JsonReceiver) -> Counter[tuple[str, str]]:
    seen: Counter[tuple[str, str]] = Counter()
    for m in receiver.messages:
        event = m["title"].split("] ", 1)[1].split(":", 1)[0]
        seen[(event, m["message"].rsplit("Alert: #", 1)[1].strip())] += 1
    return seen


def run_chaos(folder: Path, *, kills: int, sources: int = 3, seed: int = 7) -> ChaosReport:
    rng = random.Random(seed)
    farm, receiver = SourceFarm(), JsonReceiver()
    report = ChaosReport(expected=sources * len(STATES))
    started = time.monotonic()
    try:
        config = folder / "watcher.toml"
        config.write_text(
            CONFIG.format(receiver=receiver.url)
            + "".join(SOURCE.format(n=n, base=farm.base) for n in range(sources))
        )
        per_state = [kills // len(STATES) + (1 if i < kills % len(STATES) else 0) for i in range(len(STATES))]
        for index, (_, page) in enumerate(STATES):
            farm.set_routes([Route(f"/roll-{n}", page.encode()) for n in range(sources)])
            for _ in range(per_state[index]):
                proc = _start(config)
                time.sleep(rng.uniform(0.2, 1.6))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                report.kills += 1
            _settle(config, receiver, sources * (index + 1))
        _check(receiver, sources, report)
    finally:
        farm.stop()
        receiver.stop()
    report.seconds = time.monotonic() - started
    return report


def _settle(config: Path, receiver: JsonReceiver, want: int, limit: float = 30.0) -> None:
    """Run without killing until the state's alerts have arrived, then stop cleanly."""
    proc = _start(config)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and len({k for k in _events(receiver)}) < want:
        time.sleep(0.2)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def _check(receiver: JsonReceiver, sources: int, report: ChaosReport) -> None:
    copies: Counter[str] = Counter()
    events: Counter[str] = Counter()
    for m in receiver.messages:
        number = m["message"].rsplit("Alert: #", 1)[1].strip()
        copies[number] += 1
        if copies[number] == 1:
            events[re.sub(r"^\[watcher\] (\w+).*$", r"\1", m["title"])] += 1
        elif REPEAT_MARK in m["title"] + m["message"]:
            report.marked_repeats += 1
        else:
            report.duplicates.append(f"alert #{number} delivered again without saying so: {m['title']}")
    report.delivered = len(copies)
    want = Counter({"New": sources, "Changed": 2 * sources, "Removed": sources})
    for event, n in (want - events).items():
        report.lost.append(f"{n} '{event}' alert(s) never delivered")
