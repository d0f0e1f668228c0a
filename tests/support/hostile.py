"""Hostile responses for tests: a raw-socket server that never finishes, and bodies built to hurt parsers.

`HostileServer` answers on 127.0.0.1 with behaviours no well-behaved framework would produce:
    /drip       status and headers at once, then one body byte every `interval` seconds, forever
    /drip-head  the whole response, status line included, one byte every `interval` seconds, forever
    /endless    200 without Content-Length (the body ends when the connection closes), streamed forever
    anything    while `calm` is set: 200 with `calm` as the body, like the real source
The bodies: a gzip bomb (1 GiB of zeros in ~1 MiB), billion laughs, XXE, 10,000-deep JSON.
"""

from __future__ import annotations

import functools
import re
import socket
import struct
import threading
import zlib

__all__ = ["HostileServer", "billion_laughs", "deep_json", "gzip_bomb", "xxe"]

MIB = 1 << 20


class HostileServer:
    """`calm = b"..."` makes every path answer normally (a round before the source turns hostile)."""

    def __init__(self, *, interval: float = 0.5) -> None:
        self.interval = interval
        self.calm: bytes | None = None
        self.hits: list[str] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="hostile-conn", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                path = _request_path(conn)
                self.hits.append(path)
                if self.calm is not None:
                    conn.sendall(_head(self.calm) + self.calm)
                elif path == "/drip":
                    conn.sendall(_head(None))
                    self._drip(conn, b"<html><body>" + b"x" * 10_000_000)
                elif path == "/drip-head":
                    self._drip(conn, _head(None) + b"x" * 10_000_000)
                elif path == "/endless":
                    self._endless(conn)
                else:
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:  # the client gave up, which is the point
                return

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self._stop.wait(self.interval):
                return
            conn.sendall(data[i : i + 1])

    def _endless(self, conn: socket.socket) -> None:
        conn.sendall(_head(None))
        row = b"<tr><td>Royal Courts of Justice</td><td>R v Nobody</td></tr>\n" * 1000
        while not self._stop.is_set():
            conn.sendall(row)


def _request_path(conn: socket.socket) -> str:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    conn.settimeout(None)
    parts = data.split(b"\r\n", 1)[0].split()
    return parts[1].decode("latin-1").split("?", 1)[0] if len(parts) > 1 else "/"


def _head(body: bytes | None) -> bytes:
    """Headers of a 200; without a body length the body ends only when the connection closes."""
    length = f"Content-Length: {len(body)}\r\n" if body is not None else ""
    return (
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"{length}Connection: close\r\n\r\n".encode()
    )


@functools.cache
def gzip_bomb(gib: int = 1) -> bytes:
    """`gib` GiB of zeros as one valid gzip member of about 1 MiB per GiB, built in under a second.

    Deflate after a full flush restarts from an empty window, so every 1 MiB of zeros compresses to
    the same bytes: compress one MiB once and repeat it (level 9 on the whole GiB takes 8 s)."""
    chunk = bytes(MIB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()
    count = gib * 1024
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * count + end + struct.pack("<II", crc, (count * MIB) & 0xFFFFFFFF)


def billion_laughs(document: bytes, at: bytes) -> bytes:
    """`document` with a DOCTYPE whose `&lol9;` (put after the first `at`) expands to 10^9 "lol"s."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return _declare(document, entities, at, "&lol9;")


def xxe(document: bytes, at: bytes, target: str = "file:///etc/passwd", *, pad: int = 0) -> bytes:
    """`document` with an external entity `&xxe;` naming a local file, referenced after the first `at`.

    `pad` bytes of comment before the DOCTYPE push the declaration past a scanner that reads only the
    start of the body."""
    return _declare(document, f'<!ENTITY xxe SYSTEM "{target}">', at, "&xxe;", pad)


def _declare(document: bytes, entities: str, at: bytes, ref: str, pad: int = 0) -> bytes:
    # On the declaration's line: feedparser strips DOCTYPEs and entities only where they start a line.
    prolog_end = document.index(b"?>") + 2 if document.startswith(b"<?xml") else 0
    head, body = document[:prolog_end], document[prolog_end:]
    root = re.search(rb"<([A-Za-z_][\w.:-]*)", body)
    assert root is not None and at in body, "the document needs a root element and the marker"
    comment = b"<!--" + b"x" * pad + b"-->" if pad else b""
    doctype = b"<!DOCTYPE " + root.group(1) + b" [" + entities.encode() + b"]>"
    return head + comment + doctype + body.replace(at, at + ref.encode(), 1)


def deep_json(depth: int = 10_000) -> bytes:
    """`[[[[...]]]]` nested `depth` levels: recursive parsers and walkers overflow the stack."""
    return b"[" * depth + b"]" * depth
