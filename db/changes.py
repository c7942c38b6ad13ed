"""The change sequence of leads and touches: how a reader refreshes only what changed.

Every transaction that writes leads or touches takes one stamp: it bumps the single row of
`data_changes` (`seq`) and writes that number into the `change_seq` of every lead and touch it
inserts or updates. Bumping the row locks it until the transaction ends, so stamps are handed
out in commit order: once a reader sees `seq = N` committed, every row stamped N or less is
committed and visible, and later changes carry larger stamps. A reader that holds rows as of N
reads only `N < change_seq <= M` to be as of M, on SQLite and on PostgreSQL with any number
of processes. Deleting leads or touches (import undo) also bumps `epoch`: a reader seeing a new
epoch reads everything again.

The ORM paths are stamped by a flush hook, the bulk paths (db.bulk) by `stamp`; nothing else
writes these tables.
"""

from dataclasses import dataclass

from sqlalchemy import event, text
from sqlmodel import Session

STAMPED_TABLES = frozenset({"leads", "touches"})
_STAMP = "change_stamp"


@dataclass(frozen=True)
class Position:
    """Where the committed data stands: the last stamp, and the deletion epoch."""

    seq: int
    epoch: int


def position(session: Session) -> Position:
    """The last committed stamp and epoch (a primary-key read; 0 before the first write)."""
    row = session.connection().execute(
        text("SELECT seq, epoch FROM data_changes WHERE id = 1")).first()
    return Position(int(row[0]), int(row[1])) if row else Position(0, 0)


def stamped(session: Session) -> bool:
    """Whether this transaction has written leads or touches (not committed yet)."""
    return _STAMP in session.info


def stamp(session: Session) -> int:
    """This transaction's stamp, taken (and the counter row locked) on first use."""
    if _STAMP not in session.info:
        session.info[_STAMP] = int(session.connection().execute(text(
            "INSERT INTO data_changes (id, seq, epoch) VALUES (1, 1, 0) ON CONFLICT (id) "
            "DO UPDATE SET seq = data_changes.seq + 1 RETURNING seq")).scalar())
    return session.info[_STAMP]


def note_deletion(session: Session) -> None:
    """Leads or touches are being deleted: readers must read everything again."""
    stamp(session)
    session.connection().execute(text("UPDATE data_changes SET epoch = epoch + 1 WHERE id = 1"))


@event.listens_for(Session, "before_flush")
def _stamp_orm_writes(session: Session, _context, _instances) -> None:
    """Stamp every lead and touch the ORM inserts or updates; note deletions."""
    written = [obj for obj in (*session.new, *session.dirty)
               if getattr(obj, "__tablename__", None) in STAMPED_TABLES
               and (obj in session.new or session.is_modified(obj))]
    if written:
        seq = stamp(session)
        for obj in written:
            obj.change_seq = seq
    if any(getattr(obj, "__tablename__", None) in STAMPED_TABLES for obj in session.deleted):
        note_deletion(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_stamp(session: Session) -> None:
    """The next transaction takes its own stamp."""
    session.info.pop(_STAMP, None)
