"""The documented contract holds: the example config loads, `watcher init` writes it, every config key
is documented, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from tests.support.cli import run_cli
from watcher.config import ChannelConfig, SourceConfig, SubscriptionConfig, WatcherSettings, load_config
from watcher.models import Person

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config.example.toml"


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE, environ={"WATCHER_NGO_TEAM_URL": "json://127.0.0.1:9/hook"})
    assert {s.adapter for s in config.source} == {"interpol_notices", "un_consolidated", "html_list"}


def test_init_writes_the_example(tmp_path: Path) -> None:
    target = tmp_path / "watcher.toml"
    assert run_cli("init", str(target)).code == 0
    assert target.read_text() == EXAMPLE.read_text()
    assert run_cli("init", str(target)).code == 2, "init never overwrites"


def test_every_config_key_is_documented() -> None:
    text = EXAMPLE.read_text()
    models: list[type[BaseModel]] = [WatcherSettings, Person, SourceConfig, ChannelConfig, SubscriptionConfig]
    for model in models:
        for key in model.model_fields:
            documented = re.search(rf"^#? ?{key} = ", text, re.M) or re.search(
                rf"^\[source\.{key}\]", text, re.M
            )
            assert documented, f"{model.__name__}.{key} is not in {EXAMPLE.name}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./dev test" in readme and "./dev demo" in readme
    assert re.search(r"^exec \./dev test$", ci, re.M)
