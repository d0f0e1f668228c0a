"""A loopback source farm for benchmarks: N synthetic HTML-list sources with a set latency.

Sources are spread over 127.0.0.1 .. 127.0.0.<hosts> (all loopback on Linux), as real sources sit on
different hosts; every page has an ETag and answers If-None-Match with 304, as good servers do.
Run by bench/round.py in its own process, so the farm does not share the watcher's CPU time slice.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GIVEN = ["Amina", "Bota", "Daniyar", "Elena", "Farid", "Galina", "Ivan", "Jamal", "Karim", "Leyla", "Marat",
         "Nadia", "Oleg", "Pavel", "Rustam", "Saule", "Timur", "Yulia", "Zarina", "Aidos"]  # fmt: skip
FAMILY = ["Abenov", "Bekova", "Chernova", "Dzhaksybekov", "Ermekova", "Fedorov", "Gusev", "Ibragimov",
          "Kassymova", "Lebedev", "Mukanov", "Nurlanova", "Orlov", "Petrova", "Rakhimov", "Sultanova",
          "Tokayev", "Umarova", "Volkov", "Zhakupov", "Akhmetov", "Baimukhanova", "Iskakov", "Omarova"]  # fmt: skip


def diverse_name(i: int) -> str:
    """A realistic spread of names: about 70 given names, syllable-built surnames (one per i)."""
    from bench.match_speed import GIVEN as MANY_GIVEN
    from bench.match_speed import surname

    rng = random.Random(i)
    return f"{MANY_GIVEN[i % len(MANY_GIVEN)]} {surname(rng)}"


def person_name(i: int) -> str:
    """A distinct name per i (up to 11,520) without digits, as the matcher ignores digits."""
    second = FAMILY[(i // (len(GIVEN) * len(FAMILY))) % len(FAMILY)]
    return f"{GIVEN[i % len(GIVEN)]} {FAMILY[(i // len(GIVEN)) % len(FAMILY)]} {second}"


def page(source: int, records: int, version: int) -> bytes:
    rng = random.Random(source * 1000 + version)
    rows = []
    for r in range(records):
        name = diverse_name(1_000_000 + rng.randrange(10_000_000))
        if r == 0 and source % 10 == 0:
            name = diverse_name(source)  # one in ten sources lists a watched person
        rows.append(
            f'<tr class="govuk-table__row"><td class="govuk-table__cell">RCJ - Court {rng.randrange(1, 20)}</td>'
            f'<td class="govuk-table__cell">{rng.choice(["10:00am", "10:30am", "2:00pm"])}</td>'
            f'<td class="govuk-table__cell">2025{source:04d}{r:03d} A{rng.randrange(9)}</td>'
            f'<td class="govuk-table__cell">R v {name}</td>'
            f'<td class="govuk-table__cell">{rng.choice(["Appeal against Conviction", "FC Application Sentence"])}'
            f"</td></tr>"
        )
    html = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Daily Cause List</title></head><body>"
            "<main><h1>Court of Appeal</h1><table class=\"govuk-table\"><thead><tr><th>Venue</th><th>Time</th>"
            "<th>Case number</th><th>Case details</th><th>Hearing type</th><th>Notes</th></tr></thead>"
            "<tbody>" + "\n".join(rows) + "</tbody></table></main></body></html>")  # fmt: skip
    return html.encode()


async def main(port: int, hosts: int, sources: int, records: int, latency: float) -> None:
    bodies = {f"/s/{n}": page(n, records, 0) for n in range(sources)}
    etags = {path: '"' + hashlib.sha256(body).hexdigest()[:16] + '"' for path, body in bodies.items()}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1].split("?")[0]
                headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                await asyncio.sleep(latency)
                body = bodies.get(path)
                if body is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif headers.get("if-none-match") == etags[path]:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etags[path]}\r\n\r\n".encode())
                else:
                    writer.write(
                        f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nETag: {etags[path]}\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    addresses = [f"127.0.0.{h}" for h in range(1, hosts + 1)]
    server = await asyncio.start_server(handle, host=addresses, port=port, backlog=4096)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port, hosts, sources, records = (int(a) for a in sys.argv[1:5])
    asyncio.run(main(port, hosts, sources, records, float(sys.argv[5])))
