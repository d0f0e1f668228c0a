"""OFAC's CSV set joins four files across parses (parse_together). Regression: when only alt.csv
changes, the unchanged sdn.csv is parsed first again (not skipped), so the join is whole and the
added alias is a `changed` alert, not a source failure or a half-empty list."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm

FIXTURES = Path(__file__).parent / "fixtures" / "ofac_sdn"
CONFIG = """
[watcher]
database = "sqlite:///w.db"
retries = 0
[[person]]
id = "logan"
name = "Elvis Angus Logan Morey"
[[source]]
id = "sdn"
adapter = "ofac_sdn"
expect_min_records = 0
[source.options]
format = "csv"
base_url = "{base}/"
[[channel]]
id = "team"
url_env = "TEAM"
[[subscription]]
channel = "team"
"""


def test_only_alt_csv_changed(tmp_path: Path) -> None:
    farm, team = SourceFarm(), JsonReceiver()
    try:
        files = {
            name: (FIXTURES / name).read_bytes()
            for name in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")
        }
        farm.set_routes([Route(f"/{n}", body, content_type="text/csv") for n, body in files.items()])
        config = tmp_path / "watcher.toml"
        config.write_text(CONFIG.replace("{base}", farm.base))
        env = {"TEAM": team.url}
        assert run_cli("check", "-c", str(config), env=env).code == 0
        assert len(team.messages) == 1 and "New: Elvis Angus Logan Morey" in team.messages[0]["title"]

        files["alt.csv"] += b'10278,99999,"aka","LOGAN, Elvis",-0- \n'
        farm.set_routes([Route(f"/{n}", body, content_type="text/csv") for n, body in files.items()])
        result = run_cli("check", "-c", str(config), env=env)
        assert result.code == 0, result.stdout
        assert len(team.messages) == 2
        assert "Changed: Elvis Angus Logan Morey" in team.messages[1]["title"]
        assert "LOGAN, Elvis" in team.messages[1]["message"]
    finally:
        farm.stop()
        team.stop()
