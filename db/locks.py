"""Named locks held until the transaction ends: what makes a check-then-write atomic.

A service that reads, decides and writes (the last admin, the next version number, an import's
plan) first takes the lock for what it decides about; whoever comes second waits, then reads
what the first committed.
- PostgreSQL: a transaction-level advisory lock on the name (other names do not wait).
- SQLite: the database's single write lock, taken now instead of at the first write. Reads
  before it ran outside any transaction (pysqlite opens one only for a write), so the reads
  after it see everything committed before.
"""

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.errors import Busy


def hold(session: Session, name: str) -> None:
    """Hold the lock `name` until the session's transaction commits or rolls back."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                           {"name": name})
        return
    driver = connection.connection.dbapi_connection
    if driver.in_transaction:
        return  # this transaction has written already, so it holds the write lock
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as error:  # the busy timeout ran out
        raise Busy(f"another change is still being written ({name}); nothing was saved, "
                   "try again in a moment") from error
