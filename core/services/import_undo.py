"""`import undo BATCH_ID`: revert what one import batch did, unless something later built on it.

A lead batch inserted leads (they carry its id) and changed fields of stored ones (each change
is an audit event carrying its id, with the values before), and recorded the owner changes in
the leads' owner history (rows carrying its id). Undo deletes the inserted leads and those
owner-history rows and puts the changed fields back, in one transaction, and audits every lead
it touches. It refuses, naming the leads, when any of them changed after the batch (a later
import, a logged touch, an accept or reject, a dispute): reverting would silently drop that
later work. A touch batch's touches are deleted and the outcomes and notes it changed on stored
touches are put back (refused, naming the touches, when a later import changed them again). A
batch is undone once.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from core import ingest
from core.errors import InvalidInput, NotFound
from core.permissions import Action, require
from core.services.accounts import Actor
from core.services.agreements import WorkflowError
from core.services.audit import channel, record
from core.services.imports import CHUNK, flag_recycled, import_lock
from db import changes as db_changes
from db import locks
from db.bulk import fetch_frame, insert_frame, update_frame
from db.models import AuditEvent, Dispute, ImportBatch, Lead, LeadOwnerChange, Touch, utcnow

NAMED_IN_REFUSAL = 10
LEAD_COLUMNS = ["id", "source", "external_id", *[f for f in ingest.LEAD_FIELDS
                                                  if f != "external_id"], "attributes"]


@dataclass(frozen=True)
class UndoSummary:
    """What an undo reverted."""

    batch_id: int
    kind: str
    deleted: int  # leads or touches the batch had inserted
    restored: int  # leads whose changed fields were put back

    def as_json(self) -> dict[str, Any]:
        """The `import undo --format json` object."""
        return {"batch": self.batch_id, "kind": self.kind, "deleted": self.deleted,
                "restored": self.restored}


def undo_batch(*, session: Session, actor: Actor, batch_id: int) -> UndoSummary:
    """Revert an import batch (see the module's docstring); refuses when later changes touched
    its rows, naming them."""
    require(actor.role, Action.IMPORT_DATA)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"no import batch {batch_id}")
    locks.hold(session, import_lock(batch.source))
    session.refresh(batch)
    if batch.undone_at is not None:
        raise WorkflowError(f"batch {batch_id} was already undone by {batch.undone_by} on "
                            f"{batch.undone_at:%Y-%m-%d %H:%M} UTC")
    if batch.kind == "touches":
        summary = _undo_touches(session, batch)
    else:
        summary = _undo_leads(session, actor, batch)
    batch.undone_by, batch.undone_at = actor.username, utcnow()
    session.add(batch)
    session.flush()
    record(session, actor=actor.username, action="import.undo", object_type="import_batch",
           object_id=batch_id, batch_id=batch_id, after=summary.as_json())
    return summary


def _undo_touches(session: Session, batch: ImportBatch) -> UndoSummary:
    """Delete the batch's touches and put back the outcomes and notes it changed."""
    changes = _changes(session, batch.id, "touch.import_update")
    _refuse_later_touch_changes(session, batch, changes)
    db_changes.note_deletion(session)
    deleted = session.execute(
        delete(Touch).where(col(Touch.import_batch_id) == batch.id)).rowcount
    groups: dict[tuple[str, ...], list[dict]] = {}
    for touch_id, before in zip(changes["object_id"], changes["before"], strict=True):
        groups.setdefault(tuple(sorted(before or {})), []).append(
            {"id": int(touch_id), **(before or {})})
    for names, rows in groups.items():
        if names:
            update_frame(session, Touch.__table__, pd.DataFrame(rows))
    return UndoSummary(batch.id, "touches", deleted, len(changes))


def _refuse_later_touch_changes(session: Session, batch: ImportBatch,
                                changes: pd.DataFrame) -> None:
    """Refuse when a later import (not undone since) changed the outcome or note of a touch the
    batch inserted or changed: undoing it would drop that later change."""
    undone = select(ImportBatch.id).where(col(ImportBatch.undone_at).is_not(None))
    later_events = (AuditEvent.object_type == "touch",
                    col(AuditEvent.id) > _last_event_of(session, batch.id),
                    col(AuditEvent.batch_id).is_(None)
                    | ((col(AuditEvent.batch_id) != batch.id)
                       & col(AuditEvent.batch_id).not_in(undone)))
    if session.execute(select(AuditEvent.id).where(*later_events).limit(1)).first() is None:
        return
    inserted = session.execute(select(Touch.id).where(
        col(Touch.import_batch_id) == batch.id)).scalars().all()
    refs = sorted({str(touch_id) for touch_id in inserted} | set(changes["object_id"]))
    later: set[str] = set()
    for start in range(0, len(refs), CHUNK):
        later |= set(session.execute(select(AuditEvent.object_id).where(
            *later_events, col(AuditEvent.object_id).in_(refs[start:start + CHUNK]))).scalars())
    if later:
        named = ", ".join(sorted(later, key=int)[:NAMED_IN_REFUSAL])
        more = f" and {len(later) - NAMED_IN_REFUSAL:,} more" if len(later) > NAMED_IN_REFUSAL \
            else ""
        raise InvalidInput("batch", f"batch {batch.id} cannot be undone: {len(later):,} of its "
                           f"touches changed after it (touch {named}{more}); undoing it would "
                           "drop those later changes")


def _undo_leads(session: Session, actor: Actor, batch: ImportBatch) -> UndoSummary:
    inserted = fetch_frame(session, Lead.__table__, LEAD_COLUMNS,
                           col(Lead.import_batch_id) == batch.id)
    changes = _changes(session, batch.id)
    refs = {f"{batch.source}/{external_id}" for external_id in inserted["external_id"]}
    _refuse_later_changes(session, batch, inserted, refs | set(changes["object_id"]), changes)
    _audit(session, actor, batch, inserted, changes)
    db_changes.note_deletion(session)
    session.execute(delete(LeadOwnerChange).where(
        col(LeadOwnerChange.import_batch_id) == batch.id))
    for start in range(0, len(inserted), CHUNK):
        ids = inserted["id"].iloc[start:start + CHUNK].tolist()
        session.execute(delete(Lead).where(col(Lead.id).in_(ids)))
    restored = _restore(session, batch.source, changes)
    keys = pd.concat([inserted[["email", "company", "mql_at"]],
                      _stored(session, batch.source, changes)[["email", "company", "mql_at"]]])
    flag_recycled(session, keys)
    return UndoSummary(batch.id, "leads", len(inserted), restored)


def _changes(session: Session, batch_id: int,
             action: str = "lead.import_update") -> pd.DataFrame:
    """The batch's field changes: one audit event per changed lead (or touch), with the values
    before."""
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.object_id, AuditEvent.before)
        .where(col(AuditEvent.batch_id) == batch_id, AuditEvent.action == action)
        .order_by(col(AuditEvent.id))
    ).all()
    return pd.DataFrame(rows, columns=["event_id", "object_id", "before"])


def _refuse_later_changes(session: Session, batch: ImportBatch, inserted: pd.DataFrame,
                          refs: set[str], changes: pd.DataFrame) -> None:
    """Refuse when any lead of the batch changed after it, or gained touches or disputes."""
    since = _last_event_of(session, batch.id)
    later: set[str] = set()
    refs_list = sorted(refs)
    for start in range(0, len(refs_list), CHUNK):
        later |= set(session.execute(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "lead",
                col(AuditEvent.object_id).in_(refs_list[start:start + CHUNK]),
                col(AuditEvent.id) > since,
                (col(AuditEvent.batch_id).is_(None)) | (col(AuditEvent.batch_id) != batch.id))
        ).scalars())
    ids = inserted["id"].tolist()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for model in (Touch, Dispute):
            touched = session.execute(select(Lead.external_id).join(
                model, col(model.lead_id) == Lead.id).where(col(Lead.id).in_(chunk))).scalars()
            later |= {f"{batch.source}/{external_id}" for external_id in touched}
    if later:
        named = ", ".join(sorted(later)[:NAMED_IN_REFUSAL])
        more = f" and {len(later) - NAMED_IN_REFUSAL:,} more" if len(later) > NAMED_IN_REFUSAL \
            else ""
        raise InvalidInput("batch", f"batch {batch.id} cannot be undone: {len(later):,} of its "
                           f"leads changed after it ({named}{more}); undoing it would drop "
                           "those later changes")


def _last_event_of(session: Session, batch_id: int) -> int:
    return session.execute(select(func.max(AuditEvent.id)).where(
        col(AuditEvent.batch_id) == batch_id)).scalar() or 0


def _audit(session: Session, actor: Actor, batch: ImportBatch, inserted: pd.DataFrame,
           changes: pd.DataFrame) -> None:
    """One audit event per lead the undo deletes or restores."""
    deleted = [{"object_id": f"{batch.source}/{row['external_id']}", "before": _jsonable(row),
                "after": None} for row in inserted.drop(columns=["id"]).to_dict("records")]
    restored = [{"object_id": ref, "before": None, "after": before}
                for ref, before in zip(changes["object_id"], changes["before"], strict=True)]
    events = pd.DataFrame(deleted + restored, columns=["object_id", "before", "after"])
    if events.empty:
        return
    insert_frame(session, AuditEvent.__table__, events.assign(
        actor=actor.username, object_type="lead", at=utcnow(), channel=channel(),
        batch_id=batch.id, action=["lead.import_undo_insert"] * len(deleted)
        + ["lead.import_undo_update"] * len(restored)))


def _restore(session: Session, source: str, changes: pd.DataFrame) -> int:
    """Put the changed fields back to their values before the batch."""
    if changes.empty:
        return 0
    stored = _stored(session, source, changes)
    ids = dict(zip(stored["ref"], stored["id"], strict=True))
    groups: dict[tuple[str, ...], list[dict]] = {}
    for ref, before in zip(changes["object_id"], changes["before"], strict=True):
        values = {name: _stored_value(name, value) for name, value in (before or {}).items()}
        groups.setdefault(tuple(sorted(values)), []).append({"id": ids[ref], **values})
    for rows in groups.values():
        frame = pd.DataFrame(rows)
        for name in frame.columns:
            if name in ingest.LEAD_TIMESTAMPS:
                frame[name] = pd.to_datetime(frame[name], utc=True)
        update_frame(session, Lead.__table__, frame)
    return len(changes)


def _stored(session: Session, source: str, changes: pd.DataFrame) -> pd.DataFrame:
    """id, email, company and mql_at of the changed leads, with their audit reference."""
    external_ids = [ref.split("/", 1)[1] for ref in changes["object_id"]]
    frames = [fetch_frame(session, Lead.__table__, ["id", "external_id", "email", "company",
                                                    "mql_at"], Lead.source == source,
                          col(Lead.external_id).in_(external_ids[start:start + CHUNK]))
              for start in range(0, max(len(external_ids), 1), CHUNK)]
    frame = pd.concat(frames)
    return frame.assign(ref=source + "/" + frame["external_id"].astype(str))


def _stored_value(name: str, value: Any) -> Any:
    if name in ingest.LEAD_TIMESTAMPS and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _jsonable(row: dict) -> dict:
    return {name: (value.isoformat() if isinstance(value, datetime | pd.Timestamp)
                   else None if _missing(value) else value) for name, value in row.items()}


def _missing(value: Any) -> bool:
    return not isinstance(value, dict | list) and bool(pd.isna(value))
