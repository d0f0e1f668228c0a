"""Privacy of the watch: a proxied source's every request goes through its SOCKS5 proxy (with the
host name resolved by the proxy), a source can send a neutral User-Agent, name-search sources are
refused without a proxy when never_send_names is set, and the database and data folder are private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.support.socks import Socks5Proxy
from tests.test_pipeline_e2e import PAGE

CONFIG = """
[watcher]
database = "sqlite:///w.db"
retries = 0
{never}
[[person]]
id = "mccalla"
name = "Robert McCalla"
[[source]]
id = "roll"
adapter = "html_list"
{proxy}
user_agent = "Mozilla/5.0"
[source.options]
url = "http://localhost:{port}/roll"
item = "table.govuk-table tbody tr"
key = "case_number"
name_fields = ["case_details"]
fields = {{ case_number = "td:nth-child(4)", case_details = "td:nth-child(5)" }}
[[channel]]
id = "team"
url_env = "TEAM"
[[subscription]]
channel = "team"
"""


def test_proxy_sees_every_request(tmp_path: Path) -> None:
    farm, team, proxy = SourceFarm(), JsonReceiver(), Socks5Proxy()
    try:
        farm.set_routes([Route("/roll", PAGE.encode())])
        config = tmp_path / "watcher.toml"
        port = farm.server.port
        config.write_text(CONFIG.format(never="", proxy=f'proxy = "{proxy.url}"', port=port))
        result = run_cli("check", "-c", str(config), env={"TEAM": team.url})
        assert result.code == 0, result.stdout
        assert len(team.messages) == 1
        assert proxy.targets == [f"localhost:{port}"], "one request, through the proxy, name resolved there"
        assert farm.user_agents == ["Mozilla/5.0"]
    finally:
        farm.stop()
        team.stop()
        proxy.stop()


def test_never_send_names_refuses_unproxied_name_search(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(
        '[watcher]\nnever_send_names = true\n[[source]]\nid = "interpol"\nadapter = "interpol_notices"\n'
        '[source.options]\narrest_warrant_country = "KZ"\n'
    )
    result = run_cli("check", "-c", str(config))
    assert result.code == 2
    assert f"{config}:5: source[0].adapter" in result.stderr and "never_send_names" in result.stderr


def test_database_and_data_are_owner_only(tmp_path: Path) -> None:
    farm, team = SourceFarm(), JsonReceiver()
    try:
        farm.set_routes([Route("/roll", PAGE.encode())])
        config = tmp_path / "watcher.toml"
        config.write_text(CONFIG.format(never="", proxy="", port=farm.server.port))
        os.umask(0o022)
        assert run_cli("check", "-c", str(config), env={"TEAM": team.url}).code == 0
        assert stat.S_IMODE((tmp_path / "w.db").stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    finally:
        farm.stop()
        team.stop()
