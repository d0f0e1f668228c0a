"""The alerting commands: `watcher alerts` (list, show, retry), `watcher notify-test`, `watcher review`,
`watcher serve` (the page a confidential alert's link opens).

Registered on watcher.cli's app when watcher.cli imports this module (its last import). `alerts` is a
group here so that `watcher alerts --pending` and `watcher alerts retry ID` both work.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from watcher.cli import ConfigOpt, app, err, fail, failed, load, out
from watcher.errors import WatcherError

__all__ = ["alerts_app"]

# The listing used to be a plain command; the group takes its place (same options, same output).
app.registered_commands[:] = [
    c for c in app.registered_commands if (c.name or getattr(c.callback, "__name__", "")) != "alerts"
]
alerts_app = typer.Typer(help="Alerts and their deliveries; `retry` and `show` one.")
app.add_typer(alerts_app, name="alerts")


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
    pending: Annotated[bool, typer.Option("--pending", help="Only alerts with undelivered messages")] = False,
    dead: Annotated[bool, typer.Option("--dead", help="Only alerts with a dead delivery")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Alerts and their deliveries, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from watcher.status import read_alerts

    cfg = load(config)
    rows = read_alerts(cfg, limit=limit, only="pending" if pending else "dead" if dead else None)
    if as_json:
        for row in rows:
            out.print(json.dumps(row.as_json(), ensure_ascii=False), markup=False, highlight=False)
        return
    table = Table("#", "created", "event", "person", "source", "record", "score", "deliveries")
    for a in rows:
        table.add_row(
            str(a.id),
            a.created_at,
            a.event,
            a.person_id or "-",
            a.source_id,
            a.record_key or "",
            f"{a.score:.2f}" if a.score is not None else "",
            ", ".join(f"{c}:{s}" for c, s in a.deliveries),
        )
    out.print(table)


@alerts_app.command("retry")
def alerts_retry(
    alert_id: Annotated[int, typer.Argument(help="The alert's number (watcher alerts --dead)")],
    channel: Annotated[str | None, typer.Option(help="Only the delivery to this channel")] = None,
    config: ConfigOpt = None,
) -> None:
    """Queue an alert's dead or pending deliveries again, due now; the next pass sends them."""
    from watcher.db.engine import open_engine
    from watcher.outbox import retry_deliveries

    cfg = load(config)
    engine = open_engine(cfg.database_url)
    try:
        retried = retry_deliveries(engine, alert_id, channel=channel, now=datetime.now(UTC))
    except WatcherError as exc:
        failed(exc)
    finally:
        engine.dispose()
    if retried.busy:
        err.print(
            f"alert #{alert_id}: being sent to {', '.join(retried.busy)} right now; left alone"
            " (retrying it too could send it twice); see `watcher alerts show` in a few minutes",
            highlight=False,
            markup=False,
        )
    if not retried.channels:
        if retried.busy:
            raise typer.Exit(1)
        fail(f"alert #{alert_id} has no dead or pending delivery{f' to {channel}' if channel else ''}", 1)
    queued = ", ".join(retried.channels)
    out.print(f"alert #{alert_id}: queued again for {queued}; `watcher check` or `run` sends it")


@alerts_app.command("show")
def alerts_show(
    alert: Annotated[str, typer.Argument(help="An alert number, or a confidential alert's reference")],
    config: ConfigOpt = None,
) -> None:
    """One alert in full, as JSON (how a confidential alert's reference is read on the watcher host)."""
    from watcher.db.engine import open_engine
    from watcher.reference import check_reference
    from watcher.review import alert_detail

    cfg = load(config)
    engine = open_engine(cfg.database_url)
    try:
        number = int(alert) if alert.isdigit() else check_reference(engine, alert)
        detail = alert_detail(engine, number) if number is not None else None
    finally:
        engine.dispose()
    if number is None:
        fail(f"{alert!r} is neither an alert number nor a reference this watcher made", 1)
    if detail is None:
        fail(f"no alert #{number}", 1)
    out.print(json.dumps(detail, ensure_ascii=False, indent=2), markup=False, highlight=False)


@app.command("notify-test")
def notify_test(
    channel: Annotated[str, typer.Argument(help="A channel id from the config")],
    config: ConfigOpt = None,
) -> None:
    """Send a test message to a channel (through its format and template) and say what Apprise said.

    Exit 0 when Apprise reports it sent, 1 when it failed, 2 for an unknown channel.
    """
    from watcher.deliver import mask_url, send
    from watcher.notify_test import sample_message

    cfg = load(config)
    channels = {c.id: c for c in cfg.channel}
    if channel not in channels:
        fail(f"no channel {channel!r} in {cfg.path}; channels: {', '.join(channels) or 'none'}", 2)
    url = cfg.channel_urls[channel]
    try:
        msg = sample_message(cfg, channels[channel])
    except WatcherError as exc:
        failed(exc)
    result = send(url, msg.title, msg.body, msg.format)
    if not result.ok:
        fail(f"channel {channel} ({mask_url(url)}): not sent: {result.error}", 1)
    out.print(f"channel {channel} ({mask_url(url)}): sent; Apprise reports success", highlight=False)


@app.command()
def review(
    alert_id: Annotated[int, typer.Argument(help="The alert's number")],
    false_positive: Annotated[
        bool, typer.Option("--false-positive", help="Not this person: never alert this pair again")
    ] = False,
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="It is this person: later alerts say so")
    ] = False,
    note: Annotated[str, typer.Option(help="Why (kept with the decision)")] = "",
    config: ConfigOpt = None,
) -> None:
    """Record a decision about an alert's person-record pair, with who and when.

    A false positive stays quiet until the record's names, birth dates or nationalities change.
    """
    from watcher.db.engine import open_engine
    from watcher.review import record_decision

    if false_positive == confirmed:
        fail("say what the alert is: --false-positive or --confirmed", 2)
    cfg = load(config)
    engine = open_engine(cfg.database_url)
    decision = "false_positive" if false_positive else "confirmed"
    try:
        row = record_decision(
            engine, alert_id, decision, note=note, by=getpass.getuser(), now=datetime.now(UTC)
        )
    except WatcherError as exc:
        failed(exc)
    finally:
        engine.dispose()
    what = "a false positive" if false_positive else "confirmed"
    out.print(
        f"alert #{alert_id}: {row.person_id} in {row.source_id} record {row.record_key} is {what}"
        f" (by {row.decided_by})",
        highlight=False,
        markup=False,
    )


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; keep 127.0.0.1 behind your TLS and login proxy")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one, printed)")] = 8765,
    config: ConfigOpt = None,
) -> None:
    """Serve the page a confidential alert's link (`public_url/alerts/N?ref=...`) opens.

    Read-only: one alert per reference, a wrong reference is a 404, alerts are never listed. Put it
    behind a reverse proxy that does TLS and login, and point `[watcher] public_url` at the proxy.
    """
    from watcher.db.engine import open_engine
    from watcher.serve import AlertServer

    cfg = load(config, log_level="INFO")
    engine = open_engine(cfg.database_url)
    try:
        server = AlertServer(engine, host, port)
    except OSError as exc:
        engine.dispose()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
    out.print(f"serving confidential alert pages on {server.url} (Ctrl-C stops)", highlight=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how it is stopped
    finally:
        server.server_close()
        engine.dispose()
