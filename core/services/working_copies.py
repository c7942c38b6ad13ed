"""Each editor's working copy of a draft, kept in the database as they edit it.

The draft editor (ui.sla_editor) edits a plain-dict copy of a version's document and saves it
with the revision it was based on. Held only in a Streamlit session, that copy died with the
app replica holding the session; kept here on every edit, a new session on any replica (after
a restart, or when the proxy moved the user) gets it back.

- A copy is its owner's alone: nobody reads, replaces or drops anyone else's.
- It keeps the revision it was based on, so saving it after someone else saved is still
  refused as stale (agreements.save_draft), and the copy stays.
- Only the latest version of an agreement, while it can still change, has copies: one of a
  version since signed or replaced by a newer one is not offered, and is deleted when found.
- The editor drops the copy after a successful save, or when its owner discards it.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from core.errors import InvalidInput, NotFound
from core.limits import WORKING_COPY_MAX_BYTES
from core.permissions import Action, require
from core.services.accounts import Actor
from db.models import IMMUTABLE_STATES, AgreementVersion, WorkingCopy, utcnow

KEY = ("username", "agreement_id", "number")  # the table's primary key: one copy each
UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class WorkingCopyView:
    """Someone's unsaved edits to a version: the document as a plain dict (it may not be a
    valid document yet), the revision it was based on, and when it was last kept."""

    agreement_id: int
    number: int
    revision: int
    data: dict[str, Any]
    updated_at: datetime


def keep(
    *, session: Session, actor: Actor, agreement_id: int, number: int, revision: int,
    data: dict[str, Any],
) -> WorkingCopyView:
    """Keep the actor's working copy of a version (insert it, or replace the one kept).

    The version must be the agreement's latest and still editable, `revision` one it had, and
    `data` a JSON object of at most WORKING_COPY_MAX_BYTES. One statement inserts or replaces
    (INSERT … ON CONFLICT DO UPDATE), so two sessions of the same person keeping at once leave
    one copy, the last one kept.
    """
    require(actor.role, Action.EDIT_AGREEMENT)
    state, current, latest = _version(session, agreement_id, number)
    if refusal := _not_editable(agreement_id, number, state, latest):
        raise InvalidInput("number", refusal)
    if not 1 <= revision <= current:
        raise InvalidInput("revision", f"version {number} has no revision {revision} (its "
                                       f"latest is {current})")
    stored = json.loads(_encoded(data))  # what the database holds: no alias of the caller's
    now = utcnow()
    upsert = UPSERTS[session.connection().dialect.name](WorkingCopy).values(
        username=actor.username, agreement_id=agreement_id, number=number, revision=revision,
        data=stored, updated_at=now)
    session.execute(upsert.on_conflict_do_update(
        index_elements=list(KEY),
        set_={column: upsert.excluded[column] for column in ("revision", "data", "updated_at")}))
    return WorkingCopyView(agreement_id, number, revision, stored, now)


def find(
    *, session: Session, actor: Actor, agreement_id: int, number: int
) -> WorkingCopyView | None:
    """The actor's own working copy of a version, or None. A copy of a version that can no
    longer be edited (signed, no longer the latest, deleted) is not offered, and is deleted."""
    require(actor.role, Action.EDIT_AGREEMENT)
    found = session.exec(
        select(WorkingCopy.revision, WorkingCopy.data, WorkingCopy.updated_at)
        .where(*_own(actor, agreement_id, number))
    ).first()
    if found is None:
        return None
    if not _offered(session, agreement_id, number):
        _delete(session, actor, agreement_id, number)
        return None
    revision, data, updated_at = found
    return WorkingCopyView(agreement_id, number, revision, data, updated_at)


def drop(*, session: Session, actor: Actor, agreement_id: int, number: int) -> None:
    """Delete the actor's working copy of a version (after a save, or a discard); nothing
    happens when there is none."""
    require(actor.role, Action.EDIT_AGREEMENT)
    _delete(session, actor, agreement_id, number)


# --- internals ----------------------------------------------------------------------------


def _own(actor: Actor, agreement_id: int, number: int) -> tuple:
    """The conditions that select the actor's copy of a version, and no one else's."""
    return (WorkingCopy.username == actor.username, WorkingCopy.agreement_id == agreement_id,
            WorkingCopy.number == number)


def _delete(session: Session, actor: Actor, agreement_id: int, number: int) -> None:
    session.execute(delete(WorkingCopy).where(*_own(actor, agreement_id, number)))


def _version(session: Session, agreement_id: int, number: int) -> tuple[str, int, int]:
    """A version's state and revision, and the agreement's latest version number (NotFound
    when the agreement or the version does not exist). Reads no document: it runs on every
    edit."""
    versions = {found: (state, revision) for found, state, revision in session.exec(
        select(AgreementVersion.number, AgreementVersion.state, AgreementVersion.revision)
        .where(AgreementVersion.agreement_id == agreement_id)).all()}
    if not versions:
        raise NotFound(f"no agreement with id {agreement_id}")
    if number not in versions:
        raise NotFound(f"agreement {agreement_id} has no version {number}")
    state, revision = versions[number]
    return state, revision, max(versions)


def _offered(session: Session, agreement_id: int, number: int) -> bool:
    """Whether a copy of the version is still offered: the version exists (a draft may have
    been deleted since), is the latest and can still change."""
    try:
        state, _, latest = _version(session, agreement_id, number)
    except NotFound:
        return False
    return _not_editable(agreement_id, number, state, latest) is None


def _not_editable(agreement_id: int, number: int, state: str, latest: int) -> str | None:
    """Why a version can have no working copy (None when it can): the editor edits only the
    agreement's latest version, until it is signed."""
    if number != latest:
        return (f"version {number} of agreement {agreement_id} is no longer the latest "
                f"(version {latest} is): only the latest version is edited")
    if state in IMMUTABLE_STATES:
        return (f"version {number} of agreement {agreement_id} is {state} and can no longer "
                "change; start an amendment (a new version) instead")
    return None


def _encoded(data: Any) -> str:
    """The copy as compact JSON text; InvalidInput naming `data` when it is not a JSON
    object, holds what JSON cannot (NaN, a date object), or is over WORKING_COPY_MAX_BYTES."""
    if not isinstance(data, dict):
        raise InvalidInput("data", "a working copy is a JSON object (the document as a "
                                   f"mapping); this is a {type(data).__name__}")
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInput("data", f"a working copy holds only JSON values: {error}") from None
    size = len(text.encode())
    if size > WORKING_COPY_MAX_BYTES:
        raise InvalidInput("data", f"the working copy is {size:,} bytes as JSON; at most "
                                   f"{WORKING_COPY_MAX_BYTES:,} are kept (WORKING_COPY_MAX_BYTES)")
    return text
