"""How fast is one round? N synthetic HTML-list sources on loopback, each with a set latency.

    .venv/bin/python bench/round.py [--sources 1000] [--records 50] [--latency 0.1]

Prints, for a first round (everything parsed, matched, stored) and a second, unchanged one (every
page answers 304): wall time, requests, 304s, alerts; and the process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.farm import diverse_name, page
from watcher.config import load_config
from watcher.service import Service

HOSTS = 250


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, port: int, sources: int, people: int) -> Path:
    lines = ['[watcher]\ndatabase = "sqlite:///bench.db"\nconcurrency = 512\nper_host = 4\nretries = 0\n']
    for i in range(0, people * 10, 10):
        lines.append(f'[[person]]\nid = "p{i}"\nname = "{diverse_name(i)}"\n')
    for n in range(sources):
        host = f"127.0.0.{n % HOSTS + 1}"
        lines.append(
            f'[[source]]\nid = "s{n}"\nadapter = "html_list"\n[source.options]\nurl = "http://{host}:{port}/s/{n}"\n'
            'item = "table.govuk-table tbody tr"\nkey = "case_number"\nname_fields = ["details"]\n'
            'fields = { venue = "td:nth-child(1)", time = "td:nth-child(2)", case_number = "td:nth-child(3)", '
            'details = "td:nth-child(4)", type = "td:nth-child(5)" }\n'
        )
    path = folder / "watcher.toml"
    path.write_text("\n".join(lines))
    return path


async def rounds(config_path: Path) -> None:
    config = load_config(config_path)
    async with Service(config) as svc:
        for label in ("first round", "unchanged round"):
            started, cpu = time.perf_counter(), time.process_time()
            runs = await svc.run_sources(force=True)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            failed = [r for r in runs if r.status == "failed"]
            print(
                f"{label:16s} wall {wall:6.2f} s (cpu {cpu:5.2f} s)   requests {sum(r.requests for r in runs):5d}   "
                f"304s {sum(r.not_modified for r in runs):5d}   records {sum(r.records for r in runs):6d}   "
                f"alerts {sum(r.alerts for r in runs):4d}   failed {len(failed)}"
                + (f" (first: {failed[0].error})" if failed else "")
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--people", type=int, default=100)
    args = parser.parse_args()
    port = free_port()
    farm = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("farm.py")), str(port), str(HOSTS), str(args.sources),
         str(args.records), str(args.latency)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert farm.stdout is not None and farm.stdout.readline().strip() == "ready"
        size = len(page(0, args.records, 0))
        print(f"{args.sources} sources x {args.records} records ({size / 1024:.1f} KB/page), "
              f"{args.latency * 1000:.0f} ms latency, {args.people} watched people, {HOSTS} loopback hosts")  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(rounds(write_config(Path(folder), port, args.sources, args.people)))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (RSS) {peak:.0f} MB")
    finally:
        farm.terminate()


if __name__ == "__main__":
    main()
