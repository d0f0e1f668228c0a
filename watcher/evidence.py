"""Response bodies kept as evidence: content-addressed files under data_dir, owner-only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from watcher.errors import StoreError

__all__ = ["BodyStore"]


class BodyStore:
    """Bodies by SHA-256 at <data_dir>/snapshots/<aa>/<sha256>; writing the same body twice is free."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "snapshots"
        try:
            for folder in (data_dir, self.root):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create data directory {self.root}: {exc.strerror}") from None

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, body: bytes) -> Path:
        target = self.path(sha256)
        if target.exists():
            return target
        try:
            target.parent.mkdir(mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(tmp, target)  # atomic: a crash never leaves half a body under its hash
        except OSError as exc:
            raise StoreError(f"cannot write evidence body to {target}: {exc.strerror}") from None
        return target

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"evidence body {sha256} is missing from {self.root}") from None
