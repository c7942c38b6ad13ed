"""CRM syncs: each connector's settings, encrypted credentials and state, and the sync itself.

A sync pulls the chunks a connector (core.connectors) yields since its watermarks and stores
each one through the import path (core.services.imports: the same checks, upsert, audit,
recycled flags and row errors as a file), recorded as an import batch with the chunk's
watermark. The chunk's rows and the stream's new watermark commit in one transaction, so the
watermark never runs ahead of the stored rows; a sync that stops half-way resumes from the last
chunk it committed, and re-reading rows already stored changes nothing.
"""

import importlib
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from sqlmodel import Session, select

from core import clock, secret_box
from core.connectors.base import Chunk, SyncError
from core.errors import InvalidInput, NotFound
from core.permissions import Action, Role, require
from core.services.accounts import Actor
from core.services.audit import record
from core.services.imports import import_lead_rows, import_touch_rows
from db.models import Connector, ImportBatch, User, utcnow

CONNECTORS = {"hubspot": "HubSpot", "salesforce": "Salesforce"}
DEFAULT_EVERY_MINUTES = 15
MAX_STORED_ROW_ERRORS = 50  # per sync, in the connector's state; every error is in its batch

Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class ConnectorView:
    """A connector as the Integrations page shows it (never its credentials)."""

    name: str
    label: str
    configured: bool
    paused: bool
    state: str  # not configured | idle | running | failed | paused
    settings: dict[str, Any]
    secret_hint: str | None
    every_minutes: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_counts: dict[str, Any]
    watermarks: dict[str, Any]
    next_run_at: datetime | None


@dataclass(frozen=True)
class SyncResult:
    """What one sync pass did: rows read, inserted, updated, unchanged and rejected, per
    stream and in all, and the batches it recorded."""

    connector: str
    state: str  # ok | skipped | failed
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    streams: dict[str, dict[str, int]] = field(default_factory=dict)
    batches: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"connector": self.connector, "state": self.state, "read": self.read,
                "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": self.rejected,
                "streams": self.streams, "batches": self.batches, "errors": self.errors,
                "notes": self.notes, "reason": self.reason}


def sync_actor(name: str) -> Actor:
    """Who a sync acts as in the audit trail: `sync:<connector>`."""
    return Actor(username=f"sync:{name}", display_name=f"{CONNECTORS[name]} sync",
                 role=Role.ADMIN)


def connector_module(name: str) -> ModuleType:
    """core.connectors.<name>: LABEL, SETTINGS, CREDENTIALS, validate_settings, puller."""
    if name not in CONNECTORS:
        raise InvalidInput("connector", f"unknown connector '{name}'; use one of: "
                           f"{', '.join(CONNECTORS)}")
    return importlib.import_module(f"core.connectors.{name}")


# --- settings and state -------------------------------------------------------------------


def connectors(*, session: Session, actor: Actor) -> list[ConnectorView]:
    """Every connector, configured or not, with its state."""
    require(actor.role, Action.MANAGE_INTEGRATIONS)
    stored = {row.name: row for row in session.exec(select(Connector)).all()}
    return [_view(name, stored.get(name)) for name in CONNECTORS]


def configure_connector(
    *, session: Session, actor: Actor, name: str, settings: Mapping[str, Any],
    credentials: Mapping[str, str] | None = None,
) -> ConnectorView:
    """Save a connector's settings (checked by the connector) and, when given, its credentials
    (sealed with the workspace key; empty values keep the stored ones); audited without the
    credentials."""
    require(actor.role, Action.MANAGE_INTEGRATIONS)
    module = connector_module(name)
    clean = module.validate_settings(dict(settings))
    every = clean.get("every_minutes", DEFAULT_EVERY_MINUTES)
    if not isinstance(every, int) or not 1 <= every <= 24 * 60:
        raise InvalidInput("every_minutes", "sync every 1 to 1,440 minutes")
    row = _row(session, name)
    before = {"settings": row.settings, "credentials": row.secret_hint}
    row.settings = {**clean, "every_minutes": every}
    if credentials is not None:
        stored = _credentials(row)
        merged = {**stored, **{k: v.strip() for k, v in credentials.items() if v and v.strip()}}
        missing = [key for key in module.required_credentials(row.settings) if not merged.get(key)]
        if missing:
            raise InvalidInput(missing[0], f"{CONNECTORS[name]} needs {', '.join(missing)}")
        _store_credentials(row, merged, module)
    elif not row.secret:
        raise InvalidInput("credentials", f"enter the {CONNECTORS[name]} credentials")
    row.updated_by, row.updated_at = actor.username, utcnow()
    session.add(row)
    record(session, actor=actor.username, action="connector.configure",
           object_type="connector", object_id=name, before=before,
           after={"settings": row.settings, "credentials": row.secret_hint})
    session.flush()
    return _view(name, row)


def set_paused(*, session: Session, actor: Actor, name: str, paused: bool) -> ConnectorView:
    """Pause a connector's scheduled syncs, or resume them; audited."""
    require(actor.role, Action.MANAGE_INTEGRATIONS)
    connector_module(name)
    row = session.get(Connector, name)
    if row is None or not row.secret:
        raise NotFound(f"{CONNECTORS[name]} is not configured")
    row.paused, row.updated_by, row.updated_at = paused, actor.username, utcnow()
    session.add(row)
    record(session, actor=actor.username, action="connector.pause" if paused else
           "connector.resume", object_type="connector", object_id=name)
    session.flush()
    return _view(name, row)


def request_sync(*, session: Session, actor: Actor, name: str) -> None:
    """Queue a sync now ("sync now"), paused or not; the worker runs it."""
    from core import worker  # the worker runs syncs: it imports this module

    require(actor.role, Action.MANAGE_INTEGRATIONS)
    connector_module(name)
    row = session.get(Connector, name)
    if row is None or not row.secret:
        raise NotFound(f"{CONNECTORS[name]} is not configured: enter its credentials first")
    worker.enqueue_sync(name)
    record(session, actor=actor.username, action="connector.sync_now", object_type="connector",
           object_id=name)


def due_connectors(session: Session, now: datetime | None = None) -> list[str]:
    """The configured, unpaused connectors whose next run has come (the worker's schedule)."""
    now = now or clock.now()
    due = []
    for row in session.exec(select(Connector)).all():
        view = _view(row.name, row)
        # A "running" state left by a killed worker does not block: the worker's lock decides
        if view.configured and not view.paused and (
                view.next_run_at is None or view.next_run_at <= now):
            due.append(row.name)
    return due


@dataclass(frozen=True)
class Freshness:
    """When the data was last refreshed, and from where: "data as of 10:42, HubSpot"."""

    at: datetime
    source: str


def data_freshness(*, session: Session, actor: Actor) -> Freshness | None:
    """The latest successful sync, or else the latest import batch; None before any data."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    synced = session.exec(select(Connector).where(Connector.last_success_at.is_not(None))
                          .order_by(Connector.last_success_at.desc())).first()
    imported = session.exec(select(ImportBatch).where(ImportBatch.undone_at.is_(None))
                            .order_by(ImportBatch.at.desc())).first()
    if synced and (imported is None or synced.last_success_at >= imported.at):
        return Freshness(synced.last_success_at, CONNECTORS[synced.name])
    if imported:
        return Freshness(imported.at, _batch_origin(imported))
    return None


def _batch_origin(batch: ImportBatch) -> str:
    """Where a batch came from, in words: a connector, the REST API, or a file."""
    if batch.watermark is not None and batch.source in CONNECTORS:
        return CONNECTORS[batch.source]
    if batch.actor.startswith("api:"):
        return "the REST API"
    return f"an import of {batch.file_name}"


# --- the sync -------------------------------------------------------------------------------


def run_sync(name: str, *, sessions: Sessions, force: bool = False) -> SyncResult:
    """One sync pass of a connector: every chunk since its watermarks, each stored and its
    watermark moved in one transaction. A paused or unconfigured connector is skipped (unless
    `force`, for "sync now"); a failure is kept in the connector's state and raised again,
    for the worker to retry."""
    connector_module(name)
    with sessions() as session:
        row = session.get(Connector, name)
        if row is None or not row.secret:
            return SyncResult(name, "skipped", reason=f"{CONNECTORS[name]} is not configured")
        if row.paused and not force:
            return SyncResult(name, "skipped", reason=f"{CONNECTORS[name]} is paused")
        row.state, row.last_started_at, row.last_error = "running", utcnow(), None
        settings, credentials, watermarks = dict(row.settings), _credentials(row), dict(
            row.watermarks)
        session.add(row)
        owners = _owners_by_email(session)
    progress = _Progress(name)
    try:
        puller = connector_module(name).puller(
            settings, credentials, owners=owners,
            save_credentials=lambda fresh: _save_refreshed(sessions, name, fresh))
        try:
            for chunk in puller.chunks(watermarks):
                with sessions() as session:
                    progress.add(chunk, _store_chunk(session, name, chunk))
            if progress.waiting:
                _offer_waiting_again(sessions, name, puller, progress)
        finally:
            puller.close()
    except Exception as error:
        _finish(sessions, name, progress, error)
        raise
    _finish(sessions, name, progress, None)
    return progress.result("ok")


def _offer_waiting_again(sessions: Sessions, name: str, puller, progress: "_Progress") -> None:
    """Touches refused because their lead is not stored yet: the CRM created the lead after
    this pass read its stream. Read the lead streams again from their new watermarks, then offer
    those touches once more; what is still refused then is a row error like any other."""
    with sessions() as session:
        watermarks = dict(session.get(Connector, name).watermarks)
    for chunk in puller.chunks(watermarks):
        if chunk.kind != "leads":
            break  # the lead streams come first: the rest is read on the next pass
        with sessions() as session:
            progress.add(chunk, _store_chunk(session, name, chunk))
    for stream, rows in progress.take_waiting().items():
        with sessions() as session:
            mark = session.get(Connector, name).watermarks.get(stream, "")
            again = Chunk(stream, "touches", rows, mark)
            progress.add(again, _store_chunk(session, name, again), final=True)


def _store_chunk(session: Session, name: str, chunk: Chunk):
    """The chunk's rows through the import path, and the stream's watermark moved: one
    transaction (the caller's)."""
    if chunk.kind not in ("leads", "touches"):
        raise SyncError(f"{name}: a chunk of unknown kind '{chunk.kind}'")
    label = f"{CONNECTORS[name]} sync: {chunk.stream} to {chunk.watermark}"
    summary = None
    if chunk.rows:
        store = import_lead_rows if chunk.kind == "leads" else import_touch_rows
        summary = store(session=session, actor=sync_actor(name), rows=chunk.rows, source=name,
                        name=label, watermark=chunk.watermark)
    row = session.get(Connector, name)
    current = row.watermarks.get(chunk.stream)
    if current is None or chunk.watermark > current:
        row.watermarks = {**row.watermarks, chunk.stream: chunk.watermark}
    session.add(row)
    return summary


class _Progress:
    """The counts of a sync pass so far, its notes, and the touches waiting for their lead."""

    def __init__(self, name: str):
        self.name = name
        self.totals = dict.fromkeys(("read", "inserted", "updated", "unchanged", "rejected"), 0)
        self.streams: dict[str, dict[str, int]] = {}
        self.batches: list[int] = []
        self.errors: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.waiting: dict[str, list[dict[str, Any]]] = {}

    def add(self, chunk: Chunk, summary, *, final: bool = False) -> None:
        """Count a stored chunk; a touch refused for an unknown lead waits for one more try
        (not `final`) instead of counting as rejected."""
        stream = self.streams.setdefault(chunk.stream, dict.fromkeys(self.totals, 0))
        self.notes += [note for note in chunk.notes if note not in self.notes][
            :max(MAX_STORED_ROW_ERRORS - len(self.notes), 0)]
        if summary is None:
            return
        waiting = [] if final or chunk.kind != "touches" else [
            error for error in summary.errors if error.reason.startswith("no lead '")]
        for key in self.totals:
            value = getattr(summary, key)
            self.totals[key] += value
            stream[key] += value
        self.batches.append(summary.batch_id)
        if waiting:
            self.waiting.setdefault(chunk.stream, []).extend(
                chunk.rows[error.line - 1] for error in waiting)
            for counts in (self.totals, stream):
                counts["read"] -= len(waiting)
                counts["rejected"] -= len(waiting)
        shown = [error for error in summary.errors if error not in waiting]
        room = MAX_STORED_ROW_ERRORS - len(self.errors)
        self.errors += [{"stream": chunk.stream, "batch": summary.batch_id, "line": e.line,
                         "column": e.column, "reason": e.reason}
                        for e in shown[:max(room, 0)]]

    def take_waiting(self) -> dict[str, list[dict[str, Any]]]:
        waiting, self.waiting = self.waiting, {}
        return waiting

    def counts(self) -> dict[str, Any]:
        return {**self.totals, "streams": self.streams, "batches": self.batches,
                "errors": self.errors, "notes": self.notes}

    def result(self, state: str, reason: str = "") -> SyncResult:
        return SyncResult(self.name, state, **self.totals, streams=self.streams,
                          batches=self.batches, errors=self.errors, notes=self.notes,
                          reason=reason)


def _finish(sessions: Sessions, name: str, progress: _Progress,
            error: Exception | None) -> None:
    with sessions() as session:
        row = session.get(Connector, name)
        row.state = "failed" if error else "idle"
        row.last_finished_at = utcnow()
        row.last_counts = progress.counts()
        if error is None:
            row.last_success_at, row.last_error = row.last_finished_at, None
        else:
            row.last_error = error_text(error)
        session.add(row)


def error_text(error: Exception) -> str:
    """An error as the admin reads it: a sync's own message as it is, anything else with its
    kind."""
    text = str(error) or type(error).__name__
    if isinstance(error, SyncError | InvalidInput):
        return text
    return f"{type(error).__name__}: {text}"


def _save_refreshed(sessions: Sessions, name: str, credentials: Mapping[str, str]) -> None:
    """Keep a refreshed access token (sealed), so the next run starts with it."""
    with sessions() as session:
        row = session.get(Connector, name)
        _store_credentials(row, {**_credentials(row), **credentials}, connector_module(name))
        session.add(row)


def _owners_by_email(session: Session) -> dict[str, str]:
    """Active users by lowered email: how a CRM's owner becomes a Handoff username."""
    users = session.exec(select(User.email, User.username).where(User.active)).all()
    return {email.strip().lower(): username for email, username in users if email}


# --- rows -----------------------------------------------------------------------------------


def _row(session: Session, name: str) -> Connector:
    return session.get(Connector, name) or Connector(
        name=name, settings={}, watermarks={}, last_counts={}, state="idle")


def _credentials(row: Connector) -> dict[str, str]:
    return json.loads(secret_box.unseal(row.secret)) if row.secret else {}


def _store_credentials(row: Connector, credentials: Mapping[str, str], module) -> None:
    row.secret = secret_box.seal(json.dumps(dict(credentials), sort_keys=True))
    shown = credentials.get(module.HINTED_CREDENTIAL, "")
    row.secret_hint = secret_box.hint(shown)


def _view(name: str, row: Connector | None) -> ConnectorView:
    if row is None:
        return ConnectorView(name, CONNECTORS[name], False, False, "not configured", {}, None,
                             DEFAULT_EVERY_MINUTES, None, None, None, None, {}, {}, None)
    every = int(row.settings.get("every_minutes", DEFAULT_EVERY_MINUTES))
    configured = bool(row.secret)
    state = ("not configured" if not configured else "paused" if row.paused and
             row.state != "running" else row.state)
    next_run = None
    if configured and not row.paused and row.state != "running":
        after = row.last_finished_at or row.last_started_at
        next_run = after + timedelta(minutes=every) if after else None
    # A "running" sync is due again at once: if its worker was killed, the next one resumes it
    # from its watermarks; if it is alive, its lease makes the new one a skipped run.
    return ConnectorView(name, CONNECTORS[name], configured, row.paused, state,
                         dict(row.settings), row.secret_hint, every, row.last_started_at,
                         row.last_finished_at, row.last_success_at, row.last_error,
                         dict(row.last_counts), dict(row.watermarks), next_run)
