"""Every config mistake is exit 2 with the file, the line and the dotted key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from watcher.config import load_config
from watcher.errors import ConfigError

GOOD = """\
[watcher]
database = "sqlite:///w.db"

[[person]]
id = "bota"
name = "Bota Jardemalie"
tags = ["client-a"]

[[source]]
id = "feed"
adapter = "rss"
every = "1h"
[source.options]
url = "http://127.0.0.1:9/feed.xml"

[[channel]]
id = "team"
url = "json://127.0.0.1:9/hook"

[[subscription]]
channel = "team"
people = ["tag:client-a"]
"""

CASES = [
    ("unknown top key", GOOD.replace('database = "sqlite:///w.db"', 'databse = "x"'), 2, "watcher.databse", "unknown key"),
    ("bad birth date", GOOD.replace('tags = ["client-a"]', 'tags = ["client-a"]\nbirth_date = "21.05.1974"'), 8,
     "person[0].birth_date", "YYYY"),
    ("unknown adapter", GOOD.replace('adapter = "rss"', 'adapter = "rsss"'), 11, "source[0].adapter",
     "known adapters: "),
    ("bad duration", GOOD.replace('every = "1h"', 'every = "hourly"'), 12, "source[0].every", "duration"),
    ("unknown adapter option", GOOD.replace('url = "http://127.0.0.1:9/feed.xml"',
     'url = "http://127.0.0.1:9/feed.xml"\nurll = "x"'), 15, "source[0].options.urll", "unknown key"),
    ("missing adapter option", GOOD.replace('url = "http://127.0.0.1:9/feed.xml"', ""), 13,
     "source[0].options.url", "Field required"),
    ("subscription to unknown channel", GOOD.replace('channel = "team"', 'channel = "tem"'), 21,
     "subscription[0].channel", "no channel 'tem'"),
    ("unknown tag", GOOD.replace("tag:client-a", "tag:client-b"), 22, "subscription[0].people", "tag:client-b"),
    ("duplicate person", GOOD + '\n[[person]]\nid = "bota"\nname = "B"\n', 25, "person[1].id", "duplicate"),
    ("toml syntax", GOOD.replace('name = "Bota Jardemalie"', "name = Bota"), 6, "", "not valid TOML"),
    ("two urls", GOOD.replace('url = "json://127.0.0.1:9/hook"', 'url = "json://x"\nurl_env = "X"'), 16,
     "channel[0]", "exactly one"),
    ("env var missing", GOOD.replace('url = "json://127.0.0.1:9/hook"', 'url_env = "WATCHER_TEST_UNSET_VAR"'), 18,
     "channel[0].url_env", "WATCHER_TEST_UNSET_VAR is not set"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "text", "line", "key", "message"), CASES, ids=[c[0] for c in CASES])
def test_config_mistakes_name_file_line_key(
    tmp_path: Path, label: str, text: str, line: int, key: str, message: str
) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    error = info.value
    assert error.path == str(path)
    assert error.line == line, f"{label}: {error}"
    assert error.key == key
    assert message in str(error)
    assert str(error).startswith(f"{path}:{line}")


def test_good_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(GOOD)
    config = load_config(path, environ={})
    assert config.database_url == f"sqlite:///{tmp_path}/w.db"
    assert config.channel_urls["team"].get_secret_value() == "json://127.0.0.1:9/hook"


def test_cli_exit_2_with_location(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(GOOD.replace('adapter = "rss"', 'adapter = "nope"'))
    result = run_cli("check", "--config", str(path))
    assert result.code == 2
    assert f"{path}:11: source[0].adapter: unknown adapter 'nope'; known adapters: " in " ".join(
        result.stderr.split()
    )
    assert "html_list" in result.stderr and "rss" in result.stderr


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("check", "--config", str(tmp_path / "absent.toml"))
    assert result.code == 2
    assert "config file not found" in result.stderr


def test_secret_from_file_and_env(tmp_path: Path) -> None:
    secret = tmp_path / "url.secret"
    secret.write_text("json://127.0.0.1:9/from-file\n")
    path = tmp_path / "watcher.toml"
    path.write_text(GOOD.replace('url = "json://127.0.0.1:9/hook"', 'url_file = "url.secret"'))
    assert (
        load_config(path, environ={}).channel_urls["team"].get_secret_value()
        == "json://127.0.0.1:9/from-file"
    )
    path.write_text(GOOD.replace('url = "json://127.0.0.1:9/hook"', 'url_env = "HOOK"'))
    assert (
        load_config(path, environ={"HOOK": "json://h/x"}).channel_urls["team"].get_secret_value()
        == "json://h/x"
    )
