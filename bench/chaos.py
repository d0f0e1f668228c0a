"""Crash safety at scale: SIGKILL `watcher run` at many random moments (default 500) while sources
change; print kills, alerts expected / delivered, lost, unmarked duplicates, marked repeats, time.

    .venv/bin/python bench/chaos.py [--kills 500] [--sources 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.chaos import run_chaos


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        r = run_chaos(Path(folder), kills=args.kills, sources=args.sources, seed=args.seed)
    print(
        f"kills {r.kills}   alerts expected {r.expected}   delivered {r.delivered}   lost {len(r.lost)}   "
        f"unmarked duplicates {len(r.duplicates)}   marked repeats {r.marked_repeats}   {r.seconds:.0f} s"
    )
    for line in r.lost + r.duplicates:
        print("  " + line)


if __name__ == "__main__":
    main()
