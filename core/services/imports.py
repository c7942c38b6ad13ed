"""Lead and touch imports: parse with core.ingest, then upsert in one transaction."""

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col

from core import ingest
from core.errors import InvalidInput
from core.limits import LEAD_FIELD_MAX_CHARS
from core.permissions import Action, require
from core.services.accounts import Actor
from core.services.agreements import signed_document
from core.services.audit import channel, record
from db import locks
from db.bulk import fetch_frame, insert_frame, update_frame
from db.models import (
    AuditEvent,
    ImportBatch,
    Lead,
    LeadOwnerChange,
    SavedMapping,
    Touch,
    utcnow,
)

Progress = Callable[[float, str], None]
CHUNK = 5_000  # ids per IN (...) query: well under SQLite's bound-parameter limit
RECYCLE_WINDOW = timedelta(days=90)
MAX_STORED_ERRORS = 10_000
TOUCH_KEY = ["lead_id", "at", "kind", "rep"]  # a touch is stored once per key
TOUCH_DETAILS = ("outcome", "note")  # what a file may change on a stored touch

# What the import page offers and shows, from the ingest package.
FIELDS = {"leads": ingest.LEAD_FIELDS, "touches": ingest.TOUCH_FIELDS}
PRESETS = ingest.PRESETS
RowError = ingest.RowError
errors_csv = ingest.errors_csv
FILE_REFUSALS = (ingest.FileRefused, ingest.UsageError)  # the whole file cannot be read


@dataclass(frozen=True)
class ImportSummary:
    """What an import did; read = inserted + updated + unchanged + rejected."""

    batch_id: int | None
    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ingest.RowError]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The DESIGN §6 JSON shape."""
        return {
            "read": self.read, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "errors": [{"line": e.line, "column": e.column, "reason": e.reason}
                       for e in self.errors],
            "notes": self.notes,
            "batch": self.batch_id,
        }


@dataclass(frozen=True)
class BatchView:
    """One row of the import history."""

    id: int
    kind: str
    file_name: str
    file_hash: str
    source: str
    preset: str | None
    mapping: dict[str, Any]
    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[dict[str, Any]]
    actor: str
    at: datetime


def import_leads(
    *, session: Session, actor: Actor, data: bytes, filename: str, preset: str | None = None,
    overrides: Mapping[str, str] | None = None, tz: str | None = None,
    date_format: str | None = None, source: str | None = None, progress: Progress | None = None,
) -> ImportSummary:
    """Upsert the good rows of a lead file by (source, external_id); report every bad row.

    Imports into one source run one at a time (db.locks): a second import of the same rows
    waits, then finds them stored and reports them unchanged."""
    require(actor.role, Action.IMPORT_DATA)
    source = _valid_source(source or preset or "import")
    table = ingest.read_table(data, filename)
    return _import_leads(session, actor, table, _Origin(data, filename, preset, tz, date_format),
                         overrides, source, progress)


def import_lead_rows(
    *, session: Session, actor: Actor, rows: Sequence[Mapping[str, Any]], source: str,
    name: str, watermark: str | None = None,
) -> ImportSummary:
    """Upsert lead rows given as canonical fields (a REST API batch, a connector's page) exactly
    as a file of those columns would be: row N is line N. `watermark` is recorded with the
    batch (a connector's position once these rows are stored)."""
    return _import_rows(_import_leads, session, actor, rows, source, name, watermark)


def _import_rows(importer: Callable[..., ImportSummary], session: Session, actor: Actor,
                 rows: Sequence[Mapping[str, Any]], source: str, name: str,
                 watermark: str | None) -> ImportSummary:
    """Rows given as values through a file's importer: a Table of them, their JSON hashed."""
    require(actor.role, Action.IMPORT_DATA)
    source = _valid_source(source)
    table = ingest.read_rows(rows, name)
    return importer(session, actor, table, _Origin.of_rows(rows, name, watermark), None,
                    source, None)


def _import_leads(session: Session, actor: Actor, table: ingest.Table, origin: "_Origin",
                  overrides: Mapping[str, str] | None, source: str,
                  progress: Progress | None) -> ImportSummary:
    report = progress or (lambda _fraction, _message: None)
    document = signed_document(session)
    mapping = ingest.resolve_mapping(table.columns, kind="leads", preset=origin.preset,
                                     overrides=overrides or {})
    report(0.1, f"Read {len(table.rows):,} rows")
    parsed = ingest.parse_leads(
        table, mapping, tz=origin.tz or _default_zone(document), date_format=origin.date_format,
        rejection_reasons=document.rejection_reasons if document else None,
    )
    report(0.3, f"Checked {parsed.read:,} rows")
    batch = _open_batch(session, actor, "leads", origin, source, mapping)
    plan = _LeadPlan(session, parsed, source, mapping, batch,
                     zone=origin.tz or _default_zone(document))
    report(0.5, "Compared with stored leads")
    inserted = plan.insert_new()
    updated = plan.update_changed(actor)
    report(0.8, "Saved leads")
    flag_recycled(session, plan.touched_keys())
    summary = _summary(parsed, plan.errors, inserted=inserted, updated=updated)
    _close_batch(session, actor, batch, summary)
    report(1.0, "Done")
    return _with_batch(summary, batch.id)


def import_touches(
    *, session: Session, actor: Actor, data: bytes, filename: str, preset: str | None = None,
    overrides: Mapping[str, str] | None = None, tz: str | None = None,
    date_format: str | None = None, source: str = "import", progress: Progress | None = None,
) -> ImportSummary:
    """Add the file's touches not stored yet, and set the outcome and note the file gives a
    stored touch when they differ (an empty cell never clears one; each change audited); a
    touch of an unknown lead, or from before its lead was created, is a bad row."""
    require(actor.role, Action.IMPORT_DATA)
    source = _valid_source(source)
    table = ingest.read_table(data, filename)
    return _import_touches(session, actor, table,
                           _Origin(data, filename, preset, tz, date_format), overrides, source,
                           progress)


def import_touch_rows(
    *, session: Session, actor: Actor, rows: Sequence[Mapping[str, Any]], source: str,
    name: str, watermark: str | None = None,
) -> ImportSummary:
    """Add touch rows given as canonical fields, as import_touches does for a file of those
    columns (row N is line N); `watermark` as for import_lead_rows."""
    return _import_rows(_import_touches, session, actor, rows, source, name, watermark)


def _import_touches(session: Session, actor: Actor, table: ingest.Table, origin: "_Origin",
                    overrides: Mapping[str, str] | None, source: str,
                    progress: Progress | None) -> ImportSummary:
    report = progress or (lambda _fraction, _message: None)
    mapping = ingest.resolve_mapping(table.columns, kind="touches", preset=origin.preset,
                                     overrides=overrides or {})
    parsed = ingest.parse_touches(
        table, mapping, tz=origin.tz or _default_zone(signed_document(session)),
        date_format=origin.date_format)
    report(0.3, f"Checked {parsed.read:,} rows")
    batch = _open_batch(session, actor, "touches", origin, source, mapping)
    frame = parsed.frame.assign(line=parsed.lines)
    leads = _lead_keys(session, source, frame["lead_external_id"].unique().tolist())
    frame = frame.merge(leads, on="lead_external_id", how="left")
    errors = _touch_errors(frame, mapping, source)
    frame = frame[frame["lead_id"].notna() & ~_before_lead(frame)].astype({"lead_id": "int64"})
    frame["rep"] = frame["rep"].fillna("") if "rep" in frame else ""
    details = [name for name in TOUCH_DETAILS if name in parsed.supplied]
    fresh, stored = _split_touches(session, frame, details)
    fresh = fresh.assign(import_batch_id=batch.id)
    insert_frame(session, Touch.__table__,
                 fresh[["lead_id", "at", "kind", "rep", "automated", *details,
                        "import_batch_id"]])
    updated = _update_touch_details(session, actor, batch.id, stored, details)
    report(0.9, "Saved touches")
    summary = _summary(parsed, errors, inserted=len(fresh), updated=updated)
    _close_batch(session, actor, batch, summary)
    report(1.0, "Done")
    return _with_batch(summary, batch.id)


@dataclass(frozen=True)
class _Origin:
    """Where an import's rows came from, as its batch records it: the file's bytes (or the
    rows as JSON), its name, the reading options, and a connector's watermark."""

    data: bytes
    name: str
    preset: str | None = None
    tz: str | None = None
    date_format: str | None = None
    watermark: str | None = None

    @classmethod
    def of_rows(cls, rows: Sequence[Mapping[str, Any]], name: str,
                watermark: str | None) -> "_Origin":
        data = json.dumps(list(rows), sort_keys=True, default=str).encode()
        return cls(data, name, watermark=watermark)


def _touch_errors(frame: pd.DataFrame, mapping: dict[str, list[str]],
                  source: str) -> list[ingest.RowError]:
    """Rows whose lead is unknown, or that happened before their lead was created."""
    unknown = frame[frame["lead_id"].isna()]
    errors = [ingest.RowError(int(line), _column(mapping, "lead_external_id"),
                              f"no lead '{lead}' from source '{source}'")
              for line, lead in zip(unknown["line"], unknown["lead_external_id"], strict=True)]
    early = frame[_before_lead(frame)]
    errors += [ingest.RowError(int(line), _column(mapping, "at"),
                               f"the touch at {at:%Y-%m-%d %H:%M} UTC is before its lead "
                               f"'{lead}' was created ({created:%Y-%m-%d %H:%M} UTC)")
               for line, at, lead, created in zip(early["line"], early["at"],
                                                  early["lead_external_id"],
                                                  early["lead_created_at"], strict=True)]
    return errors


def _before_lead(frame: pd.DataFrame) -> pd.Series:
    """Touches that happened before their (known) lead was created."""
    return (frame["at"] < frame["lead_created_at"]).fillna(False).astype(bool)


def _valid_source(source: str) -> str:
    """The name of the system the ids belong to, within its column's width."""
    source = (source or "").strip()
    limit = LEAD_FIELD_MAX_CHARS["source"]
    if not source:
        raise InvalidInput("source", "name the system the ids belong to")
    if len(source) > limit:
        raise InvalidInput("source", f"{len(source)} characters; at most {limit} are allowed")
    return source


@dataclass(frozen=True)
class ImportPreview:
    """What a file would import with a mapping, before anything is written."""

    columns: list[str]
    mapping: dict[str, list[str]]
    rows: pd.DataFrame
    read: int
    rejected: int
    errors: list[ingest.RowError]
    notes: list[str]


def preview_import(
    *, session: Session, actor: Actor, data: bytes, filename: str, kind: str,
    preset: str | None = None, overrides: Mapping[str, str] | None = None,
    tz: str | None = None, date_format: str | None = None, rows: int = 10,
) -> ImportPreview:
    """Parse a file with a mapping and show its first good rows and its problems; writes
    nothing. Raises ingest.FileRefused when the whole file would be refused."""
    require(actor.role, Action.IMPORT_DATA)
    document = signed_document(session)
    table = ingest.read_table(data, filename)
    mapping = ingest.resolve_mapping(table.columns, kind=kind, preset=preset,
                                     overrides=overrides or {})
    zone = tz or _default_zone(document)
    if kind == "leads":
        parsed = ingest.parse_leads(
            table, mapping, tz=zone, date_format=date_format,
            rejection_reasons=document.rejection_reasons if document else None)
    else:
        parsed = ingest.parse_touches(table, mapping, tz=zone, date_format=date_format)
    return ImportPreview(table.columns, mapping, parsed.frame.head(rows), parsed.read,
                         parsed.rejected, parsed.errors, list(parsed.notes))


def default_zone(*, session: Session, actor: Actor) -> str:
    """The zone naive timestamps are read in by default: the active agreement's, else UTC."""
    require(actor.role, Action.IMPORT_DATA)
    return _default_zone(signed_document(session))


def list_batches(*, session: Session, actor: Actor, limit: int = 50) -> list[BatchView]:
    """The latest import batches, newest first."""
    require(actor.role, Action.IMPORT_DATA)
    batches = session.execute(
        select(ImportBatch).order_by(col(ImportBatch.at).desc()).limit(limit)
    ).scalars().all()
    return [BatchView(b.id, b.kind, b.file_name, b.file_hash, b.source, b.preset, b.mapping,
                      b.read, b.inserted, b.updated, b.unchanged, b.rejected, b.errors, b.actor,
                      b.at) for b in batches]


def batch_months(*, session: Session, actor: Actor, batch_id: int) -> list[tuple[str, int]]:
    """Where a batch's rows fall, oldest first: (month, rows) by the MQL month of the leads it
    inserted or updated (leads without an MQL by their creation), or by the month of the touches
    it inserted; months in the signed agreement's zone (UTC before one is signed)."""
    require(actor.role, Action.IMPORT_DATA)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        return []
    if batch.kind == "touches":
        stamps = session.execute(select(Touch.at).where(Touch.import_batch_id == batch_id)
                                 ).scalars().all()
    else:
        changed = select(AuditEvent.object_id).where(AuditEvent.batch_id == batch_id,
                                                     AuditEvent.action == "lead.import_update")
        leads = session.execute(
            select(Lead.mql_at, Lead.created_at).where(
                (Lead.import_batch_id == batch_id)
                | ((Lead.source + "/" + Lead.external_id).in_(changed)))).all()
        stamps = [mql or created for mql, created in leads if mql or created]
    if not stamps:
        return []
    document = signed_document(session)
    zone = document.calendar.timezone if document else "UTC"
    local = pd.to_datetime(pd.Series(stamps), utc=True).dt.tz_convert(zone)
    counts = local.dt.strftime("%Y-%m").value_counts().sort_index()
    return [(month, int(rows)) for month, rows in counts.items()]


def save_mapping(
    *, session: Session, actor: Actor, name: str, kind: str, mapping: Mapping[str, str],
    preset: str | None = None,
) -> None:
    """Save (or replace) a named column mapping for reuse."""
    require(actor.role, Action.IMPORT_DATA)
    name = name.strip()
    if not name:
        raise InvalidInput("name", "a saved mapping needs a name")
    existing = session.execute(select(SavedMapping).where(
        SavedMapping.kind == kind, SavedMapping.name == name)).scalars().first()
    saved = existing or SavedMapping(kind=kind, name=name, created_by=actor.username, mapping={})
    saved.mapping, saved.preset = dict(mapping), preset
    session.add(saved)
    record(session, actor=actor.username, action="mapping.save", object_type="saved_mapping",
           object_id=f"{kind}/{name}", after={"preset": preset, "mapping": dict(mapping)})


def saved_mappings(*, session: Session, actor: Actor, kind: str) -> dict[str, dict[str, Any]]:
    """Saved mappings of a kind by name: {"preset": ..., "mapping": {...}}."""
    require(actor.role, Action.IMPORT_DATA)
    rows = session.execute(select(SavedMapping).where(SavedMapping.kind == kind)
                        .order_by(SavedMapping.name)).scalars().all()
    return {row.name: {"preset": row.preset, "mapping": row.mapping} for row in rows}


# --- the lead upsert ----------------------------------------------------------------------


class _LeadPlan:
    """Split a parsed lead file into new, changed and unchanged leads, column by column."""

    def __init__(self, session: Session, parsed: ingest.ParsedFile, source: str,
                 mapping: dict[str, list[str]], batch: ImportBatch, *, zone: str):
        self.session, self.source, self.mapping, self.zone = session, source, mapping, zone
        self.batch_id, self.batch_at = batch.id, batch.at
        self.fields = [f for f in ingest.LEAD_FIELDS
                       if f in parsed.supplied and f != "external_id"]
        self.frame = parsed.frame.assign(line=parsed.lines).set_index("external_id", drop=False)
        self.errors: list[ingest.RowError] = []
        stored_fields = list(dict.fromkeys([*self.fields, "created_at", "attributes"]))
        self.stored = _stored_leads(session, source, self.frame.index.tolist(), stored_fields)
        self.is_new = ~self.frame.index.isin(self.stored.index)
        self.changed = self.frame.iloc[0:0]

    def insert_new(self) -> int:
        """Insert the leads that are not stored yet (created_at defaults to mql_at)."""
        new = self.frame[self.is_new].copy()
        if "created_at" not in new:
            new["created_at"] = new.get("mql_at", pd.NaT)
        elif "mql_at" in new:
            new["created_at"] = new["created_at"].fillna(new["mql_at"])
        missing = new["created_at"].isna()
        self.errors += [ingest.RowError(int(line), "", "a new lead needs created_at or mql_at")
                        for line in new.loc[missing, "line"]]
        new = new[~missing]
        if new.empty:
            return 0
        columns = ["external_id", "created_at", *[f for f in self.fields if f != "created_at"]]
        rows = new[columns].assign(
            source=self.source, recycled=False, import_batch_id=self.batch_id,
            attributes=[extra or {} for extra in new.get("attributes", [{}] * len(new))])
        self.changed = new
        return insert_frame(self.session, Lead.__table__, rows)

    def update_changed(self, actor: Actor) -> int:
        """Update only the supplied fields that differ (empty cells never clear); audit each,
        and record each change of owner in the lead's owner history."""
        file = self.frame[~self.is_new]
        if file.empty:
            return 0
        stored = self.stored.loc[file.index]
        early = self._before_creation(file, stored)
        file, stored = file[~early], stored[~early]
        differs = {name: _differs(file[name], stored[name]) for name in self.fields}
        merged_attributes = _merged_attributes(file, stored)
        differs["attributes"] = pd.Series(
            [m != (old or {}) for m, old in zip(merged_attributes, stored["attributes"],
                                                strict=True)], index=file.index, dtype=bool)
        changed_rows = pd.DataFrame(differs).any(axis=1).to_numpy()
        if not changed_rows.any():
            return 0
        changes, audits = [], []
        names = list(differs)
        new_values = {**{n: file[n].tolist() for n in self.fields},
                      "attributes": merged_attributes}
        old_values = {n: stored[n].tolist() for n in names}
        masks = {n: differs[n].to_numpy() for n in names}
        ids = stored["id"].tolist()
        for row in np.flatnonzero(changed_rows):
            changed = [n for n in names if masks[n][row]]
            after = {n: _plain(new_values[n][row]) for n in changed}
            changes.append({"id": int(ids[row]), **after})
            audits.append({
                "actor": actor.username, "action": "lead.import_update", "object_type": "lead",
                "object_id": f"{self.source}/{file.index[row]}", "at": utcnow(),
                "channel": channel(), "batch_id": self.batch_id,
                "before": _jsonable({n: _plain(old_values[n][row]) for n in changed}),
                "after": _jsonable(after)})
        for group in _by_keys(changes):
            update_frame(self.session, Lead.__table__, pd.DataFrame(group))
        insert_frame(self.session, AuditEvent.__table__, pd.DataFrame(audits))
        if "owner" in differs:
            self._record_owner_changes(actor, file, stored, differs["owner"].to_numpy())
        self.changed = pd.concat([self.changed, file[changed_rows]])
        return len(changes)

    def _record_owner_changes(self, actor: Actor, file: pd.DataFrame, stored: pd.DataFrame,
                              moved: np.ndarray) -> None:
        """One owner-history row per stored lead the file gives another owner (the CRM
        reassigned it), at the batch's time and marked with it: one bulk insert."""
        if not moved.any():
            return
        owners = stored["owner"].astype(object)
        insert_frame(self.session, LeadOwnerChange.__table__, pd.DataFrame({
            "lead_id": stored["id"].to_numpy()[moved].astype("int64"),
            "at": self.batch_at,
            "from_owner": owners.where(owners.notna(), None).to_numpy()[moved],
            "to_owner": file["owner"].astype(object).to_numpy()[moved],
            "changed_by": actor.username,
            "reason": f"import #{self.batch_id}",
            "import_batch_id": self.batch_id,
        }))

    def _before_creation(self, file: pd.DataFrame, stored: pd.DataFrame) -> np.ndarray:
        """Rows whose stage times fall before the lead's creation become errors. A date-only
        stage (local midnight) may fall on the creation day, as a new lead's may."""
        created = _as_utc(stored["created_at"])
        if "created_at" in file:
            created = file["created_at"].fillna(created)
        creation_day = (created.dt.tz_convert(self.zone)
                        .dt.floor("D", nonexistent="shift_forward", ambiguous=True)
                        .dt.tz_convert("UTC"))
        early = np.zeros(len(file), dtype=bool)
        for name in ingest.LEAD_TIMESTAMPS:
            if name == "created_at" or name not in file:
                continue
            that_day = (file[name] == creation_day).fillna(False).to_numpy(dtype=bool)
            bad = (file[name] < created).fillna(False).to_numpy(dtype=bool) & ~that_day & ~early
            for line, value, when in zip(file["line"][bad], file[name][bad], created[bad],
                                         strict=True):
                self.errors.append(ingest.RowError(
                    int(line), ", ".join(self.mapping.get(name, [name])),
                    f"{name} {value:%Y-%m-%d %H:%M} UTC is before the lead's creation "
                    f"({when:%Y-%m-%d %H:%M} UTC)"))
            early |= bad
        return early

    def touched_keys(self) -> pd.DataFrame:
        """The inserted and updated leads: their keys decide the recycled flags to recompute."""
        return self.changed


def _differs(new: pd.Series, old: pd.Series) -> pd.Series:
    """Where the file supplies a value that differs from the stored one."""
    supplied = new.notna()
    if pd.api.types.is_datetime64_any_dtype(new):
        old = _as_utc(old)
    elif pd.api.types.is_float_dtype(new):
        old = pd.to_numeric(old, errors="coerce").astype("float64")
    else:
        old = old.astype(object)
    same = (new == old).fillna(False).astype(bool)
    return supplied & ~same


def _as_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.as_unit("ns")


def _merged_attributes(file: pd.DataFrame, stored: pd.DataFrame) -> list[dict]:
    """Stored attributes updated with the file's (keys the file lacks are kept)."""
    extra = file["attributes"].tolist() if "attributes" in file else [{}] * len(file)
    return [{**(old or {}), **(new or {})}
            for old, new in zip(stored["attributes"], extra, strict=True)]


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, dict | list) and bool(pd.isna(value)))


def _plain(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.floating | np.integer):
        return value.item()
    return value


def _jsonable(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def _by_keys(changes: list[dict]) -> list[list[dict]]:
    """Group bulk updates by their set of columns (one executemany per shape)."""
    groups: dict[tuple, list[dict]] = {}
    for change in changes:
        groups.setdefault(tuple(sorted(change)), []).append(change)
    return list(groups.values())


def _stored_leads(session: Session, source: str, external_ids: list[str],
                  fields: list[str]) -> pd.DataFrame:
    columns = ["id", "external_id", *fields]
    if session.execute(select(Lead.id).where(Lead.source == source).limit(1)).first() is None:
        external_ids = []  # a first import from this source: every lead is new
    frames = [fetch_frame(session, Lead.__table__, columns, Lead.source == source,
                          col(Lead.external_id).in_(external_ids[start:start + CHUNK]))
              for start in range(0, len(external_ids), CHUNK)]
    frame = pd.concat(frames) if frames else fetch_frame(session, Lead.__table__, columns,
                                                          Lead.id.is_(None))
    return frame.set_index("external_id", drop=False)


def _lead_keys(session: Session, source: str, external_ids: list[str]) -> pd.DataFrame:
    """lead_external_id, lead_id and lead_created_at of the stored leads among the ids."""
    frames = [fetch_frame(session, Lead.__table__, ["external_id", "id", "created_at"],
                          Lead.source == source,
                          col(Lead.external_id).in_(external_ids[start:start + CHUNK]))
              for start in range(0, len(external_ids), CHUNK)]
    frame = (pd.concat(frames) if frames else
             fetch_frame(session, Lead.__table__, ["external_id", "id", "created_at"],
                         Lead.id.is_(None)))
    return frame.rename(columns={"external_id": "lead_external_id", "id": "lead_id",
                                 "created_at": "lead_created_at"})


def _split_touches(session: Session, frame: pd.DataFrame,
                   details: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The file's touches not stored yet (key: lead, at, kind, rep; the first of a repeated
    key), and those stored already: the file's rows with the stored touch's `id` and its
    `details` columns as `stored_<name>`."""
    frame = frame.drop_duplicates(TOUCH_KEY)
    lead_ids = frame["lead_id"].unique().tolist()
    columns = [Touch.lead_id, Touch.at, Touch.kind, Touch.rep, Touch.id,
               *(getattr(Touch, name) for name in details)]
    names = [*TOUCH_KEY, "id", *(f"stored_{name}" for name in details)]
    stored = []
    for start in range(0, len(lead_ids), CHUNK):
        chunk = lead_ids[start:start + CHUNK]
        stored += session.execute(select(*columns).where(col(Touch.lead_id).in_(chunk))).all()
    if not stored:
        return frame, frame.iloc[0:0].assign(id=pd.Series(dtype="int64"))
    known = pd.DataFrame(stored, columns=names)
    known["at"] = pd.to_datetime(known["at"], utc=True).dt.as_unit("ns")
    keys = frame.assign(at=frame["at"].dt.as_unit("ns"))
    merged = keys.merge(known, on=TOUCH_KEY, how="left", indicator=True)
    new = (merged["_merge"] == "left_only").to_numpy()
    found = merged[~new].drop(columns=["_merge"]).astype({"id": "int64"})
    return frame[new], found


def _update_touch_details(session: Session, actor: Actor, batch_id: int,
                          stored: pd.DataFrame, details: list[str]) -> int:
    """Set the outcome and note the file gives stored touches where they differ (an empty cell
    keeps the stored value): one executemany, one audit event per touch with the values
    before, which `import undo` puts back."""
    if stored.empty or not details:
        return 0
    differs = pd.DataFrame({name: _differs(stored[name], stored[f"stored_{name}"])
                            for name in details})
    changed = differs.any(axis=1).to_numpy()
    if not changed.any():
        return 0
    rows, differs = stored[changed], differs[changed]
    values = pd.DataFrame({"id": rows["id"].to_numpy()})
    for name in details:  # the file's value, else the stored one: nothing is cleared
        values[name] = rows[name].where(rows[name].notna(), rows[f"stored_{name}"]).to_numpy()
    update_frame(session, Touch.__table__, values)
    before = rows[[f"stored_{name}" for name in details]].astype(object)
    before = before.where(before.notna(), None).to_numpy().tolist()
    after = values[list(details)].astype(object)
    after = after.where(after.notna(), None).to_numpy().tolist()
    masks = differs.to_numpy().tolist()
    insert_frame(session, AuditEvent.__table__, pd.DataFrame({
        "actor": actor.username, "action": "touch.import_update", "object_type": "touch",
        "object_id": rows["id"].astype(str).to_numpy(), "at": utcnow(), "channel": channel(),
        "batch_id": batch_id,
        "before": [{n: v for n, v, m in zip(details, old, mask, strict=True) if m}
                   for old, mask in zip(before, masks, strict=True)],
        "after": [{n: v for n, v, m in zip(details, new, mask, strict=True) if m}
                  for new, mask in zip(after, masks, strict=True)]}))
    return len(values)


def flag_recycled(session: Session, leads: pd.DataFrame) -> None:
    """Recompute the recycled flag of every stored MQL that shares an email, or a company and
    name, with the file's leads: recycled when that key came in as an MQL in the 90 days
    before."""
    emails = _keys(leads.get("email"))
    companies = _keys(leads.get("company"))
    if not emails and not companies:
        return
    mqls = leads["mql_at"].dropna() if "mql_at" in leads else pd.Series(dtype=object)
    window = [col(Lead.mql_at).is_not(None)]
    if len(mqls):  # only MQLs within 90 days of the file's can change the file's flags
        window += [col(Lead.mql_at) >= mqls.min() - RECYCLE_WINDOW,
                   col(Lead.mql_at) <= mqls.max() + RECYCLE_WINDOW]
    frame = fetch_frame(session, Lead.__table__,
                        ["id", "email", "company", "name", "mql_at", "recycled"], *window)
    frame = frame[frame["email"].isin(emails) | frame["company"].isin(companies)]
    frame["key"] = _identity(frame)
    frame = frame[frame["key"].notna()].sort_values(["key", "mql_at"])
    gap = frame.groupby("key")["mql_at"].diff()
    frame["should_be"] = gap.notna() & (gap <= RECYCLE_WINDOW)
    changed = frame[frame["should_be"] != frame["recycled"].astype(bool)]
    update_frame(session, Lead.__table__,
                 pd.DataFrame({"id": changed["id"], "recycled": changed["should_be"]}))


def _identity(frame: pd.DataFrame) -> pd.Series:
    """A lead's identity: its email, else its company and name (None when neither is known)."""
    email = frame["email"].astype(object).where(frame["email"].notna(), None)
    email = email.map(lambda v: v.strip().lower() if isinstance(v, str) and v.strip() else None)
    person = (frame["company"].fillna("").astype(str).str.strip().str.lower() + "|"
              + frame["name"].fillna("").astype(str).str.strip().str.lower())
    person = person.where(frame["company"].notna() & frame["name"].notna(), None)
    return email.fillna(person)


def _keys(values: pd.Series | None) -> list[str]:
    if values is None:
        return []
    return sorted({v for v in values.dropna().tolist() if v})


def _default_zone(document) -> str:
    return document.calendar.timezone if document else "UTC"


def _column(mapping: dict[str, list[str]], name: str) -> str:
    return ", ".join(mapping.get(name, [])) or name


def _summary(parsed: ingest.ParsedFile, more_errors: list[ingest.RowError], *, inserted: int,
             updated: int) -> ImportSummary:
    errors = sorted([*parsed.errors, *more_errors], key=lambda e: (e.line, e.column))
    rejected = parsed.rejected + len({e.line for e in more_errors})
    unchanged = parsed.read - rejected - inserted - updated
    return ImportSummary(None, parsed.read, inserted, updated, unchanged, rejected, errors,
                         list(parsed.notes))


def _with_batch(summary: ImportSummary, batch_id: int) -> ImportSummary:
    return ImportSummary(batch_id, summary.read, summary.inserted, summary.updated,
                         summary.unchanged, summary.rejected, summary.errors, summary.notes)


def _open_batch(session: Session, actor: Actor, kind: str, origin: _Origin, source: str,
                mapping: dict[str, list[str]]) -> ImportBatch:
    """Take the source's import lock, then record the batch (its id marks every row it
    writes); the counts come at the end."""
    locks.hold(session, import_lock(source))
    batch = ImportBatch(
        kind=kind, file_name=origin.name[:255], file_hash=hashlib.sha256(origin.data).hexdigest(),
        source=source, preset=origin.preset, mapping=mapping,
        options={"tz": origin.tz, "date_format": origin.date_format}, notes=[], errors=[],
        actor=actor.username, watermark=origin.watermark,
    )
    session.add(batch)
    session.flush()
    return batch


def _close_batch(session: Session, actor: Actor, batch: ImportBatch,
                 summary: ImportSummary) -> None:
    """Store what the batch did, and audit it."""
    batch.read, batch.inserted, batch.updated = summary.read, summary.inserted, summary.updated
    batch.unchanged, batch.rejected, batch.notes = (summary.unchanged, summary.rejected,
                                                    summary.notes)
    batch.errors = [{"line": e.line, "column": e.column, "reason": e.reason}
                    for e in summary.errors[:MAX_STORED_ERRORS]]
    session.add(batch)
    session.flush()
    record(session, actor=actor.username, action=f"import.{batch.kind}",
           object_type="import_batch", object_id=batch.id, batch_id=batch.id,
           after={"file": batch.file_name, "read": summary.read, "inserted": summary.inserted,
                  "updated": summary.updated, "unchanged": summary.unchanged,
                  "rejected": summary.rejected})


def import_lock(source: str) -> str:
    """The lock every import and undo into one source holds."""
    return f"import:{source}"
