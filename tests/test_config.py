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
    ("cron hour 25", GOOD.replace('every = "1h"', 'cron = "0 25 * * *"'), 12, "source[0].cron",
     "higher than the maximum value (23)"),
    ("cron step 0", GOOD.replace('every = "1h"', 'cron = "*/0 * * * *"'), 12, "source[0].cron",
     "not a valid cron expression"),
    ("cron weekday 8", GOOD.replace('every = "1h"', 'cron = "0 6 * * 8"'), 12, "source[0].cron", "maximum value (6)"),
    ("cron 31 February", GOOD.replace('every = "1h"', 'cron = "0 6 31 2 *"'), 12, "source[0].cron", "never fires"),
    ("cron four fields", GOOD.replace('every = "1h"', 'cron = "0 6 * *"'), 12, "source[0].cron", "5-field"),
    ("template missing", GOOD.replace('url = "json://127.0.0.1:9/hook"', 'url = "json://x"\ntemplate = "no.j2"'), 19,
     "channel[0].template", "no.j2 not found"),
    ("private redirects not a bool", GOOD.replace('every = "1h"', 'allow_private_redirects = "maybe"'), 12,
     "source[0].allow_private_redirects", "valid boolean"),
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


TEMPLATES = [
    ("unclosed tag", "{{ alert.title }}\n{% if person %}\n{{ person }}\n", 3, "Unexpected end of template"),
    ("unknown filter", "{{ alert.title }}\n\n{{ person | shout }}\n", 3, "No filter named 'shout'"),
    ("stray end", "title\n{% endfor %}\n", 2, "Encountered unknown tag 'endfor'"),
    ("empty", "\n\n", None, "is empty"),
    ("not UTF-8", b"\xff\xfe title".decode("latin-1"), None, "cannot read template"),
]


@pytest.mark.parametrize(
    ("label", "template", "template_line", "message"), TEMPLATES, ids=[t[0] for t in TEMPLATES]
)
def test_broken_template_is_a_config_error(
    tmp_path: Path, label: str, template: str, template_line: int | None, message: str
) -> None:
    """Caught at load with the config's file, line and key, and the template's own line: not at the first
    delivery, when an alert would wait on a typo."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "alert.j2").write_bytes(template.encode("latin-1" if label == "not UTF-8" else "utf-8"))
    path = tmp_path / "watcher.toml"
    path.write_text(
        GOOD.replace('url = "json://127.0.0.1:9/hook"', 'url = "json://x"\ntemplate = "templates/alert.j2"')
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert (info.value.line, info.value.key) == (19, "channel[0].template"), label
    assert message in str(info.value), label
    if template_line is not None:
        assert f"alert.j2:{template_line}:" in str(info.value), label


def test_good_template_and_cron_load(tmp_path: Path) -> None:
    (tmp_path / "alert.j2").write_text("{{ title }}\n{% for f in fields %}{{ f }}\n{% endfor %}")
    path = tmp_path / "watcher.toml"
    text = GOOD.replace('url = "json://127.0.0.1:9/hook"', 'url = "json://x"\ntemplate = "alert.j2"')
    path.write_text(text.replace('every = "1h"', 'cron = "15 */6 * * 1-5"\nallow_private_redirects = true'))
    config = load_config(path, environ={})
    assert config.source[0].cron == "15 */6 * * 1-5" and config.source[0].allow_private_redirects


def test_bad_cron_is_exit_2_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(GOOD.replace('every = "1h"', 'cron = "0 25 * * *"'))
    result = run_cli("check", "--config", str(path))
    assert result.code == 2
    assert f"{path}:12: source[0].cron:" in result.stderr and "Traceback" not in result.stderr
