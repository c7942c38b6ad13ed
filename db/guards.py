"""Triggers that keep the signed record unchangeable by any path: services, ORM, bulk, raw SQL.

What they hold, on SQLite and PostgreSQL alike:
- a signed agreement version (scheduled, active, superseded, expired), and an agreed one that
  waits for sign-off, never changes its content; its state moves only along TRANSITIONS;
  versions are born drafts, and only drafts may be deleted;
- an approval or sign-off is written once, for the version's current revision, by the side the
  version's state waits for, and never changed or deleted;
- a signed quarterly review never changes and is never deleted; review comments are append-only;
- the audit trail is append-only.

`install` creates them (migration 0006, and every `create_all` through the metadata hook);
it is idempotent, so a later migration that changes a rule calls it again. SQLite drops a
table's triggers when a batch migration rebuilds the table: such a migration must reinstall.
"""

from dataclasses import dataclass

from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Connection

PREFIX = "handoff guard"
TRANSITIONS = (
    ("draft", "in_review"), ("in_review", "agreed"), ("agreed", "active"),
    ("agreed", "scheduled"), ("scheduled", "active"), ("scheduled", "superseded"),
    ("scheduled", "expired"), ("active", "superseded"), ("active", "expired"),
)
REVIEW_TRANSITIONS = (("open", "signed"), ("open", "sent_back"), ("sent_back", "signed"))
FROZEN_VERSION_STATES = ("agreed", "scheduled", "active", "superseded", "expired")
VERSION_CONTENT = ("document", "title", "effective_start", "effective_end", "revision",
                   "agreement_id", "number", "based_on", "created_by", "created_at")
REVIEW_COLUMNS = ("agreement_id", "quarter", "state", "snapshot", "causes", "signed_by",
                  "signed_at", "created_at")
JSON_COLUMNS = frozenset({"document", "snapshot", "causes"})
APPEND_ONLY = ("audit_events", "approvals", "review_comments")


@dataclass(frozen=True)
class Rule:
    """One refusal: on `event` (INSERT, UPDATE, DELETE) of `table`, when `when` holds."""

    name: str
    table: str
    event: str
    when: str  # SQL over OLD/NEW; {changed:col} and {in:col:list} are expanded per dialect
    message: str


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _pairs(transitions) -> str:
    return _quoted(f"{old}>{new}" for old, new in transitions)


def _any_changed(columns) -> str:
    return " OR ".join(f"{{changed:{column}}}" for column in columns)


RULES = (
    Rule("version_born_draft", "agreement_versions", "INSERT",
         "NEW.state <> 'draft' OR NEW.signed_at IS NOT NULL",
         "a version is created as a draft; signing happens through the workflow"),
    Rule("version_content_frozen", "agreement_versions", "UPDATE",
         f"OLD.state IN ({_quoted(FROZEN_VERSION_STATES)}) AND "
         f"({_any_changed(VERSION_CONTENT)} OR "
         "(OLD.signed_at IS NOT NULL AND {changed:signed_at}))",
         "an agreed or signed agreement version never changes; amend it with a new version"),
    Rule("version_transition", "agreement_versions", "UPDATE",
         "{changed:state} AND (OLD.state || '>' || NEW.state) NOT IN "
         f"({_pairs(TRANSITIONS)})",
         "that change of an agreement version's state is not an allowed transition"),
    Rule("version_kept", "agreement_versions", "DELETE", "OLD.state <> 'draft'",
         "only a draft agreement version may be deleted"),
    Rule("approval_frozen", "approvals", "UPDATE", "1 = 1",
         "an approval or sign-off is never changed"),
    Rule("approval_kept", "approvals", "DELETE", "1 = 1",
         "an approval or sign-off is never deleted"),
    Rule("review_born_open", "quarterly_reviews", "INSERT", "NEW.state = 'signed'",
         "a quarterly review is signed through the workflow"),
    Rule("review_frozen", "quarterly_reviews", "UPDATE",
         f"OLD.state = 'signed' AND ({_any_changed(REVIEW_COLUMNS)})",
         "a signed quarterly review never changes"),
    Rule("review_transition", "quarterly_reviews", "UPDATE",
         "{changed:state} AND (OLD.state || '>' || NEW.state) NOT IN "
         f"({_pairs(REVIEW_TRANSITIONS)})",
         "that change of a quarterly review's state is not an allowed transition"),
    Rule("review_kept", "quarterly_reviews", "DELETE", "OLD.state = 'signed'",
         "a signed quarterly review is never deleted"),
    Rule("review_comment_frozen", "review_comments", "UPDATE", "1 = 1",
         "a review comment or sign-off note is never changed"),
    Rule("review_comment_kept", "review_comments", "DELETE", "1 = 1",
         "a review comment or sign-off note is never deleted"),
    Rule("audit_frozen", "audit_events", "UPDATE", "1 = 1", "the audit trail is append-only"),
    Rule("audit_kept", "audit_events", "DELETE", "1 = 1", "the audit trail is append-only"),
)

# An approval names the side the version waits for, and the revision it holds now.
APPROVAL_MESSAGE = ("an approval is written for the version's current revision, by the side its "
                    "state waits for (sales and marketing in review, the exec once agreed)")
_APPROVAL_FITS = (
    "(SELECT COUNT(*) FROM agreement_versions v WHERE v.id = NEW.version_id "
    "AND v.revision = NEW.revision AND ((NEW.side IN ('sales', 'marketing') "
    "AND v.state = 'in_review') OR (NEW.side = 'exec' AND v.state = 'agreed'))) = 0"
)


def install(connection: Connection) -> None:
    """Create (or re-create) every guard on the connection's database."""
    statements = (_postgresql() if connection.dialect.name == "postgresql" else _sqlite())
    for statement in statements:
        connection.execute(text(statement))


def drop(connection: Connection) -> None:
    """Remove every guard (for a downgrade)."""
    postgresql = connection.dialect.name == "postgresql"
    for rule in (*RULES, _approval_rule()):
        on = f" ON {rule.table}" if postgresql else ""
        connection.execute(text(f"DROP TRIGGER IF EXISTS {_trigger(rule)}{on}"))
    if postgresql:
        for table in APPEND_ONLY:
            connection.execute(text(f"DROP TRIGGER IF EXISTS handoff_guard_{table}_truncate "
                                    f"ON {table}"))
        for function in ("handoff_guard_refuse", "handoff_guard_approval_fits"):
            connection.execute(text(f"DROP FUNCTION IF EXISTS {function}()"))


def attach(metadata: MetaData) -> None:
    """Install the guards whenever this metadata creates its tables (the tests' create_all)."""
    event.listen(metadata, "after_create", lambda _target, connection, **_: install(connection))


def is_guard_error(error: BaseException) -> bool:
    """Whether a database error is one of these guards refusing."""
    return PREFIX in str(getattr(error, "orig", error))


def _approval_rule() -> Rule:
    return Rule("approval_fits", "approvals", "INSERT", _APPROVAL_FITS, APPROVAL_MESSAGE)


def _trigger(rule: Rule) -> str:
    return f"handoff_guard_{rule.name}"


def _condition(rule: Rule, postgresql: bool) -> str:
    """The rule's condition in the dialect's SQL."""
    condition = rule.when
    for column in (*VERSION_CONTENT, *REVIEW_COLUMNS, "signed_at", "state"):
        if postgresql:
            cast = "::text" if column in JSON_COLUMNS else ""
            changed = f"(OLD.{column}{cast} IS DISTINCT FROM NEW.{column}{cast})"
        else:
            changed = f"(OLD.{column} IS NOT NEW.{column})"
        condition = condition.replace(f"{{changed:{column}}}", changed)
    return condition


def _sqlite() -> list[str]:
    statements = []
    for rule in (*RULES, _approval_rule()):
        statements.append(f"DROP TRIGGER IF EXISTS {_trigger(rule)}")
        message = _sql_text(f"{PREFIX}: {rule.message}")
        statements.append(
            f"CREATE TRIGGER {_trigger(rule)} BEFORE {rule.event} ON {rule.table} "
            f"FOR EACH ROW WHEN {_condition(rule, postgresql=False)} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
    return statements


def _postgresql() -> list[str]:
    statements = [
        "CREATE OR REPLACE FUNCTION handoff_guard_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{PREFIX}: %', TG_ARGV[0] USING ERRCODE = 'check_violation'; "
        "END $$",
    ]
    for rule in RULES:
        statements += _pg_trigger(rule, f"FOR EACH ROW WHEN ({_condition(rule, True)})")
    # A PostgreSQL trigger's WHEN cannot hold a subquery: the approval check runs in a function.
    statements.append(
        "CREATE OR REPLACE FUNCTION handoff_guard_approval_fits() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN IF {_APPROVAL_FITS} THEN RAISE EXCEPTION "
        f"'{PREFIX}: {_sql_text(APPROVAL_MESSAGE)}' USING ERRCODE = 'check_violation'; END IF; "
        "RETURN NEW; END $$"
    )
    rule = _approval_rule()
    statements += [
        f"DROP TRIGGER IF EXISTS {_trigger(rule)} ON {rule.table}",
        f"CREATE TRIGGER {_trigger(rule)} BEFORE INSERT ON approvals FOR EACH ROW "
        "EXECUTE FUNCTION handoff_guard_approval_fits()",
    ]
    for table in APPEND_ONLY:
        name = f"handoff_guard_{table}_truncate"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE "
            f"FUNCTION handoff_guard_refuse('{table} cannot be truncated')",
        ]
    return statements


def _sql_text(message: str) -> str:
    """A message inside a quoted SQL string."""
    return message.replace("'", "''")


def _pg_trigger(rule: Rule, clause: str) -> list[str]:
    message = _sql_text(rule.message)
    return [
        f"DROP TRIGGER IF EXISTS {_trigger(rule)} ON {rule.table}",
        f"CREATE TRIGGER {_trigger(rule)} BEFORE {rule.event} ON {rule.table} {clause} "
        f"EXECUTE FUNCTION handoff_guard_refuse('{message}')",
    ]
