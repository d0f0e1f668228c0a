"""Crash safety, measured: `watcher run` is SIGKILLed inside rounds and inside deliveries, again and again,
while the sources keep changing; then the receiver's log is compared with the alerts the changes call for.
Used by tests/test_crash.py (CI) and bench/chaos.py (many more kills).

How the kills are made to land where they hurt:
* Each life of `watcher run` is a fresh process forked from one that has done the imports (a fork server,
  as a zygote), so a life's time is spent in rounds and deliveries, not in Python's start-up; it runs
  `watcher run -c CONFIG` through the real CLI, with its own PID and start time.
* Every life has work. Between lives (no process running) the database is read: while a source has not
  stored the version the farm publishes, its round has work; while a delivery is pending, the outbox has.
  Once every source has stored it, and no more than one version's alerts wait to be sent, the farm
  publishes the next version (the watched hearing moves again).
* A kill is timed from the life's first request to the farm (a kill inside the round), from its first
  request to the receiver (inside a send: the receiver takes `receiver_delay` seconds to answer), or at
  any moment of the life.

What is counted, from the farm's and the receiver's logs and the database:
* mid_round: the life fetched a source whose round had work, and after the kill that work was still not
  stored: the kill landed between the fetch and the commit.
* mid_send: a message was at the receiver, unanswered, when the kill landed: sent, never recorded as
  sent. Each such kill must show up as a resend marked "(may repeat)".
* lost: an expected alert (new, each move as "old -> new", removed; per source) that never arrived;
  unexpected: an arrival no change calls for; duplicates: a second copy without the repeat mark.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug import Request, Response

from tests.support.servers import JsonReceiver, Route, SourceFarm

PAGE = (Path(__file__).parent.parent / "fixtures" / "pipeline" / "cath_daily-cause-list.html").read_text()
ROW = '<td class="govuk-table__cell">10:30am</td>\n            <td class="govuk-table__cell">202503277 A5'
KEY = "202503277 A5"
GONE = (
    PAGE[: PAGE.index("<tr", PAGE.index("R v ZDX"))]
    + PAGE[PAGE.index("</tr>", PAGE.index("Robert McCalla")) + 5 :]
)
REPEAT_MARK = "(may repeat)"
PR_SET_PDEATHSIG = 1
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
# The fork server: imports everything once; each "go" line forks a life running `watcher run -c CONFIG`
# and answers "pid N", then "done STATUS" when that life has ended.
ZYGOTE = """
import ctypes, os, signal, sys
import watcher.cli, watcher.schedule, watcher.service, watcher.deliver
from watcher.registry import load_registry
load_registry()
watcher.deliver.apprise.Apprise.instantiate("json://localhost")  # Apprise imports its plugins on first use
PR_SET_PDEATHSIG = 1
print("ready", flush=True)
while sys.stdin.readline():
    pid = os.fork()
    if pid == 0:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the server gone: so is this life
        os.dup2(os.open(os.devnull, os.O_RDWR), 0)
        os.dup2(os.open(os.devnull, os.O_RDWR), 1)
        sys.argv = ["watcher", "run", "-c", sys.argv[1]]
        code = 0
        try:
            watcher.cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stderr.flush()
        os._exit(code)
    print(f"pid {pid}", flush=True)
    print(f"done {os.waitpid(pid, 0)[1]}", flush=True)
"""


def hearing_time(version: int) -> str:
    """The watched hearing's time in the farm's version `version` (0: as recorded)."""
    if version == 0:
        return "10:30am"
    return f"{(version - 1) // 60 % 12 + 1}:{(version - 1) % 60:02d}pm"


def page(version: int | None) -> str:
    """Version None: the hearing is gone from the list."""
    if version is None:
        return GONE
    return PAGE.replace(ROW, ROW.replace("10:30am", hearing_time(version)))


@dataclass
class ChaosReport:
    kills: int = 0
    mid_round: int = 0  # kills between a round's fetch and its commit
    mid_send: int = 0  # kills while a message was at the receiver, unanswered
    versions: int = 0  # versions the farm published (each moves the hearing; then one removal)
    expected: int = 0
    delivered: int = 0
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # unmarked second deliveries: the real failures
    marked_repeats: int = 0  # resends after an interrupted send, saying so
    seconds: float = 0.0


class LoggingFarm(SourceFarm):
    """The source farm, with the time of every request."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str]] = []
        super().__init__()

    def _handle(self, request: Request) -> Response:
        self.log.append((time.monotonic(), request.path))
        return super()._handle(request)


class SlowReceiver(JsonReceiver):
    """A webhook that keeps each message, then takes `delay` seconds to answer: a kill in that time
    lands between the send and its record."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.log: list[list[float]] = []  # [arrived, answered]
        super().__init__()

    def _handle(self, request: Request) -> Response:
        entry = [time.monotonic(), math.inf]
        self.log.append(entry)
        response = super()._handle(request)
        time.sleep(self.delay)
        entry[1] = time.monotonic()
        return response


class Lives:
    """Lives of `watcher run`, forked one at a time from a process that has done the imports."""

    def __init__(self, config: Path) -> None:
        self.log = (config.parent / "watcher.log").open("ab")
        self.server = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, str(config)],
            env={**os.environ, "WATCHER_LOG_LEVEL": "WARNING"},
            cwd=Path(__file__).parent.parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            preexec_fn=_die_with_parent,  # a test killed or interrupted leaves no watcher running
        )
        if self._line() != "ready":
            raise RuntimeError(f"the fork server did not start; see {self.log.name}")

    def _line(self) -> str:
        assert self.server.stdout is not None
        return self.server.stdout.readline().decode().strip()

    def start(self) -> int:
        """A new life; its PID."""
        assert self.server.stdin is not None
        self.server.stdin.write(b"go\n")
        self.server.stdin.flush()
        answer = self._line()
        if not answer.startswith("pid "):
            raise RuntimeError(f"no life started ({answer!r}); see {self.log.name}")
        return int(answer[4:])

    def end(self, pid: int, sig: signal.Signals) -> float:
        """Signal the life and wait until it is gone (its parent, the server, has reaped it); when it was
        signalled."""
        os.kill(pid, sig)
        signalled = time.monotonic()
        answer = self._line()
        if not answer.startswith("done "):
            raise RuntimeError(f"life {pid} did not end ({answer!r}); see {self.log.name}")
        return signalled

    def close(self) -> None:
        assert self.server.stdin is not None
        self.server.stdin.close()
        self.server.wait(timeout=30)
        self.log.close()


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class _World:
    folder: Path
    sources: int
    farm: LoggingFarm
    receiver: SlowReceiver
    lives: Lives
    version: int | None = 0
    published: list[int | None] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.folder / "chaos.db"

    def publish(self, version: int | None) -> None:
        self.version = version
        self.published.append(version)
        body = page(version).encode()
        self.farm.set_routes([Route(f"/roll-{n}", body) for n in range(self.sources)])

    def stored(self) -> dict[str, str | None]:
        """Per source: the hearing time stored ('' once removed; None if never stored)."""
        out: dict[str, str | None] = {f"roll-{n}": None for n in range(self.sources)}
        if not self.db.exists():
            return out
        with closing(sqlite3.connect(self.db, timeout=30)) as conn:
            rows = conn.execute("select source_id, content, removed_at from record where key = ?", (KEY,))
            for source_id, content, removed_at in rows:
                out[source_id] = "" if removed_at else json.loads(content)["fields"]["time"]
        return out

    def pending(self) -> int:
        if not self.db.exists():
            return 0
        with closing(sqlite3.connect(self.db, timeout=30)) as conn:
            return int(conn.execute("select count(*) from delivery where status = 'pending'").fetchone()[0])

    def behind(self) -> set[str]:
        """The sources whose round has work: they have not stored what the farm publishes."""
        want = "" if self.version is None else hearing_time(self.version)
        return {s for s, have in self.stored().items() if have != want}


def run_chaos(
    folder: Path, *, kills: int, sources: int = 3, seed: int = 7, receiver_delay: float = 0.25
) -> ChaosReport:
    rng = random.Random(seed)
    farm, receiver = LoggingFarm(), SlowReceiver(receiver_delay)
    config = folder / "watcher.toml"
    config.write_text(
        CONFIG.format(receiver=receiver.url)
        + "".join(SOURCE.format(n=n, base=farm.base) for n in range(sources))
    )
    world = _World(folder, sources, farm, receiver, Lives(config))
    report = ChaosReport()
    started = time.monotonic()
    try:
        world.publish(0)
        for _ in range(kills):
            if not world.behind() and world.pending() <= sources:  # at most a version's sends behind
                world.publish((world.version or 0) + 1)
            _kill_one_life(world, rng, report)
        _settle(world)
        world.publish(None)
        _settle(world)
        _check(world, report)
    finally:
        world.lives.close()
        farm.stop()
        receiver.stop()
    report.seconds = time.monotonic() - started
    return report


def _kill_one_life(world: _World, rng: random.Random, report: ChaosReport) -> None:
    behind, sends = world.behind(), world.pending() or len(world.behind())
    went = time.monotonic()
    pid = world.lives.start()
    mode = rng.choices(["round", "send", "any"], weights=[60, 30, 10] if behind else [0, 90, 10])[0]
    if mode == "round":
        _wait_for(lambda: _first(world.farm.log, went) is not None)
        time.sleep(rng.uniform(0, 0.12))  # a round takes about 0.05-0.3 s from its fetch to its commit
    elif mode == "send":
        # Somewhere in this life's sends, not always in the first: each life must also get some through.
        _wait_for(lambda: any(arrived >= went for arrived, _ in world.receiver.log))
        time.sleep(rng.uniform(0, sends * (world.receiver.delay + 0.03)))
    else:
        time.sleep(rng.uniform(0, 1.5))
    killed = world.lives.end(pid, signal.SIGKILL)
    report.kills += 1
    report.mid_send += any(arrived <= killed < answered for arrived, answered in world.receiver.log)
    fetched = {path.strip("/") for at, path in world.farm.log if went <= at <= killed}
    report.mid_round += bool(behind & fetched & world.behind())


def _first(log: list[tuple[float, str]], since: float) -> float | None:
    return next((at for at, _ in log if at >= since), None)


def _wait_for(condition: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not condition():
        time.sleep(0.005)


def _settle(world: _World, limit: float = 60.0) -> None:
    """One life without a kill until every round has stored the published version and nothing is
    pending, then a clean stop."""
    pid = world.lives.start()
    deadline = time.monotonic() + limit
    time.sleep(0.5)
    while time.monotonic() < deadline and (world.behind() or world.pending()):
        time.sleep(0.2)
    world.lives.end(pid, signal.SIGTERM)


def _check(world: _World, report: ChaosReport) -> None:
    want: Counter[tuple[str, str, str]] = Counter()
    for n in range(world.sources):
        source = f"roll-{n}"
        want[(source, "new", "")] += 1
        moves = [v for v in world.published if v]
        for before, after in zip([0, *moves], moves, strict=False):
            want[(source, "changed", f"{hearing_time(before)} -> {hearing_time(after)}")] += 1
        want[(source, "removed", "")] += 1
    report.versions = len(world.published)
    report.expected = sum(want.values())
    got = Counter(_first_copies(world.receiver, report).values())
    report.delivered = sum(got.values())
    report.lost = [f"{src} {event} {delta}".strip() for (src, event, delta), n in (want - got).items()]
    report.unexpected = [f"{src} {event} {delta}".strip() for (src, event, delta), n in (got - want).items()]


def _first_copies(receiver: JsonReceiver, report: ChaosReport) -> dict[str, tuple[str, str, str]]:
    """Alert number -> (source, event, time delta) of its first copy; counts the later copies."""
    first: dict[str, tuple[str, str, str]] = {}
    for m in receiver.messages:
        title, text = m["title"], m["message"]
        number = text.rsplit("Alert: #", 1)[1].strip()
        if number not in first:
            source = re.search(r"^Source: (\S+)", text, re.M)
            event = re.search(r"^Event: (\w+)", text, re.M)
            delta = re.search(r"fields\.time: (.+)$", text, re.M)
            assert source and event, f"not an alert message: {title}"
            first[number] = (source.group(1), event.group(1), delta.group(1).strip() if delta else "")
        elif REPEAT_MARK in title:
            report.marked_repeats += 1
        else:
            report.duplicates.append(f"alert #{number} delivered again without saying so: {title}")
    return first
