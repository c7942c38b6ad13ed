"""The SLA and its negotiation: drafts, edits, review, approvals, sign-off, comments, history."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from core import agreement as sla
from core import clock
from core.errors import NotFound
from core.permissions import Action, Role, require
from core.services import workflow_notices
from core.services.accounts import Actor, display_names
from core.services.audit import record
from core.services.validation import bounded_text
from db import locks
from db.models import (
    IMMUTABLE_STATES,
    Agreement,
    AgreementVersion,
    Approval,
    AuditEvent,
    Comment,
    User,
    utcnow,
)

SIDE_OF_ROLE = {Role.SALES_HEAD.value: "sales", Role.MARKETING_HEAD.value: "marketing"}
APPROVING_SIDES = ("sales", "marketing")
SIGNED_STATES = ("scheduled", "active", "superseded", "expired")
SYSTEM = "system"


class WorkflowError(Exception):
    """A step the agreement's state does not allow (e.g. editing an active version)."""


class StaleVersion(WorkflowError):
    """A save or an approval based on an old revision: someone else changed the version
    first. `changes` says what changed since the revision the user worked on."""

    def __init__(self, message: str, changes: list[sla.ClauseChange]):
        super().__init__(message)
        self.changes = changes


@dataclass(frozen=True)
class ApprovalView:
    """Who approved (or signed) a version, for which side, when, with what comment, and the
    revision they read."""

    side: str
    username: str
    at: datetime
    comment: str | None
    revision: int
    name: str = ""  # the person's display name

    @property
    def who(self) -> str:
        return self.name or self.username


@dataclass(frozen=True)
class VersionView:
    """A version as the pages and the CLI show it."""

    agreement_id: int
    number: int
    state: str
    document: sla.Document
    revision: int
    based_on: int | None
    is_latest: bool
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    signed_at: datetime | None
    approvals: tuple[ApprovalView, ...]

    @property
    def document_sha256(self) -> str:
        """The hash of the canonical document: what an approval of this view names."""
        return sla.canonical_sha256(sla.to_dict(self.document))

    @property
    def title(self) -> str:
        """The document's title."""
        return self.document.title

    @property
    def editable(self) -> bool:
        """Whether the content may still change (signed versions never do)."""
        return self.state not in IMMUTABLE_STATES

    def approval(self, side: str) -> ApprovalView | None:
        """The approval of one side (sales, marketing) or the exec sign-off."""
        return next((a for a in self.approvals if a.side == side), None)


@dataclass(frozen=True)
class AgreementSummary:
    """One row of the agreements list."""

    id: int
    title: str
    latest_number: int
    latest_state: str
    latest_revision: int
    latest_sha256: str  # of the latest version's canonical document (what an approval names)
    active_number: int | None
    effective_start: date
    effective_end: date
    updated_at: datetime
    scheduled_number: int | None = None  # signed, starting later: it supersedes the active one
    scheduled_start: date | None = None  # then


@dataclass(frozen=True)
class CommentView:
    """A comment on a version or one of its clauses."""

    id: int
    version_number: int
    clause: str | None
    author: str
    at: datetime
    body: str
    author_name: str = ""  # the author's display name


@dataclass(frozen=True)
class HistoryEntry:
    """One audit event of an agreement."""

    at: datetime
    actor: str
    action: str
    version_number: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changes: tuple[sla.ClauseChange, ...] = ()  # for edits: the clauses the edit changed
    actor_name: str = ""  # the person's display name ("Handoff" for the system's own steps)


# --- creating and editing ---------------------------------------------------------------


def create_agreement(*, session: Session, actor: Actor, document: sla.Document) -> VersionView:
    """Start a new agreement whose version 1 is a draft holding the document."""
    require(actor.role, Action.EDIT_AGREEMENT)
    _refuse_unknown_teams(session, document)
    agreement = Agreement(created_by=actor.username)
    session.add(agreement)
    session.flush()
    record(session, actor=actor.username, action="agreement.create", object_type="agreement",
           object_id=agreement.id)
    return _view(session, _add_version(session, actor, agreement.id, document, based_on=None))


def new_version(
    *, session: Session, actor: Actor, agreement_id: int, document: sla.Document,
    based_on: int | None = None,
) -> VersionView:
    """Add a new draft version (an amendment) to an existing agreement."""
    require(actor.role, Action.EDIT_AGREEMENT)
    _hold(session, agreement_id)
    latest = _latest(session, agreement_id)
    _refuse_unknown_teams(session, document)
    version = _add_version(session, actor, agreement_id, document,
                           based_on=latest.number if based_on is None else based_on)
    return _view(session, version)


def amend(*, session: Session, actor: Actor, agreement_id: int) -> VersionView:
    """A new draft copied from the latest signed version (or the latest version if none is)."""
    require(actor.role, Action.EDIT_AGREEMENT)
    _hold(session, agreement_id)
    source = _latest_signed(session, agreement_id) or _latest(session, agreement_id)
    return new_version(session=session, actor=actor, agreement_id=agreement_id,
                       document=_document(source), based_on=source.number)


def import_yaml(
    *, session: Session, actor: Actor, text: str | bytes, source: str | None = None,
    agreement_id: int | None = None,
) -> VersionView:
    """A new agreement (or a new version of one) from an SLA YAML document."""
    require(actor.role, Action.EDIT_AGREEMENT)
    document = sla.parse_yaml(text, source=source)
    try:
        if agreement_id is None:
            return create_agreement(session=session, actor=actor, document=document)
        return new_version(session=session, actor=actor, agreement_id=agreement_id,
                           document=document)
    except sla.InvalidAgreement as refusal:  # the workspace's checks: with the file's lines
        raise sla.locate(refusal.errors, text, source=source) from None


def save_draft(
    *, session: Session, actor: Actor, agreement_id: int, number: int, document: sla.Document,
    expected_revision: int,
) -> VersionView:
    """Save an edit made on `expected_revision` of a version.

    A stale revision is refused with who changed what. Editing a version that any side has
    approved makes a new draft version (its approvals stay with the old one). The write is a
    compare-and-swap on the revision, under the agreement's lock: of two saves on the same
    revision, exactly one lands.
    """
    require(actor.role, Action.EDIT_AGREEMENT)
    _hold(session, agreement_id)
    version = _get(session, agreement_id, number)
    _refuse_if_signed(version, "edited")
    _refuse_if_stale(session, version, expected_revision)
    if _approvals(session, version):
        return new_version(session=session, actor=actor, agreement_id=agreement_id,
                           document=document, based_on=version.number)
    _refuse_unknown_teams(session, document)
    before = {"revision": version.revision, "document": version.document}
    content = sla.to_dict(document)
    swapped = session.execute(
        update(AgreementVersion)
        .where(col(AgreementVersion.id) == version.id,
               col(AgreementVersion.revision) == expected_revision)
        .values(document=content, title=document.title,
                effective_start=document.effective.start, effective_end=document.effective.end,
                revision=expected_revision + 1, updated_by=actor.username, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(version)
    if swapped != 1:  # the lock makes this unreachable; the swap is the last word regardless
        _refuse_if_stale(session, version, expected_revision)
        raise WorkflowError(f"version {version.number} could not be saved; reload it")
    record(session, actor=actor.username, action="version.edit", object_type="agreement_version",
           object_id=_object_id(version), before=before,
           after={"revision": version.revision, "document": version.document})
    if version.state == "in_review":
        changes = sla.diff(sla.from_stored(before["document"]), document)
        workflow_notices.version_changed_in_review(
            session, actor, agreement_id, version.number, version.title,
            "; ".join(describe_change(change) for change in changes) or "nothing of substance")
    return _view(session, version)


def _refuse_unknown_teams(session: Session, document: sla.Document) -> None:
    """Refuse a document whose escalations name a team no active user belongs to, or
    reassign leads to a team without an active sales rep (sla.InvalidAgreement, with the
    path of each such entry). Every stored document passes here: the pure document module
    cannot know the workspace's teams."""
    references = sla.team_references(document)
    if not references:
        return
    members = session.exec(
        select(User.team, User.role).where(col(User.active), col(User.team).is_not(None))
    ).all()
    teams = sorted({team for team, _ in members})
    with_reps = sorted({team for team, role in members if role == Role.SALES_REP})
    errors = []
    for reference in references:
        if reference.team not in teams:
            errors.append(sla.DocumentError(
                reference.path, f"no team {reference.team!r}; teams: "
                                f"{', '.join(teams) or 'none (no active user has a team)'}"))
        elif reference.reassign and reference.team not in with_reps:
            errors.append(sla.DocumentError(
                reference.path, f"team {reference.team!r} has no active sales rep to reassign "
                                "leads to; teams with sales reps: "
                                f"{', '.join(with_reps) or 'none'}"))
    if errors:
        raise sla.InvalidAgreement(errors)


# --- the workflow -----------------------------------------------------------------------


def submit(
    *, session: Session, actor: Actor, agreement_id: int, number: int | None = None,
    comment: str | None = None,
) -> VersionView:
    """Send a draft for review by both heads."""
    require(actor.role, Action.EDIT_AGREEMENT)
    _hold(session, agreement_id)
    version = _target_in_state(session, agreement_id, number, "draft",
                               "a draft can be submitted")
    comment = _step_comment(session, actor, version, comment)
    _change_state(session, actor, version, "in_review", "version.submit", comment)
    workflow_notices.version_submitted(session, actor, agreement_id, version.number,
                                       version.title)
    return _view(session, version)


def approve(
    *, session: Session, actor: Actor, agreement_id: int, revision: int,
    document_sha256: str | None = None, number: int | None = None, comment: str | None = None,
) -> VersionView:
    """Approve, for the actor's side, the revision of a version in review that the actor read
    (and, given its hash, exactly that document); both sides make it `agreed`."""
    side = SIDE_OF_ROLE.get(actor.role)
    require(actor.role, Action.APPROVE_FOR_SALES if side != "marketing"
            else Action.APPROVE_FOR_MARKETING)
    _hold(session, agreement_id)
    version = _target_in_state(session, agreement_id, number, "in_review",
                               "a version in review can be approved")
    _refuse_unread(session, version, revision, document_sha256, "approval")
    if any(a.side == side for a in _approvals(session, version)):
        raise WorkflowError(f"{side} already approved version {version.number}")
    comment = _step_comment(session, actor, version, comment)
    _add_approval(session, actor, version, side, comment)
    approved = {a.side for a in _approvals(session, version)}
    if approved >= set(APPROVING_SIDES):
        _change_state(session, actor, version, "agreed", "version.agree", None)
    return _view(session, version)


def sign(
    *, session: Session, actor: Actor, agreement_id: int, revision: int,
    document_sha256: str | None = None, number: int | None = None, comment: str | None = None,
) -> VersionView:
    """An exec signs off the revision of an agreed version that the exec read. A version
    whose effective start has come becomes active and supersedes the one before; one that
    starts later is `scheduled`, and the version before governs until its start
    (`advance_with_time`)."""
    require(actor.role, Action.SIGN_OFF)
    _hold(session, agreement_id)
    version = _target_in_state(session, agreement_id, number, "agreed",
                               "a version both heads approved can be signed off")
    _refuse_unread(session, version, revision, document_sha256, "sign-off")
    comment = _step_comment(session, actor, version, comment)
    _add_approval(session, actor, version, "exec", comment)
    version.signed_at = utcnow()
    if _has_started(version):
        _supersede_active(session, actor, version)
        _change_state(session, actor, version, "active", "version.sign", comment)
    else:
        _change_state(session, actor, version, "scheduled", "version.sign", comment)
    advance_with_time(session)
    return _view(session, version)


def signed_document(session: Session) -> sla.Document | None:
    """The document of the most recently signed active version, if any (import defaults)."""
    advance_with_time(session)
    return active_document(session)


def active_document(session: Session) -> sla.Document | None:
    """The most recently signed active version's document as stored now (no state moved)."""
    active = session.exec(
        select(AgreementVersion).where(AgreementVersion.state == "active")
        .order_by(col(AgreementVersion.signed_at).desc())
    ).first()
    return _document(active) if active else None


def advance_with_time(session: Session) -> int:
    """The state changes that come with time, in each version's own zone: a scheduled version
    whose effective start has come becomes active and supersedes the active one before it;
    an active (or scheduled) version whose effective end has passed expires. Returns how many
    versions changed."""
    changed = 0
    due = session.exec(
        select(AgreementVersion).where(col(AgreementVersion.state).in_(("scheduled", "active")))
        .order_by(col(AgreementVersion.effective_start), col(AgreementVersion.number))
    ).all()
    for version in due:
        if version.state == "scheduled" and _has_started(version):
            _supersede_active(session, None, version)
            _change_state(session, None, version, "active", "version.activate", None)
            changed += 1
        if version.state in ("scheduled", "active") and _today(version) >= version.effective_end:
            _change_state(session, None, version, "expired", "version.expire", None)
            changed += 1
    return changed


def _today(version: AgreementVersion) -> date:
    return clock.today(ZoneInfo(version.document["calendar"]["timezone"]))


def _has_started(version: AgreementVersion) -> bool:
    return _today(version) >= version.effective_start


def _supersede_active(session: Session, actor: Actor | None, version: AgreementVersion) -> None:
    """The agreement's active versions give way to `version`, which starts now."""
    for replaced in _versions_in_state(session, version.agreement_id, "active"):
        if replaced.id != version.id:
            _change_state(session, actor, replaced, "superseded", "version.supersede", None)


# --- comments -----------------------------------------------------------------------------


def add_comment(
    *, session: Session, actor: Actor, agreement_id: int, number: int, body: str,
    clause: str | None = None,
) -> CommentView:
    """Comment on a version, or on one clause of it (a commitment id or a stage)."""
    require(actor.role, Action.COMMENT)
    body = bounded_text("comment", body, "a comment needs some text")
    version = _get(session, agreement_id, number)
    comment = _add_comment(session, actor, version, body, clause or None)
    workflow_notices.mentions(session, actor, body, f"a comment on version {version.number} of "
                              f"“{version.title}”", "/agreements")
    return _comment_view(comment, version.number, {actor.username: actor.display_name})


def _add_comment(session: Session, actor: Actor, version: AgreementVersion, body: str,
                 clause: str | None = None) -> Comment:
    comment = Comment(version_id=version.id, clause=clause, author=actor.username, body=body)
    session.add(comment)
    session.flush()
    record(session, actor=actor.username, action="comment.add", object_type="agreement_version",
           object_id=_object_id(version), after={"clause": comment.clause, "body": body})
    return comment


def _step_comment(session: Session, actor: Actor, version: AgreementVersion,
                  comment: str | None) -> str | None:
    """A workflow step's comment, bounded, and kept with the version's comments too (where the
    heads read the discussion)."""
    text = bounded_text("comment", comment, required=None)
    if text:
        _add_comment(session, actor, version, text)
    return text


def list_comments(
    *, session: Session, actor: Actor, agreement_id: int, number: int | None = None
) -> list[CommentView]:
    """Comments on one version, or on every version of the agreement, oldest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    query = (
        select(Comment, AgreementVersion.number)
        .join(AgreementVersion, col(Comment.version_id) == AgreementVersion.id)
        .where(AgreementVersion.agreement_id == agreement_id)
        .order_by(col(Comment.at), col(Comment.id))
    )
    if number is not None:
        query = query.where(AgreementVersion.number == number)
    rows = session.exec(query).all()
    names = display_names(session, {comment.author for comment, _ in rows})
    return [_comment_view(comment, n, names) for comment, n in rows]


# --- reading ------------------------------------------------------------------------------


def list_agreements(*, session: Session, actor: Actor) -> list[AgreementSummary]:
    """Every agreement with its latest and its active version, newest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    advance_with_time(session)
    versions = session.exec(
        select(AgreementVersion).order_by(AgreementVersion.agreement_id, AgreementVersion.number)
    ).all()
    by_agreement: dict[int, list[AgreementVersion]] = {}
    for version in versions:
        by_agreement.setdefault(version.agreement_id, []).append(version)
    summaries = [_summary(agreement_id, rows) for agreement_id, rows in by_agreement.items()]
    return sorted(summaries, key=lambda s: s.updated_at, reverse=True)


def get_version(
    *, session: Session, actor: Actor, agreement_id: int, number: int | None = None
) -> VersionView:
    """One version (the latest by default)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    advance_with_time(session)
    version = _latest(session, agreement_id) if number is None else _get(session, agreement_id,
                                                                         number)
    return _view(session, version)


def list_versions(*, session: Session, actor: Actor, agreement_id: int) -> list[VersionView]:
    """Every version of an agreement, oldest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    advance_with_time(session)
    return [_view(session, v) for v in _all_versions(session, agreement_id)]


def export_yaml(
    *, session: Session, actor: Actor, agreement_id: int, number: int | None = None
) -> str:
    """A version as SLA YAML (the latest by default)."""
    version = get_version(session=session, actor=actor, agreement_id=agreement_id, number=number)
    return sla.dump_yaml(version.document)


def compare_versions(
    *, session: Session, actor: Actor, agreement_id: int, old: int, new: int
) -> list[sla.ClauseChange]:
    """The redline between two versions, clause by clause."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return sla.diff(_document(_get(session, agreement_id, old)),
                    _document(_get(session, agreement_id, new)))


def agreement_history(
    *, session: Session, actor: Actor, agreement_id: int
) -> list[HistoryEntry]:
    """The audit trail of an agreement and all its versions, oldest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    _latest(session, agreement_id)
    prefix = f"{agreement_id}/"
    events = session.exec(
        select(AuditEvent)
        .where(
            ((AuditEvent.object_type == "agreement") & (AuditEvent.object_id == str(agreement_id)))
            | ((AuditEvent.object_type == "agreement_version")
               & col(AuditEvent.object_id).startswith(prefix))
        )
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    ).all()
    names = {SYSTEM: "Handoff (on schedule)"} | display_names(
        session, {event.actor for event in events})
    return [
        HistoryEntry(
            at=event.at, actor=event.actor, action=event.action,
            version_number=int(event.object_id.split("/")[1]) if "/" in event.object_id else None,
            before=event.before, after=event.after, changes=_edit_changes(event),
            actor_name=names.get(event.actor, event.actor),
        )
        for event in events
    ]


def _edit_changes(event: AuditEvent) -> tuple[sla.ClauseChange, ...]:
    """The clause-level changes of an edit event (whose before and after hold documents)."""
    if not (event.before and event.after and "document" in event.before
            and "document" in event.after):
        return ()
    return tuple(sla.diff(sla.from_dict(event.before["document"]),
                          sla.from_dict(event.after["document"])))


# --- internals ----------------------------------------------------------------------------


def _add_version(
    session: Session, actor: Actor, agreement_id: int, document: sla.Document,
    based_on: int | None,
) -> AgreementVersion:
    number = (session.exec(
        select(func.max(AgreementVersion.number)).where(
            AgreementVersion.agreement_id == agreement_id)
    ).one() or 0) + 1
    version = AgreementVersion(
        agreement_id=agreement_id, number=number, based_on=based_on, document={}, title="",
        effective_start=document.effective.start, effective_end=document.effective.end,
        created_by=actor.username, updated_by=actor.username,
    )
    _write_document(version, document)
    session.add(version)
    session.flush()
    record(session, actor=actor.username, action="version.create",
           object_type="agreement_version", object_id=_object_id(version),
           after={"revision": version.revision, "based_on": based_on,
                  "document": version.document})
    return version


def _write_document(version: AgreementVersion, document: sla.Document) -> None:
    version.document = sla.to_dict(document)
    version.title = document.title
    version.effective_start = document.effective.start
    version.effective_end = document.effective.end


def _change_state(
    session: Session, actor: Actor | None, version: AgreementVersion, state: str, action: str,
    comment: str | None,
) -> None:
    before = {"state": version.state}
    version.state = state
    version.updated_at = utcnow()
    session.add(version)
    session.flush()
    after: dict[str, Any] = {"state": state}
    if comment:
        after["comment"] = comment
    record(session, actor=actor.username if actor else SYSTEM, action=action,
           object_type="agreement_version", object_id=_object_id(version), before=before,
           after=after)


def _add_approval(
    session: Session, actor: Actor, version: AgreementVersion, side: str, comment: str | None
) -> None:
    sha = sla.canonical_sha256(version.document)
    session.add(Approval(version_id=version.id, side=side, username=actor.username,
                         comment=comment or None, revision=version.revision,
                         document_sha256=sha))
    session.flush()
    record(session, actor=actor.username, action=f"version.approve.{side}",
           object_type="agreement_version", object_id=_object_id(version),
           after={"side": side, "comment": comment, "revision": version.revision,
                  "document_sha256": sha})


def _refuse_unread(session: Session, version: AgreementVersion, revision: int,
                   document_sha256: str | None, step: str) -> None:
    """Refuse an approval or sign-off of anything but the revision (and document) it names."""
    sha = sla.canonical_sha256(version.document)
    if version.revision == revision and document_sha256 in (None, sha):
        return
    if version.revision == revision:
        raise WorkflowError(
            f"the document of version {version.number} is not the one your {step} names "
            f"(its SHA-256 is {sha[:12]}…, yours {str(document_sha256)[:12]}…); nothing was "
            "recorded; reload the version and read it again")
    changes = sla.diff(_document_at(session, version, revision), _document(version))
    raise StaleVersion(
        f"version {version.number} changed since you read revision {revision}: "
        f"{_who(session, version.updated_by)} saved revision {version.revision} at "
        f"{version.updated_at:%Y-%m-%d %H:%M} UTC{_summarise(changes)}. Your {step} was not "
        f"recorded; read revision {version.revision}, then decide again.",
        changes,
    )


def _who(session: Session, username: str) -> str:
    """A person's display name for a message (the username when no user has it)."""
    return display_names(session, {username}).get(username, username)


def _hold(session: Session, agreement_id: int) -> None:
    """Serialise every change to one agreement's versions (see db.locks)."""
    locks.hold(session, f"agreement:{agreement_id}")


def _refuse_if_signed(version: AgreementVersion, verb: str) -> None:
    if version.state in IMMUTABLE_STATES:
        raise WorkflowError(
            f"version {version.number} is {version.state} and cannot be {verb}; start an "
            "amendment (a new version) instead"
        )


def _refuse_if_stale(session: Session, version: AgreementVersion, expected_revision: int) -> None:
    """Refuse a save made on an old revision, or on a version that is no longer the latest."""
    latest = _latest(session, version.agreement_id)
    if latest.id != version.id:
        changes = sla.diff(_document(version), _document(latest))
        raise StaleVersion(
            f"version {version.number} is no longer the latest: "
            f"{_who(session, latest.created_by)} created "
            f"version {latest.number} at {latest.created_at:%Y-%m-%d %H:%M} UTC"
            f"{_summarise(changes)}. Reload, then reapply your changes to version "
            f"{latest.number}.",
            changes,
        )
    if version.revision == expected_revision:
        return
    changes = sla.diff(_document_at(session, version, expected_revision), _document(version))
    raise StaleVersion(
        f"version {version.number} changed since you opened it: "
        f"{_who(session, version.updated_by)} saved it "
        f"at {version.updated_at:%Y-%m-%d %H:%M} UTC{_summarise(changes)}. Your edit was not "
        "saved; reload, then reapply your changes.",
        changes,
    )


def _summarise(changes: list[sla.ClauseChange]) -> str:
    if not changes:
        return ""
    return " (" + "; ".join(describe_change(change) for change in changes) + ")"


def describe_change(change: sla.ClauseChange) -> str:
    """'commitments[first-touch].within: 4h → 2h', or 'commitments[x] added'."""
    if change.change == "changed":
        return f"{change.clause}: {_short(change.old)} → {_short(change.new)}"
    return f"{change.clause} {change.change}"


def _short(value: Any, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _document_at(session: Session, version: AgreementVersion, revision: int) -> sla.Document:
    """The document as it was at a revision, from the audit trail (create and edit events)."""
    for event in session.exec(
        select(AuditEvent).where(
            AuditEvent.object_type == "agreement_version",
            AuditEvent.object_id == _object_id(version),
            col(AuditEvent.action).in_(["version.create", "version.edit"]),
        )
    ).all():
        if event.after and event.after.get("revision") == revision:
            return sla.from_dict(event.after["document"])
    return _document(version)


def _workflow_target(session: Session, agreement_id: int, number: int | None) -> AgreementVersion:
    """The version a workflow step acts on: the latest, unless a number is given (then it must
    still be the latest: older versions are history)."""
    latest = _latest(session, agreement_id)
    if number is None or number == latest.number:
        return latest
    version = _get(session, agreement_id, number)
    raise WorkflowError(f"version {version.number} is not the latest version "
                        f"({latest.number}) of agreement {agreement_id}")


def _target_in_state(
    session: Session, agreement_id: int, number: int | None, state: str, only: str
) -> AgreementVersion:
    """The workflow target, refused unless it is in `state` (`only` says what may proceed)."""
    version = _workflow_target(session, agreement_id, number)
    if version.state != state:
        raise WorkflowError(f"version {version.number} is {version.state}: only {only}")
    return version


def _approvals(session: Session, version: AgreementVersion) -> list[Approval]:
    return list(session.exec(
        select(Approval).where(Approval.version_id == version.id).order_by(col(Approval.at))
    ).all())


def _get(session: Session, agreement_id: int, number: int) -> AgreementVersion:
    version = session.exec(
        select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement_id, AgreementVersion.number == number)
    ).first()
    if version is None:
        raise NotFound(f"agreement {agreement_id} has no version {number}")
    return version


def _all_versions(session: Session, agreement_id: int) -> list[AgreementVersion]:
    return list(session.exec(
        select(AgreementVersion).where(AgreementVersion.agreement_id == agreement_id)
        .order_by(AgreementVersion.number)
    ).all())


def _latest(session: Session, agreement_id: int) -> AgreementVersion:
    versions = _all_versions(session, agreement_id)
    if not versions:
        raise NotFound(f"no agreement with id {agreement_id}")
    return versions[-1]


def _latest_signed(session: Session, agreement_id: int) -> AgreementVersion | None:
    signed = [v for v in _all_versions(session, agreement_id) if v.state in SIGNED_STATES]
    return max(signed, key=lambda v: v.signed_at) if signed else None


def _versions_in_state(session: Session, agreement_id: int, state: str) -> list[AgreementVersion]:
    return [v for v in _all_versions(session, agreement_id) if v.state == state]


def _document(version: AgreementVersion) -> sla.Document:
    return sla.from_stored(version.document)


def _object_id(version: AgreementVersion) -> str:
    return f"{version.agreement_id}/{version.number}"


def _view(session: Session, version: AgreementVersion) -> VersionView:
    latest = _latest(session, version.agreement_id)
    return VersionView(
        agreement_id=version.agreement_id, number=version.number, state=version.state,
        document=_document(version), revision=version.revision, based_on=version.based_on,
        is_latest=latest.id == version.id, created_by=version.created_by,
        created_at=version.created_at, updated_by=version.updated_by,
        updated_at=version.updated_at, signed_at=version.signed_at,
        approvals=_approval_views(session, _approvals(session, version)),
    )


def _approval_views(session: Session, approvals: list[Approval]) -> tuple[ApprovalView, ...]:
    names = display_names(session, {a.username for a in approvals})
    return tuple(ApprovalView(a.side, a.username, a.at, a.comment, a.revision,
                              names.get(a.username, a.username)) for a in approvals)


def _summary(agreement_id: int, versions: list[AgreementVersion]) -> AgreementSummary:
    latest = versions[-1]
    active = next((v for v in reversed(versions) if v.state == "active"), None)
    shown = active or latest
    scheduled = next((v for v in versions if v.state == "scheduled"), None)
    return AgreementSummary(
        id=agreement_id, title=shown.title, latest_number=latest.number,
        latest_state=latest.state, latest_revision=latest.revision,
        latest_sha256=sla.canonical_sha256(latest.document),
        active_number=active.number if active else None,
        effective_start=shown.effective_start, effective_end=shown.effective_end,
        updated_at=max(v.updated_at for v in versions),
        scheduled_number=scheduled.number if scheduled else None,
        scheduled_start=scheduled.effective_start if scheduled else None,
    )


def _comment_view(comment: Comment, number: int, names: dict[str, str]) -> CommentView:
    return CommentView(id=comment.id, version_number=number, clause=comment.clause,
                       author=comment.author, at=comment.at, body=comment.body,
                       author_name=names.get(comment.author, comment.author))
