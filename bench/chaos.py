"""Crash safety at scale: SIGKILL `watcher run` many times (default 500), inside rounds and inside sends,
while the sources keep changing; print the kills (and how many landed between a fetch and its commit,
or between a send and its record), the versions published, alerts expected / delivered, lost,
unexpected, unmarked duplicates, marked repeats, and the time.

    .venv/bin/python bench/chaos.py [--kills 500] [--sources 3] [--seed 7] [--receiver-delay 0.25]
"""

from __future__ import annotations

import argparse
import logging
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
    parser.add_argument(
        "--receiver-delay", type=float, default=0.25, help="seconds the receiver takes to answer"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request of the farm
    with tempfile.TemporaryDirectory() as folder:
        r = run_chaos(
            Path(folder),
            kills=args.kills,
            sources=args.sources,
            seed=args.seed,
            receiver_delay=args.receiver_delay,
        )
    print(
        f"kills {r.kills} (mid-round {r.mid_round}, mid-send {r.mid_send})   versions {r.versions}   "
        f"alerts expected {r.expected}   delivered {r.delivered}   lost {len(r.lost)}   "
        f"unexpected {len(r.unexpected)}   unmarked duplicates {len(r.duplicates)}   "
        f"marked repeats {r.marked_repeats}   {r.seconds:.0f} s"
    )
    for line in r.lost + r.unexpected + r.duplicates:
        print("  " + line)


if __name__ == "__main__":
    main()
