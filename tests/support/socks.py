"""A minimal SOCKS5 proxy on 127.0.0.1 (no auth, CONNECT only) that logs every target it is asked for."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


class Socks5Proxy:
    def __init__(self, hosts: dict[str, str] | None = None) -> None:
        self.targets: list[str] = []  # "host:port" as the client asked: a name means remote DNS
        self.hosts = hosts or {}  # names the proxy's own resolver knows (as Tor knows .onion names)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            _, n = client.recv(2)
            client.recv(n)
            client.sendall(b"\x05\x00")  # no authentication
            _, _, _, kind = client.recv(4)
            host = client.recv(client.recv(1)[0]).decode() if kind == 3 else socket.inet_ntoa(client.recv(4))
            (port,) = struct.unpack("!H", client.recv(2))
            self.targets.append(f"{host}:{port}")
            upstream = socket.create_connection((self.hosts.get(host, host), port))
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
            with upstream:
                pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                pump.start()
                _pipe(client, upstream)
                pump.join(timeout=5)

    def stop(self) -> None:
        self._server.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
