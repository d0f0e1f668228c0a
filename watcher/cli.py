"""The `watcher` command. Commands parse arguments, call the service, print; no logic lives here."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from watcher.config import Config, load_config
from watcher.errors import ConfigError, StoreError, WatcherError
from watcher.logs import setup_logging

if TYPE_CHECKING:
    from watcher.status import Coverage

STORE_EXIT = 3  # the database (or the evidence folder) cannot be used: read-only, full, locked, foreign


class _Commands(typer.core.TyperGroup):
    """Every command, however deep, runs inside this: a database that refuses is one line and exit 3."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            fail(str(exc), STORE_EXIT)
        except Exception as exc:
            # sqlalchemy is imported only by commands that use the database; if it is not loaded, this
            # cannot be its error (and `watcher sources` does not pay for importing it).
            sa = sys.modules.get("sqlalchemy.exc")
            if sa is None or not isinstance(exc, sa.OperationalError):
                raise
            fail(
                f"the database refused: {exc.orig} (is the disk full, or the database read-only?)", STORE_EXIT
            )


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    help="Watch official public sources for named people.",
    epilog="Exit codes: 0 fine; 1 something failed or is stale (see the command); 2 a config or usage"
    " mistake; 3 the database or evidence folder cannot be used (read-only, disk full, locked).",
)
# Piped output (cron mail, logs, scripts) gets wide tables instead of 80 truncated columns.
# Markup and emoji codes are off: what is printed comes from sources, the config and the database, and
# a hostile reason phrase like "[/bad]" must print as itself, not crash the command. Styles are Text.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200, markup=False, emoji=False)
err = Console(
    stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200, markup=False, emoji=False
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file [default: $WATCHER_CONFIG, then ./watcher.toml]"),
]


def config_path(option: Path | None) -> Path:
    if option is not None:
        return option
    return Path(os.environ.get("WATCHER_CONFIG") or "watcher.toml")


def fail(message: str, code: int) -> NoReturn:
    err.print(Text.assemble(("error:", "red"), " ", message), highlight=False)
    raise typer.Exit(code)


def failed(exc: WatcherError, code: int = 1) -> NoReturn:
    """A WatcherError as its message; the store's refusals keep their own exit code everywhere."""
    fail(str(exc), STORE_EXIT if isinstance(exc, StoreError) else code)


def load(option: Path | None, *, log_level: str = "WARNING") -> Config:
    try:
        config = load_config(config_path(option))
    except ConfigError as exc:
        fail(str(exc), 2)
    except WatcherError as exc:
        fail(str(exc), 2)
    setup_logging(os.environ.get("WATCHER_LOG_LEVEL", log_level), secrets_of(config))
    return config


def secrets_of(config: Config) -> list[str]:
    """Every secret-bearing part of every channel URL, as Apprise's privacy mask and the URL's shape
    tell them (watcher.logs.secret_parts)."""
    from watcher.deliver import mask_url
    from watcher.logs import secret_parts

    logging.disable(logging.CRITICAL)  # Apprise logs the URLs it parses: not before the filter knows them
    try:
        return [
            part
            for url in config.channel_urls.values()
            for part in secret_parts(url.get_secret_value(), mask_url(url))
        ]
    finally:
        logging.disable(logging.NOTSET)


@app.command()
def check(
    config: ConfigOpt = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source id (repeatable)")
    ] = None,
) -> None:
    """Run one round of every (or the named) source now and deliver pending alerts.

    Exit 0 when every source succeeded, 1 when any failed (the others still ran), 2 on a config error.
    """
    from watcher.service import Service

    cfg = load(config)

    async def go() -> int:
        async with Service(cfg) as svc:
            report = await svc.check(source or [])
        table = Table("source", "status", "records", "alerts", "requests", "304", "seconds", "error")
        for r in report.runs:
            style = {"failed": "red", "ok": "green"}.get(r.status, "")
            table.add_row(
                r.source_id,
                Text(r.status, style=style),
                str(r.records),
                str(r.alerts),
                str(r.requests),
                str(r.not_modified),
                f"{r.seconds:.2f}",
                r.error or "",
            )
        out.print(table)
        d = report.delivery
        out.print(f"deliveries: {d.sent} sent, {d.failed} failed (kept pending), {d.dead} dead")
        return 1 if report.failed else 0

    try:
        code = asyncio.run(go())
    except WatcherError as exc:
        failed(exc)
    raise typer.Exit(code)


@app.command()
def run(config: ConfigOpt = None) -> None:
    """Run the scheduler until stopped (SIGTERM or Ctrl-C finish the current work cleanly)."""
    from watcher.schedule import run_forever

    cfg = load(config, log_level="INFO")
    try:
        asyncio.run(run_forever(cfg))
    except WatcherError as exc:
        failed(exc)


@app.command()
def status(config: ConfigOpt = None) -> None:
    """Health of every source and of the outbox."""
    from watcher.status import read_status

    cfg = load(config)
    report = read_status(cfg)
    table = Table(
        "source", "adapter", "state", "last run", "last success", "failures", "next due", "last error"
    )
    for s in report.sources:
        table.add_row(
            s.source_id,
            s.adapter,
            _state(s.state),
            _when(s.last_run),
            _when(s.last_success),
            str(s.failures),
            _when(s.next_due),
            s.last_error or "",
        )
    out.print(table)
    out.print(_coverage_table(report.coverage))
    out.print(f"outbox: {report.pending} pending, {report.sent} sent, {report.dead} dead")
    for line in report.budgets:
        out.print(line, highlight=False)
    for channel, masked in report.channels.items():
        out.print(f"channel {channel}: {masked}", highlight=False)
    raise typer.Exit(1 if report.failing else 0)


def _state(state: str) -> Text:
    return Text(state, style={"ok": "green", "failing": "red", "stale": "red"}.get(state, "yellow"))


def _coverage_table(coverage: list[Coverage]) -> Table:
    """Per person, the sources that look for them, each with its state and last success: only their
    silence means "nothing happened"; then the sources whose rounds do not look for this person."""
    table = Table(
        "person",
        "covered by",
        "state",
        "last success",
        title='coverage: a source\'s silence means "nothing happened" only for the people it covers',
    )
    for c in coverage:
        for n, item in enumerate(c.by):
            table.add_row(
                c.name if n == 0 else "", item.source_id, _state(item.state), _when(item.last_success)
            )
        if not c.by:
            table.add_row(c.name, Text("no enabled source looks for this person", style="red"), "", "")
        if c.not_searched:
            table.add_row("", Text(f"not searched by: {', '.join(c.not_searched)}", style="dim"), "", "")
    return table


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@app.command()
def sources(full: Annotated[bool, typer.Option("--full", help="Whole provenance text")] = False) -> None:
    """Every adapter: kind, homepage, licence or terms, whether it sends names, and provenance."""
    from watcher.adapter import ManualAdapter
    from watcher.registry import load_registry

    registry = load_registry()
    for name in registry.names():
        a = registry.get(name)
        out.rule(Text.assemble((name, "bold"), f"  ({a.kind})"))
        out.print(f"{a.title} — {a.homepage}", highlight=False)
        sends = "yes" if a.sends_names else "no (downloads, matches locally)"
        if issubclass(a, ManualAdapter):  # watcher sends nothing, but the operator's search does
            sends = "by hand: watcher sends nothing, the operator's manual search sends the name"
        out.print(f"sends watched names to the source: {sends}")
        if a.licence:
            out.print(f"licence/terms: {a.licence}", highlight=False)
        text = a.provenance()
        out.print(text if full else text.split("\n\n")[0], highlight=False, markup=False)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config")] = Path("watcher.toml"),
) -> None:
    """Write a starter config (the documented example) to PATH."""
    from watcher.demo import example_config_text

    if path.exists():
        fail(f"{path} exists; not overwriting it", 2)
    path.write_text(example_config_text(), encoding="utf-8")
    out.print(f"wrote {path}; edit it, set the channel URL variables, then run `watcher check -c {path}`")


@app.command()
def demo(
    keep: Annotated[Path | None, typer.Option(help="Keep the demo's files in this folder")] = None,
) -> None:
    """See watcher work in a minute: a local server replays recorded sources; two rounds; the alerts."""
    from watcher.demo import run_demo

    # The demo writes its own (escaped) markup, so it gets a console that reads it.
    raise typer.Exit(run_demo(Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200), keep))


@app.command()
def match(
    pairs: Annotated[Path | None, typer.Option(help="JSONL pairs file; writes one decision per line")] = None,
    name: Annotated[str | None, typer.Option(help="A name as a source wrote it")] = None,
    text: Annotated[str | None, typer.Option(help="Running text that may mention the person")] = None,
    person: Annotated[str | None, typer.Option(help="A person id from the config")] = None,
    birth_date: Annotated[str | None, typer.Option(help="The record's birth date")] = None,
    nationality: Annotated[str | None, typer.Option(help="The record's nationality (ISO alpha-2)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Explain a match decision, or judge a file of labelled pairs."""
    if pairs is not None:
        from watcher.match.pairs import match_pairs

        with pairs.open(encoding="utf-8") as handle:
            for line in match_pairs(handle):
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        return
    if person is None or (name is None and text is None):
        fail("give --pairs FILE, or --person ID with --name and/or --text", 2)
    from watcher.match import Matcher

    cfg = load(config)
    people = cfg.person_by_id()
    if person not in people:
        fail(f"no person {person!r} in {cfg.path}", 2)
    decision = Matcher(cfg.person).decide(
        people[person], name=name, text=text, birth_date=birth_date, nationality=nationality
    )
    out.print(f"match: {'yes' if decision.match else 'no'}  score: {decision.score:.3f}", highlight=False)
    out.print(f"why: {decision.explanation}", highlight=False, markup=False)


@app.command()
def calendar(
    ics: Annotated[Path, typer.Option("--ics", help="Write an iCalendar file here")],
    person: Annotated[str | None, typer.Option(help="Only this person's hearings")] = None,
    config: ConfigOpt = None,
) -> None:
    """The watched people's hearings as an iCalendar file (moved ones updated, cancelled ones marked)."""
    from watcher.db.engine import open_engine
    from watcher.hearings import calendar_ics, hearings

    cfg = load(config)
    if person is not None and person not in cfg.person_by_id():
        fail(f"no person {person!r} in {cfg.path}", 2)
    engine = open_engine(cfg.database_url)
    try:
        items = hearings(engine, person_id=person)
    finally:
        engine.dispose()
    ics.write_bytes(calendar_ics(cfg, items))
    out.print(f"wrote {len(items)} hearing(s) to {ics}")


tasks_app = typer.Typer(help="Manual checks of sources watcher cannot poll (captcha, geo-blocking).")
app.add_typer(tasks_app, name="tasks")


@tasks_app.callback(invoke_without_command=True)
def tasks_list(
    ctx: typer.Context,
    config: ConfigOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Closed tasks too")] = False,
) -> None:
    """The open manual checks (`watcher tasks done ID --found|--not-found` closes one)."""
    if ctx.invoked_subcommand is not None:
        return
    from watcher.db.engine import open_engine
    from watcher.tasks import list_tasks

    cfg = load(config)
    engine = open_engine(cfg.database_url)
    try:
        rows = list_tasks(engine, include_done=all_)
    finally:
        engine.dispose()
    if not rows:
        out.print("no open tasks" if not all_ else "no tasks")
    for t in rows:
        out.rule(f"#{t.id}  {t.key}  ({t.status})", align="left")
        out.print(t.title, highlight=False, markup=False)
        out.print(t.instructions, highlight=False, markup=False)


@tasks_app.command("done")
def tasks_done(
    task: Annotated[str, typer.Argument(help="The task's number or key")],
    found: Annotated[bool | None, typer.Option("--found/--not-found", help="What the check found")] = None,
    note: Annotated[str, typer.Option(help="What you saw (kept with the outcome)")] = "",
    config: ConfigOpt = None,
) -> None:
    """Record a manual check's outcome; a person found is alerted like any new record."""
    from datetime import UTC, datetime

    from watcher.service import Service
    from watcher.tasks import record_outcome

    if found is None:
        fail("say what the check found: --found or --not-found", 2)
    cfg = load(config)

    async def go() -> tuple[int, int]:
        async with Service(cfg) as svc:
            alerts = record_outcome(
                svc.store, task, found=found, note=note, people=cfg.person_by_id(), now=datetime.now(UTC)
            )
            report = await svc.outbox.deliver(ignore_backoff=True)
        return alerts, report.sent

    try:
        alerts, sent = asyncio.run(go())
    except WatcherError as exc:
        failed(exc)
    out.print(f"recorded: {'found' if found else 'not found'}; {alerts} alert(s), {sent} message(s) sent")


evidence_app = typer.Typer(
    no_args_is_help=True, help="Evidence: export a bundle for an alert; verify the chain."
)
app.add_typer(evidence_app, name="evidence")


@evidence_app.command("export")
def evidence_export(
    alert_id: Annotated[int, typer.Argument(help="The alert's number (watcher alerts)")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the bundle to")],
    config: ConfigOpt = None,
) -> None:
    """Write a bundle: the HTTP exchanges as WARC, the parsed record, a manifest of hashes, a README."""
    from watcher.bundle import export_bundle
    from watcher.db.engine import open_engine
    from watcher.evidence import BodyStore

    cfg = load(config)
    engine = open_engine(cfg.database_url)
    try:
        folder = export_bundle(engine, BodyStore(cfg.data_dir), alert_id, out_dir)
    except WatcherError as exc:
        failed(exc)
    finally:
        engine.dispose()
    out.print(f"wrote {folder}: exchanges.warc.gz, alert.json, manifest.json, README.txt")


@evidence_app.command("verify")
def evidence_verify(config: ConfigOpt = None) -> None:
    """Check the whole evidence chain, every stored body and every RFC 3161 timestamp token; name the
    first broken link. Exit 1 if any; entries no timestamp covers yet are reported, not failed."""
    from watcher.chain import verify_chain
    from watcher.db.engine import open_engine
    from watcher.evidence import BodyStore
    from watcher.timestamp import authority_of, verify_timestamps

    cfg = load(config)
    engine = open_engine(cfg.database_url)
    try:
        authority = authority_of(cfg)
        report = verify_chain(engine, BodyStore(cfg.data_dir))
        stamps = verify_timestamps(engine, authority.trusted if authority else ())
    except WatcherError as exc:
        fail(str(exc), 1)
    finally:
        engine.dispose()
    if not report.ok:
        fail(f"evidence chain broken at {report.reason} ({report.entries} entries checked)", 1)
    out.print(f"evidence chain intact: {report.entries} snapshots, every body matches its hash")
    if not stamps.ok:
        fail(f"timestamp broken: {stamps.problem}", 1)
    if stamps.tokens or authority is not None:
        for line in stamps.summary():
            out.print(line, highlight=False)


from watcher import cli_alerts as _cli_alerts  # noqa: E402, F401  (registers the alerting commands)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
