"""SQLModel tables for the domain of DESIGN §2. Every timestamp is stored as aware UTC."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, literal_column
from sqlmodel import Field, SQLModel

from core import clock
from db import changes, guards  # noqa: F401  (changes: stamps lead and touch writes)


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return clock.now()


class User(SQLModel, table=True):
    """A person who logs in; the password is kept only as a bcrypt hash."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=120)
    email: str = Field(max_length=254)
    role: str = Field(max_length=32)
    team: str | None = Field(default=None, max_length=64)
    active: bool = True
    password_hash: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    # Every session and re-login cookie issued before this instant is void, on every device:
    # set by logging out, a password reset, a role change, deactivation and reactivation.
    sessions_revoked_at: datetime | None = None
    # When alerts may reach the person (core.services.notifications): their own zone and quiet
    # hours ("HH:MM" local, the span may cross midnight); unset, the agreement's working hours.
    timezone: str | None = Field(default=None, max_length=64)
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)


class LoginAttempt(SQLModel, table=True):
    """One try to log in, kept for lockout and for the audit of access."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow)
    outcome: str = Field(max_length=16)  # succeeded | failed | locked | inactive


class AuditEvent(SQLModel, table=True):
    """Append-only record of a change: who did what to which object, before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=255)  # a lead's is "source/external_id": up to 193
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Where the action came from: app | cli | worker | api (core.services.audit.channel).
    channel: str = Field(default="app", max_length=16,
                         sa_column_kwargs={"server_default": "app"})
    # The import batch that made this change, so `import undo` can find and revert it.
    batch_id: int | None = Field(default=None, index=True)


class Lead(SQLModel, table=True):
    """A lead with one timestamp per funnel stage; unknown columns live in `attributes`."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_leads_source_external_id"),
        Index("ix_leads_mql_at", "mql_at"),
        Index("ix_leads_email", "email"),  # the recycled-lead check looks MQLs up by email
        # The Leads search (core.services.lead_search, migration 0011). Each filter with the
        # MQL period, in MQL order, and the id (SQLite's indexes hold it anyway; PostgreSQL's
        # then count and sort from the index alone); the owner's replaces the plain one.
        Index("ix_leads_owner_mql_at", "owner", "mql_at", "id"),
        Index("ix_leads_channel_mql_at", "channel", "mql_at", "id"),
        Index("ix_leads_segment_mql_at", "segment", "mql_at", "id"),
        Index("ix_leads_region_mql_at", "region", "mql_at", "id"),
        # A lead's furthest stage as its index in lead_search.STAGES (open 0 ... lost 6; NULL
        # before its MQL), with the period. Written as PostgreSQL prints it back, so that
        # autogenerate sees the models and the migrations agree.
        Index("ix_leads_stage_mql_at", literal_column(
            "(\nCASE\n    WHEN won_at IS NOT NULL THEN 5\n    WHEN lost_at IS NOT NULL THEN 6\n"
            "    WHEN opportunity_at IS NOT NULL THEN 4\n    WHEN sql_at IS NOT NULL THEN 3\n"
            "    WHEN rejected_at IS NOT NULL AND (accepted_at IS NULL OR rejected_at > "
            "accepted_at) THEN 2\n    WHEN accepted_at IS NOT NULL THEN 1\n"
            "    WHEN mql_at IS NOT NULL THEN 0\n    ELSE NULL\nEND)").label("stage"),
              "mql_at", "id"),
        # Search by prefix, case-insensitive, and sort: the whole lowered field, and for names
        # and companies the text from their second and from their third word on (ltrim with
        # the field's own non-space characters strips one word). PostgreSQL compares them
        # byte by byte (COLLATE "C") as SQLite does, whatever the database's collation.
        Index("ix_leads_name_lower", literal_column("lower(name)").label("name_key"), "id",
              postgresql_ops={"name_key": 'COLLATE "C"'}),
        Index("ix_leads_name_word2", literal_column(
            "ltrim(ltrim(lower(name), replace(lower(name), ' ', '')), ' ')").label("name_2"),
              postgresql_ops={"name_2": 'COLLATE "C"'}),
        Index("ix_leads_name_word3", literal_column(
            "ltrim(ltrim(ltrim(ltrim(lower(name), replace(lower(name), ' ', '')), ' '),"
            " replace(ltrim(ltrim(lower(name), replace(lower(name), ' ', '')), ' '), ' ', '')),"
            " ' ')").label("name_3"), postgresql_ops={"name_3": 'COLLATE "C"'}),
        Index("ix_leads_company_lower", literal_column("lower(company)").label("company_key"),
              "id", postgresql_ops={"company_key": 'COLLATE "C"'}),
        Index("ix_leads_company_word2", literal_column(
            "ltrim(ltrim(lower(company), replace(lower(company), ' ', '')), ' ')"
        ).label("company_2"), postgresql_ops={"company_2": 'COLLATE "C"'}),
        Index("ix_leads_company_word3", literal_column(
            "ltrim(ltrim(ltrim(ltrim(lower(company), replace(lower(company), ' ', '')), ' '),"
            " replace(ltrim(ltrim(lower(company), replace(lower(company), ' ', '')), ' '), ' ',"
            " '')), ' ')").label("company_3"), postgresql_ops={"company_3": 'COLLATE "C"'}),
        Index("ix_leads_email_lower", literal_column("lower(email)").label("email_key"),
              postgresql_ops={"email_key": 'COLLATE "C"'}),
        Index("ix_leads_external_id_lower",
              literal_column("lower(external_id)").label("external_id_key"), "id",
              postgresql_ops={"external_id_key": 'COLLATE "C"'}),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    external_id: str = Field(max_length=128)
    created_at: datetime
    mql_at: datetime | None = None
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    rejection_reason: str | None = Field(default=None, max_length=64)
    sql_at: datetime | None = None
    opportunity_at: datetime | None = None
    won_at: datetime | None = None
    lost_at: datetime | None = None
    owner: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=64)
    segment: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=64)
    company: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    score: float | None = None
    amount: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # An MQL whose email (or company + name) already came in as an MQL in the 90 days before.
    recycled: bool = False
    import_batch_id: int | None = Field(default=None, index=True)  # the batch that inserted it
    change_seq: int = Field(default=0, index=True, sa_type=BigInteger,  # db.changes
                            sa_column_kwargs={"server_default": "0"})


class Touch(SQLModel, table=True):
    """A sales activity on a lead; automated emails and sequences never count as a response."""

    __tablename__ = "touches"
    __table_args__ = (
        UniqueConstraint("lead_id", "at", "kind", "rep", name="uq_touches_lead_at_kind_rep"),
        # Every column a measurement reads, by lead: a window's touches come from the index
        # alone, without a visit to the table per touch (migration 0008).
        Index("ix_touches_lead_columns", "lead_id", "at", "kind", "rep", "automated"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    at: datetime
    kind: str = Field(max_length=16)  # call | email | meeting | other
    rep: str = Field(default="", max_length=64)
    automated: bool = False
    # What happened (TOUCH_OUTCOMES) and what the rep wrote down; optional, from the app or a
    # CRM export that carries them.
    outcome: str | None = Field(default=None, max_length=32)
    note: str | None = None
    import_batch_id: int | None = Field(default=None, index=True)  # the batch that inserted it
    change_seq: int = Field(default=0, index=True, sa_type=BigInteger,  # db.changes
                            sa_column_kwargs={"server_default": "0"})


TOUCH_OUTCOMES = ("connected", "voicemail", "no_answer", "meeting_booked")


class LeadOwnerChange(SQLModel, table=True):
    """A lead passing from one owner to another: who did it, when and why. A lead's owner
    history; `--by rep` attributes each clock to the owner of the moment it stopped or
    breached (core.compliance)."""

    __tablename__ = "lead_owner_changes"
    __table_args__ = (Index("ix_lead_owner_changes_lead_at", "lead_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow)
    from_owner: str | None = Field(default=None, max_length=64)
    to_owner: str | None = Field(default=None, max_length=64)
    changed_by: str = Field(max_length=64)
    reason: str = ""
    import_batch_id: int | None = Field(default=None, index=True)  # set when an import moved it


class LeadDecision(SQLModel, table=True):
    """An accept or a reject of a lead, with its note, and its undo when there was one."""

    __tablename__ = "lead_decisions"
    __table_args__ = (Index("ix_lead_decisions_lead_at", "lead_id", "decided_at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)  # accept | reject
    reason: str | None = Field(default=None, max_length=64)
    note: str | None = None
    decided_by: str = Field(max_length=64)
    decided_at: datetime = Field(default_factory=utcnow)
    # The lead's decision fields before it, restored by an undo.
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    undone_by: str | None = Field(default=None, max_length=64)
    undone_at: datetime | None = None


class DataChanges(SQLModel, table=True):
    """The one row that hands out change stamps to writers of leads and touches (db.changes)."""

    __tablename__ = "data_changes"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_type=BigInteger)
    epoch: int = Field(default=0, sa_type=BigInteger)  # bumped when rows are deleted


class Agreement(SQLModel, table=True):
    """An SLA between sales and marketing; its content lives in its versions."""

    __tablename__ = "agreements"

    id: int | None = Field(default=None, primary_key=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class AgreementVersion(SQLModel, table=True):
    """One version of an agreement: the whole SLA document, its state and its edit revision."""

    __tablename__ = "agreement_versions"
    __table_args__ = (
        UniqueConstraint("agreement_id", "number", name="uq_agreement_versions_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    number: int
    # draft | in_review | agreed | scheduled | active | superseded | expired (db.guards: the
    # allowed transitions, and what may never change once signed)
    state: str = Field(default="draft", max_length=16)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    title: str = Field(max_length=200)
    effective_start: date
    effective_end: date
    based_on: int | None = None  # the version number this one was copied or amended from
    revision: int = 1  # optimistic concurrency token: bumped by every save of the document
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
    signed_at: datetime | None = None


IMMUTABLE_STATES = frozenset({"scheduled", "active", "superseded", "expired"})


class Approval(SQLModel, table=True):
    """A side's approval of a version (sales, marketing), or an exec's sign-off (exec)."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("version_id", "side", name="uq_approvals_version_side"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="agreement_versions.id", index=True)
    side: str = Field(max_length=16)  # sales | marketing | exec
    username: str = Field(max_length=64)
    # What the approver read: the version's revision and the SHA-256 of its canonical document
    # (core.agreement.canonical_sha256). Approvals older than these columns have the revision
    # the version had when the columns came, and no hash.
    revision: int
    document_sha256: str | None = Field(default=None, max_length=64)
    at: datetime = Field(default_factory=utcnow)
    comment: str | None = None


class Comment(SQLModel, table=True):
    """A comment on a version, or on one of its clauses."""

    __tablename__ = "comments"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="agreement_versions.id", index=True)
    clause: str | None = Field(default=None, max_length=120)
    author: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow)
    body: str


class ImportBatch(SQLModel, table=True):
    """One imported file: what it was, how it was mapped, what it did, who ran it and when."""

    __tablename__ = "import_batches"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # leads | touches
    file_name: str = Field(max_length=255)
    file_hash: str = Field(max_length=64)  # SHA-256 of the file's bytes
    source: str = Field(max_length=64)
    preset: str | None = Field(default=None, max_length=32)
    mapping: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    options: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    notes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)
    undone_by: str | None = Field(default=None, max_length=64)  # `import undo`
    undone_at: datetime | None = None
    # A connector's batch: the stream's watermark once these rows were stored (None for files)
    watermark: str | None = Field(default=None, max_length=64)


class ApiToken(SQLModel, table=True):
    """A REST API client's token (core.services.api_tokens): only its SHA-256 is kept; the
    prefix lets a list tell tokens apart without showing them."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    scope: str = Field(max_length=8)  # read | write
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = None


class Connector(SQLModel, table=True):
    """A CRM connector's settings, encrypted credentials and sync state (core.services.sync)."""

    __tablename__ = "connectors"

    name: str = Field(primary_key=True, max_length=32)  # hubspot | salesforce
    settings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    secret: str | None = Field(default=None, sa_type=Text)  # Fernet token of the credentials
    secret_hint: str | None = Field(default=None, max_length=16)  # the last characters
    paused: bool = False
    # Per stream ("contacts", "calls", ...): the last modification time stored, as ISO 8601
    watermarks: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default="idle", max_length=16)  # idle | running | failed
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    last_counts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class JobRun(SQLModel, table=True):
    """One run of a background job (core.worker): when, which attempt, how it ended."""

    __tablename__ = "job_runs"

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64, index=True)
    attempt: int = 1
    state: str = Field(max_length=16)  # running | ok | failed
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    error: str | None = Field(default=None, sa_type=Text)
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class WorkspaceSetting(SQLModel, table=True):
    """A workspace-wide choice an admin makes (core.services.workspace): its key, its value as
    text, who set it and when."""

    __tablename__ = "workspace_settings"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class SavedMapping(SQLModel, table=True):
    """A column mapping saved by name, to reuse for the next export of the same shape."""

    __tablename__ = "saved_mappings"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_saved_mappings_kind_name"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=100)
    preset: str | None = Field(default=None, max_length=32)
    mapping: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Dispute(SQLModel, table=True):
    """Marketing disputes a lead rejection; a head upholds or overturns it."""

    __tablename__ = "disputes"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    rejection_reason: str | None = Field(default=None, max_length=64)
    opened_by: str = Field(max_length=64)
    opened_at: datetime = Field(default_factory=utcnow)
    comment: str
    state: str = Field(default="open", max_length=16)  # open | upheld | overturned
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = None
    resolution: str | None = None


class QuarterlyReview(SQLModel, table=True):
    """An exec's review of one quarter of an agreement: open, sent back, or signed on a frozen
    snapshot of the quarter's report (DESIGN §6 `report` object)."""

    __tablename__ = "quarterly_reviews"
    __table_args__ = (
        UniqueConstraint("agreement_id", "quarter", name="uq_quarterly_reviews_agreement_quarter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id")
    quarter: str = Field(max_length=7)  # "2026-Q3"
    state: str = Field(default="open", max_length=16)  # open | signed | sent_back
    snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # The causes of the misses as signed off ({reps, channels, rejection_reasons}).
    causes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    signed_by: str | None = Field(default=None, max_length=64)
    signed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ReviewComment(SQLModel, table=True):
    """A comment on a quarterly review, or the note of an exec's sign-off or send-back."""

    __tablename__ = "review_comments"

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="quarterly_reviews.id", index=True)
    author: str = Field(max_length=64)
    role: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow)
    body: str
    kind: str = Field(default="comment", max_length=16)  # comment | sign | send_back


class AlertFiring(SQLModel, table=True):
    """An escalation rule that fired for a lead (core.services.alerts). The unique key makes it
    once, ever: of two workers passing at once, one inserts the row and acts; the other finds it
    and does nothing."""

    __tablename__ = "alert_firings"
    __table_args__ = (
        UniqueConstraint("agreement_id", "lead_id", "rule_id", name="uq_alert_firings_lead_rule"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id")
    version: int  # the agreement version whose rule fired (the one the clock is measured by)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    rule_id: str = Field(max_length=64)
    commitment: str = Field(max_length=64)
    trigger: str = Field(max_length=16)  # at_risk | breached
    owner: str | None = Field(default=None, max_length=64)  # the lead's owner when it fired
    due: datetime | None = None  # the clock's due instant
    fired_at: datetime = Field(default_factory=utcnow, index=True)  # the pass's as_of
    # What the rule's action did ({"reassigned_to": "ben"}, or why it could not)
    outcome: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Notification(SQLModel, table=True):
    """One notice to one person: always in the app's list; by email as they choose. An email
    waits until `deliver_after` (their working hours) and goes out with the others pending for
    them then, as one message (core.services.notifications)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_username_created", "username", "created_at"),
        Index("ix_notifications_email_state", "email_state", "deliver_after"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # core.services.notifications.KINDS
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=Text)
    link: str | None = Field(default=None, max_length=300)  # a page of the app: /lead?lead=7
    cause: str = Field(max_length=120)  # the rule or event: "escalation warn-owner", ...
    lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL")
    urgent: bool = False
    # Of a notice made once per key (a digest of a day, a workflow event): the key
    once_key: str | None = Field(default=None, max_length=160, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    deliver_after: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None
    # pending (an email to send) | sent (in delivery `delivery_id`) | digest (waits for the
    # person's digest) | none (no email: off, or no address or mail set up)
    email_state: str = Field(default="none", max_length=16)
    delivery_id: int | None = Field(default=None, foreign_key="deliveries.id")


class Delivery(SQLModel, table=True):
    """One message on a channel, for the delivery log: an email to one address or a post to a
    chat webhook, its state, its attempts and why they failed."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64)  # "email", or the webhook channel's name
    recipient: str = Field(max_length=254)  # an email address, or the webhook's host
    username: str | None = Field(default=None, max_length=64)  # the person, for an email
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    cause: str = Field(max_length=120)
    # pending | sending | failed (to be retried) | sent | gave_up (core.services.deliveries)
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None
    # Every attempt: [{"at", "state", "error"}]
    history: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))


class NotificationPreference(SQLModel, table=True):
    """How a person wants one kind of notice by email: immediately, in the daily digest, or
    off (the in-app list has every notice regardless)."""

    __tablename__ = "notification_preferences"

    username: str = Field(primary_key=True, max_length=64)
    kind: str = Field(primary_key=True, max_length=32)
    mode: str = Field(max_length=16)  # immediately | digest | off
    updated_at: datetime = Field(default_factory=utcnow)


class Channel(SQLModel, table=True):
    """A way out for notices an admin sets up: the mail server (kind email: an SMTP URL and the
    sender, one per workspace) or a chat webhook (Slack, Microsoft Teams or generic JSON). Its
    URL is a secret, sealed like a connector's credentials."""

    __tablename__ = "channels"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)  # email | slack | teams | json
    secret: str = Field(sa_type=Text)  # Fernet token of the URL
    secret_hint: str = Field(max_length=80)  # the URL's host, shown instead of it
    # The notice kinds a webhook gets; an email channel's sender: {"kinds": [...], "from": ...}
    settings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = True
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class WorkerHeartbeat(SQLModel, table=True):
    """A running worker (core.worker), seen on every scheduler check: readiness counts the
    workers seen lately; a stopped worker's row is removed as it stops."""

    __tablename__ = "worker_heartbeats"

    worker: str = Field(primary_key=True, max_length=128)  # host:pid
    queue: str = Field(max_length=16)  # redis | sqlite
    started_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class WorkingCopy(SQLModel, table=True):
    """Someone's unsaved edits to a draft version, kept as they make them so that a restarted
    or lost app replica loses none of them: the document as a plain dict, and the revision it
    was based on (a save still sends that revision, so a stale copy is still refused)."""

    __tablename__ = "working_copies"

    username: str = Field(primary_key=True, max_length=64)
    agreement_id: int = Field(primary_key=True, foreign_key="agreements.id", ondelete="CASCADE")
    number: int = Field(primary_key=True)
    revision: int
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


guards.attach(SQLModel.metadata)
