"""Manual checks: sources that cannot be polled (captcha, geo-blocking) become tasks for a person.

A round of a manual adapter stores each new task once (by its key) and alerts it (`task`) to the
subscriptions that want tasks and to the operator. The operator's outcome (`watcher tasks done`) is
stored like a record of the source: found -> `new` (once, while the listing stands), not found after
a found -> `removed`. Nothing else in the pipeline needs to know a human did the fetching.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from watcher.db.store import NewAlert, RoundOutcome, Store, utc
from watcher.db.tables import Task
from watcher.diff import Stored, Transition, diff_records
from watcher.errors import WatcherError
from watcher.models import ManualTask, Match, Person, Record

__all__ = ["TaskView", "list_tasks", "record_outcome", "save_tasks"]


@dataclass(frozen=True, slots=True)
class TaskView:
    id: int
    key: str
    source_id: str
    person_id: str
    title: str
    instructions: str
    status: str
    created_at: datetime


def save_tasks(store: Store, source_id: str, tasks: list[ManualTask], now: datetime) -> int:
    """Store and alert the tasks not stored yet; the number of new tasks."""
    created = 0
    with Session(store.engine) as s:
        for task in tasks:
            exists = s.exec(select(Task.id).where(Task.source_id == source_id, Task.key == task.key)).first()
            if exists is not None:
                continue
            row = Task(
                source_id=source_id,
                key=task.key,
                person_id=task.person_id,
                title=task.title,
                instructions=task.instructions,
                url=task.url,
                created_at=utc(now),
            )
            s.add(row)
            s.flush()
            content = {
                "task": {
                    "id": row.id,
                    "key": task.key,
                    "title": task.title,
                    "instructions": task.instructions,
                    "url": task.url,
                }
            }
            alert = NewAlert("task", source_id, task.person_id, content, f"{source_id}|task|{task.key}")
            created += store.add_alert(s, alert, utc(now))
        s.commit()
    return created


def list_tasks(engine: Engine, *, include_done: bool) -> list[TaskView]:
    with Session(engine) as s:
        query = select(Task).order_by(col(Task.id))
        if not include_done:
            query = query.where(Task.status == "open")
        return [
            TaskView(
                t.id or 0, t.key, t.source_id, t.person_id, t.title, t.instructions, t.status, t.created_at
            )
            for t in s.exec(query)
        ]


def record_outcome(
    store: Store, task_ref: str, *, found: bool, note: str, people: dict[str, Person], now: datetime
) -> int:
    """Close a task with its outcome; returns the number of alerts it caused."""
    with Session(store.engine) as s:
        query = select(Task).where(or_(Task.key == task_ref, col(Task.id) == _int(task_ref)))
        task = s.exec(query).first()
        if task is None:
            raise WatcherError(f"no task {task_ref!r}; `watcher tasks` lists the open ones")
        if task.status != "open":
            raise WatcherError(f"task {task.key} was already closed as {task.status} on {task.done_at}")
        task.status, task.note = ("found" if found else "not_found"), note or None
        task.done_at, task.done_by = utc(now), getpass.getuser()
        s.add(task)
        s.commit()
        source_id, person_id, url = task.source_id, task.person_id, task.url
    person = people.get(person_id)
    name = person.name if person else person_id
    record = Record(
        key=person_id,
        title=f"{name}: listed on the {source_id} source (manual check)",
        url=url,
        names=(name,),
        fields={"listed": "yes"},
        kind="person",
    )
    why = f"found by a manual check by {getpass.getuser()}" + (f": {note}" if note else "")
    stored = store.stored_records(source_id)
    current = {record.key: (record, [Match(person_id, 1.0, name, name, why)])} if found else {}
    transitions = diff_records(_only(stored, person_id), current, complete=True)
    return _commit(store, source_id, transitions, now)


def _only(stored: dict[str, Stored], key: str) -> dict[str, Stored]:
    return {key: stored[key]} if key in stored else {}


def _commit(store: Store, source_id: str, transitions: list[Transition], now: datetime) -> int:
    if not transitions:
        return 0
    run_id = store.start_run(source_id, now)
    outcome = RoundOutcome(
        source_id=source_id,
        run_id=run_id,
        now=now,
        fingerprint="",
        adapter_version="",
        cursor=None,
        transitions=transitions,
        records=1,
    )
    return store.commit_rounds([outcome], keep_state=True)[0]


def _int(text: str) -> int:
    return int(text) if text.isdigit() else -1
