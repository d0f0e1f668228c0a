"""Drive the real `watcher` CLI: in-process (fast) or as a subprocess (exactly as a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from watcher.cli import app


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, subprocess_: bool = False) -> CliResult:
    if subprocess_:
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=120,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
