"""The way out for notices: the channels an admin sets up (the mail server, chat webhooks),
every message sent on them with its retries, and the delivery log.

`dispatch` runs every minute (the worker, and `alerts run`). It sends each person ONE email
for the notices pending for them, once the oldest has waited BATCH_SECONDS (so five alerts of
one pass are one email), posts what `post_to_channels` queued for the chat webhooks, and tries
again what failed, after 30 s, 1, 2, 4 and 8 minutes, giving up after MAX_ATTEMPTS.

Two workers may run it at once: a message is claimed in a transaction before it is sent (the
notices move from pending to sent, a delivery from pending or failed to sending, each by an
UPDATE conditional on the state it read), so whoever claims second finds nothing to send.
While a delivery is sending, its next_attempt_at is the end of its lease: a worker killed
mid-send leaves it "sending", and once the lease has run out (SENDING_LEASE_SECONDS) the next
run counts it as failed and sends it again.
"""

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from core import secret_box
from core.errors import InvalidInput, NotFound
from core.notify import CONTROL_CHARACTERS, SendFailed, mail, one_line, webhooks
from core.notify.mail import SmtpSettings
from core.notify.webhooks import Item
from core.permissions import Action, require
from core.services.accounts import Actor
from core.services.audit import record
from core.services.validation import bounded_text
from db.models import Channel, Delivery, Notification, User, utcnow

Sessions = Callable[[], AbstractContextManager[Session]]

EMAIL = "email"  # the mail channel's name and kind, and the `channel` of an email delivery
WEBHOOK_FORMATS = webhooks.FORMATS
# The notice kinds a webhook subscribes to: the alerts an escalation pass posts (digests and
# workflow steps are addressed to people, not to a channel)
WEBHOOK_KINDS = ("at_risk", "breached", "reassigned")
STATES = ("pending", "sending", "failed", "sent", "gave_up")
DEFAULT_SENDER = "handoff@localhost"
NOTIFICATIONS_PAGE = "/notifications"  # where a person chooses what reaches them by email
APP_URL_ENV, DEFAULT_APP_URL = "HANDOFF_APP_URL", "http://localhost:8501"
BATCH_SECONDS_ENV, BATCH_SECONDS = "HANDOFF_ALERT_BATCH_SECONDS", 120
RETRY_SECONDS_ENV, RETRY_SECONDS = "HANDOFF_ALERT_RETRY_SECONDS", 30
MAX_ATTEMPTS = 6
SENDING_LEASE_SECONDS = 10 * 60
DISPATCH_MAX = 500  # deliveries one run sends (or marks); the rest wait for the next minute
NOTICES_LISTED_MAX = 50  # in one email; "and N more" beyond
NOTICES_PER_EMAIL_MAX = 500  # claimed by one email; a person with more gets the rest next
NOTICE_BODY_MAX_CHARS = 2_000  # of each notice's text in an email
ERROR_MAX_CHARS = 500
LOG_MAX = 1_000
NAME_MAX_CHARS, HINT_MAX_CHARS, SUBJECT_MAX_CHARS, CAUSE_MAX_CHARS = 64, 80, 200, 120
STALE_ERROR = (f"the worker sending it stopped (no result within "
               f"{SENDING_LEASE_SECONDS // 60} minutes)")


@dataclass(frozen=True)
class ChannelView:
    """A channel as the admin's page shows it: never its URL, only the host."""

    id: int | None  # None: the mail server set only by HANDOFF_SMTP_URL
    name: str
    kind: str  # email | slack | teams | json
    hint: str
    kinds: list[str]  # the notice kinds a webhook gets
    active: bool
    from_address: str | None  # the mail channel's sender
    set_by_environment: bool = False  # the mail channel, when HANDOFF_SMTP_URL is set


@dataclass(frozen=True)
class DeliveryView:
    """One row of the delivery log."""

    id: int
    created_at: datetime
    channel: str
    recipient: str
    username: str | None
    subject: str
    cause: str
    state: str  # pending | sending | failed | sent | gave_up
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None
    history: list[dict[str, Any]]


@dataclass
class DispatchResult:
    """What one dispatch run did."""

    emails_sent: int = 0
    emails_failed: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0
    retried: int = 0  # of those, sends of a delivery that had failed before
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"emails_sent": self.emails_sent, "emails_failed": self.emails_failed,
                "webhooks_sent": self.webhooks_sent, "webhooks_failed": self.webhooks_failed,
                "retried": self.retried, "notes": self.notes}

    def count(self, channel: str, sent: bool) -> None:
        kind = "emails" if channel == EMAIL else "webhooks"
        name = f"{kind}_{'sent' if sent else 'failed'}"
        setattr(self, name, getattr(self, name) + 1)


# --- channels --------------------------------------------------------------------------------


def channels(*, session: Session, actor: Actor) -> list[ChannelView]:
    """The mail channel (stored, or set by the environment) first, then the webhooks by name."""
    require(actor.role, Action.MANAGE_CHANNELS)
    rows = session.exec(select(Channel).order_by(Channel.name)).all()
    email = _email_view(next((row for row in rows if row.kind == EMAIL), None))
    return ([email] if email else []) + [_view(row) for row in rows if row.kind != EMAIL]


def set_mail(*, session: Session, actor: Actor, smtp_url: str, mail_from: str) -> ChannelView:
    """Save the mail server (its URL sealed; a blank URL keeps the stored one) and the sender;
    audited with the server's host, never the URL."""
    require(actor.role, Action.MANAGE_CHANNELS)
    sender = mail.mail_address("mail_from", mail_from)
    row = session.exec(select(Channel).where(Channel.kind == EMAIL)).first()
    before = _audited(row)
    if (smtp_url or "").strip():
        settings = mail.smtp_settings(smtp_url)
        row = row or Channel(name=EMAIL, kind=EMAIL, secret="", secret_hint="", settings={},
                             updated_by=actor.username)
        row.secret, row.secret_hint = secret_box.seal(smtp_url.strip()), _hint(settings.host)
    elif row is None:
        raise InvalidInput("smtp_url", f"enter the mail server as {mail.URL_SHAPE}")
    row.settings = {"from": sender}
    _save(session, actor, row, "channel.mail", before)
    return _email_view(row)


def add_webhook(*, session: Session, actor: Actor, name: str, kind: str, url: str,
                kinds: Sequence[str]) -> ChannelView:
    """A chat webhook (slack, teams or json) getting the notice kinds `kinds`; its URL sealed,
    shown and audited as its host."""
    require(actor.role, Action.MANAGE_CHANNELS)
    name = _channel_name(session, name)
    if kind not in WEBHOOK_FORMATS:
        raise InvalidInput("kind", f"'{kind}' is not a webhook format; use one of "
                           f"{', '.join(WEBHOOK_FORMATS)}")
    target = webhooks.webhook_url(url)
    row = Channel(name=name, kind=kind, secret=secret_box.seal(target),
                  secret_hint=_hint(webhooks.url_host(target)),
                  settings={"kinds": _kinds(kinds)}, updated_by=actor.username)
    _save(session, actor, row, "channel.add", None)
    return _view(row)


def update_webhook(*, session: Session, actor: Actor, channel_id: int,
                   active: bool | None = None, kinds: Sequence[str] | None = None,
                   url: str | None = None) -> ChannelView:
    """Turn a webhook off or on, change the notice kinds it gets, or its URL (blank: kept)."""
    require(actor.role, Action.MANAGE_CHANNELS)
    row = _webhook(session, channel_id)
    before = _audited(row)
    if active is not None:
        row.active = bool(active)
    if kinds is not None:
        row.settings = {**row.settings, "kinds": _kinds(kinds)}
    if url is not None and url.strip():
        target = webhooks.webhook_url(url)
        row.secret, row.secret_hint = (secret_box.seal(target),
                                       _hint(webhooks.url_host(target)))
    _save(session, actor, row, "channel.update", before)
    return _view(row)


def remove_channel(*, session: Session, actor: Actor, channel_id: int) -> None:
    """Delete a channel (the mail channel too). Its deliveries stay in the log; a webhook's
    posts not sent yet give up, and emails wait for a mail server."""
    require(actor.role, Action.MANAGE_CHANNELS)
    row = session.get(Channel, channel_id)
    if row is None:
        raise NotFound(f"no channel #{channel_id}")
    record(session, actor=actor.username, action="channel.remove", object_type="channel",
           object_id=row.name, before=_audited(row))
    session.delete(row)
    session.flush()


def mail_settings(session: Session) -> tuple[SmtpSettings, str] | None:
    """The mail server and the sender: HANDOFF_SMTP_URL (with HANDOFF_MAIL_FROM, else
    handoff@localhost) when set, else the stored mail channel, else None (mail is not set up).
    A HANDOFF_SMTP_URL that is not a usable SMTP URL raises InvalidInput naming it."""
    if mail.smtp_url_from_env():
        return _mail_from_env()
    row = session.exec(select(Channel).where(Channel.kind == EMAIL)).first()
    if row is None or not row.active or not row.secret:
        return None
    return mail.smtp_settings(secret_box.unseal(row.secret)), row.settings.get(
        "from") or DEFAULT_SENDER


def _mail_from_env() -> tuple[SmtpSettings, str]:
    """HANDOFF_SMTP_URL's server and HANDOFF_MAIL_FROM's sender; a refusal names the
    variable."""
    try:
        sender = mail.mail_address(mail.MAIL_FROM_ENV, mail.mail_from_env() or DEFAULT_SENDER)
        return mail.smtp_settings(mail.smtp_url_from_env() or ""), sender
    except InvalidInput as error:
        name = mail.SMTP_URL_ENV if error.field == mail.URL_FIELD else error.field
        raise InvalidInput(name, error.message) from None


def mail_ready(session: Session) -> bool:
    """Whether email can go out: a mail server is set up, and its settings can be read."""
    try:
        return mail_settings(session) is not None
    except (InvalidInput, secret_box.SecretKeyMissing):
        return False


def _email_view(row: Channel | None) -> ChannelView | None:
    """The mail channel; when HANDOFF_SMTP_URL is set, as the environment sets it (a hint
    that says what is wrong with the variable, if anything)."""
    if not mail.smtp_url_from_env():
        return _view(row) if row else None
    try:
        settings, sender = _mail_from_env()
        hint = _hint(settings.host)
    except InvalidInput as error:
        hint, sender = str(error), mail.mail_from_env() or DEFAULT_SENDER
    return ChannelView(id=row.id if row else None, name=EMAIL, kind=EMAIL, hint=hint, kinds=[],
                       active=True, from_address=sender, set_by_environment=True)


def _view(row: Channel) -> ChannelView:
    return ChannelView(id=row.id, name=row.name, kind=row.kind, hint=row.secret_hint,
                       kinds=list(row.settings.get("kinds", [])), active=row.active,
                       from_address=row.settings.get("from"))


def _audited(row: Channel | None) -> dict[str, Any] | None:
    """What the audit trail keeps of a channel: never its URL."""
    if row is None:
        return None
    return {"name": row.name, "kind": row.kind, "hint": row.secret_hint, "active": row.active,
            **row.settings}


def _save(session: Session, actor: Actor, row: Channel, action: str,
          before: dict[str, Any] | None) -> None:
    row.updated_by, row.updated_at = actor.username, utcnow()
    session.add(row)
    session.flush()
    record(session, actor=actor.username, action=action, object_type="channel",
           object_id=row.name, before=before, after=_audited(row))
    session.flush()


def _webhook(session: Session, channel_id: int) -> Channel:
    row = session.get(Channel, channel_id)
    if row is None or row.kind == EMAIL:
        raise NotFound(f"no webhook channel #{channel_id}")
    return row


def _channel_name(session: Session, name: str) -> str:
    text = bounded_text("name", name, "name the channel (e.g. Sales on Slack)",
                        limit=NAME_MAX_CHARS)
    if CONTROL_CHARACTERS.search(text):
        raise InvalidInput("name", "a channel's name is one line of text")
    if text.lower() == EMAIL:
        raise InvalidInput("name", "'email' is the mail channel's name; choose another")
    if session.exec(select(Channel.id).where(Channel.name == text)).first() is not None:
        raise InvalidInput("name", f"a channel named '{text}' exists already")
    return text


def _kinds(kinds: Sequence[str]) -> list[str]:
    if isinstance(kinds, str):
        kinds = [kinds]
    chosen = [_notice_kind("kinds", kind) for kind in dict.fromkeys(kinds or [])]
    if not chosen:
        raise InvalidInput("kinds", "choose the kinds of notice the channel gets")
    return [kind for kind in WEBHOOK_KINDS if kind in chosen]


def _notice_kind(field_name: str, kind: str) -> str:
    if kind not in WEBHOOK_KINDS:
        raise InvalidInput(field_name, f"'{kind}' is not a kind of notice; use "
                           f"{', '.join(WEBHOOK_KINDS)}")
    return kind


def _hint(host: str) -> str:
    return host[:HINT_MAX_CHARS]


# --- webhooks: queued by the alert engine ---------------------------------------------------


def post_to_channels(session: Session, kind: str, title: str, items: list[Item], cause: str,
                     *, now: datetime | None = None) -> list[int]:
    """Queue one post of `items` on every active webhook that gets notices of `kind`, for the
    next dispatch to send; the ids of the deliveries. The alert engine calls it once per pass
    and kind, so a channel gets one post per pass, not one per lead."""
    _notice_kind("kind", kind)
    if not items:
        return []
    at = now or utcnow()
    targets = session.exec(select(Channel).where(
        Channel.active, col(Channel.kind).in_(WEBHOOK_FORMATS)).order_by(Channel.id)).all()
    queued = []
    for channel in targets:
        if kind not in channel.settings.get("kinds", []):
            continue
        body = webhooks.payload(channel.kind, title, items, notice=kind)
        delivery = Delivery(channel=channel.name, recipient=channel.secret_hint,
                            subject=one_line(title, SUBJECT_MAX_CHARS),
                            body=json.dumps(body, ensure_ascii=False),
                            cause=one_line(cause, CAUSE_MAX_CHARS), state="pending",
                            next_attempt_at=at, created_at=at, history=[])
        session.add(delivery)
        session.flush()
        queued.append(delivery.id)
    return queued


# --- dispatch --------------------------------------------------------------------------------


class _Taken(Exception):
    """Another worker claimed these notices first: this claim rolls back."""


class _RunClock:
    """The run's "now" as it goes on: the instant dispatch was given, plus the time spent."""

    def __init__(self, now: datetime):
        self.start, self.started = now, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.started)


def dispatch(sessions: Sessions, now: datetime) -> DispatchResult:
    """One run: the deliveries due (queued webhook posts, retries, sends a killed worker left),
    then one email per person whose pending notices have waited BATCH_SECONDS; at most
    DISPATCH_MAX in all, the rest next run."""
    result, run = DispatchResult(), _RunClock(now)
    with sessions() as session:
        mailer = _mailer(session, result)
    budget = DISPATCH_MAX
    with_email = mailer is not None and mailer.ready
    for due in _due_deliveries(sessions, now, budget, with_email=with_email):
        budget -= 1
        _send_again(sessions, due, run, mailer, result)
    if mailer is None:
        return result  # mail is misconfigured: the notices wait for it to be mended
    for username in _people_due(sessions, now, budget):
        _send_batch(sessions, username, run, mailer, result)
    return result


@dataclass(frozen=True)
class _Mailer:
    """The mail server and sender of one run."""

    settings: SmtpSettings | None  # None: mail is not set up (notices get no email)
    sender: str

    @property
    def ready(self) -> bool:
        return self.settings is not None

    def send(self, to: str, subject: str, text: str) -> None:
        mail.send_mail(self.settings, self.sender, to, subject, text)


def _mailer(session: Session, result: DispatchResult) -> _Mailer | None:
    """The mail server for this run (not ready when mail is not set up: the notices get no
    email); None when its settings cannot be read (emails wait, and the result says why)."""
    try:
        found = mail_settings(session)
    except (InvalidInput, secret_box.SecretKeyMissing) as error:
        result.notes.append(f"no email sent: {error}")
        return None
    return _Mailer(*found) if found else _Mailer(None, DEFAULT_SENDER)


def _due_deliveries(sessions: Sessions, now: datetime, limit: int, *,
                    with_email: bool) -> list[Delivery]:
    if limit <= 0:
        return []
    query = select(Delivery).where(col(Delivery.state).in_(("pending", "failed", "sending")),
                                   Delivery.next_attempt_at <= now)
    if not with_email:
        query = query.where(Delivery.channel != EMAIL)
    with sessions() as session:
        due = list(session.exec(query.order_by(Delivery.next_attempt_at, Delivery.id)
                                .limit(limit)).all())
        session.expunge_all()  # kept as read: what each claim is conditional on
        return due


def _send_again(sessions: Sessions, due: Delivery, run: _RunClock, mailer: _Mailer | None,
                result: DispatchResult) -> None:
    """Claim a due delivery, send its stored message, and record how it went."""
    with sessions() as session:
        attempts = _claim(session, due, run.now())
        if attempts is None:
            return
        send = (_email_sender(due, mailer) if due.channel == EMAIL
                else _webhook_sender(session, due))
    if due.attempts or due.state == "sending":
        result.retried += 1
    _attempt(sessions, due.id, attempts, send, run, result, due.channel)


def _claim(session: Session, due: Delivery, now: datetime) -> int | None:
    """Move the delivery to sending, on the condition that nobody moved it since it was read;
    its attempts so far, or None when another worker has it (or a stale send gave up)."""
    stale = due.state == "sending"
    attempts = due.attempts + (1 if stale else 0)
    state = "gave_up" if stale and attempts >= MAX_ATTEMPTS else "sending"
    lease = now + timedelta(seconds=SENDING_LEASE_SECONDS) if state == "sending" else None
    claimed = session.execute(
        update(Delivery).where(Delivery.id == due.id, Delivery.state == due.state,
                               Delivery.attempts == due.attempts,
                               Delivery.next_attempt_at <= now)
        .values(state=state, attempts=attempts, next_attempt_at=lease,
                **({"last_error": STALE_ERROR} if stale else {}))
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return None
    if stale:
        _append_history(session, due.id, now, "gave_up" if state == "gave_up" else "failed",
                        STALE_ERROR)
    return attempts if state == "sending" else None


def _email_sender(due: Delivery, mailer: _Mailer) -> Callable[[], None]:
    return lambda: mailer.send(due.recipient, due.subject, due.body)


def _webhook_sender(session: Session, due: Delivery) -> Callable[[], None]:
    """The post of the stored body to the channel's URL; a channel removed or paused
    since makes the delivery give up."""
    channel = session.exec(select(Channel).where(Channel.name == due.channel)).first()
    if channel is None or channel.kind == EMAIL:
        return _refused(f"the channel '{due.channel}' was removed")
    if not channel.active:
        return _refused(f"the channel '{due.channel}' is paused")
    secret = channel.secret
    return lambda: webhooks.post(secret_box.unseal(secret), json.loads(due.body))


def _refused(why: str) -> Callable[[], None]:
    def send() -> None:
        raise ValueError(why)
    return send


def _attempt(sessions: Sessions, delivery_id: int, attempts: int, send: Callable[[], None],
             run: _RunClock, result: DispatchResult, channel: str) -> None:
    """Send (outside any transaction), then record the attempt: sent; failed, to be tried
    again after RETRY_SECONDS·2^(attempt−1); or gave_up after MAX_ATTEMPTS, or at once when
    nothing can mend it (a ValueError: a refused header, a channel removed)."""
    permanent = False
    try:
        send()
        error = None
    except SendFailed as failure:
        error = str(failure)
    except ValueError as failure:
        error, permanent = str(failure), True
    except Exception as failure:  # a fault of ours or a library's: recorded, tried again
        error = f"{type(failure).__name__}: {failure}"
    now = run.now()
    tried = attempts + 1
    if error is None:
        state, next_at = "sent", None
    elif permanent or tried >= MAX_ATTEMPTS:
        state, next_at = "gave_up", None
    else:
        state, next_at = "failed", now + timedelta(seconds=retry_seconds() * 2 ** (tried - 1))
    error = error[:ERROR_MAX_CHARS] if error else None
    with sessions() as session:
        recorded = session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.state == "sending",
                                   Delivery.attempts == attempts)
            .values(state=state, attempts=tried, next_attempt_at=next_at, last_error=error,
                    sent_at=now if state == "sent" else None)
            .execution_options(synchronize_session=False)).rowcount
        if recorded == 1:  # else: its lease ran out and another worker took it over
            _append_history(session, delivery_id, now, state, error)
    result.count(channel, sent=state == "sent")


def _append_history(session: Session, delivery_id: int, at: datetime, state: str,
                    error: str | None) -> None:
    """One attempt more in the delivery's history (the caller's UPDATE holds the row)."""
    row = session.get(Delivery, delivery_id, populate_existing=True)
    row.history = [*row.history, {"at": at.isoformat(), "state": state, "error": error}]
    session.add(row)


# --- the emails of notices -------------------------------------------------------------------


def _people_due(sessions: Sessions, now: datetime, limit: int) -> list[str]:
    """The people whose oldest pending notice has waited BATCH_SECONDS, oldest first."""
    if limit <= 0:
        return []
    oldest = func.min(Notification.created_at)
    with sessions() as session:
        return list(session.exec(
            select(Notification.username)
            .where(Notification.email_state == "pending", Notification.deliver_after <= now)
            .group_by(Notification.username)
            .having(oldest <= now - timedelta(seconds=batch_seconds()))
            .order_by(oldest, Notification.username).limit(limit)).all())


def _send_batch(sessions: Sessions, username: str, run: _RunClock, mailer: _Mailer,
                result: DispatchResult) -> None:
    """One email of a person's pending notices: claimed with them, then sent and recorded.
    Without an address (or an active account, or a mail server) they get no email."""
    now = run.start
    with sessions() as session:
        notices = list(session.exec(
            select(Notification)
            .where(Notification.username == username, Notification.email_state == "pending",
                   Notification.deliver_after <= now)
            .order_by(Notification.created_at, Notification.id)
            .limit(NOTICES_PER_EMAIL_MAX)).all())
        user = session.exec(select(User).where(User.username == username)).first()
        ids = [notice.id for notice in notices]
        address = _address(user) if mailer.ready else None
        if ids and address:
            subject, text, cause = notice_email(user.display_name, notices, app_url())
        elif ids:
            _mark(session, ids, state="none")
    if not ids or not address:
        return
    try:
        with sessions() as session:
            delivery = Delivery(channel=EMAIL, recipient=address, username=username,
                                subject=subject, body=text, cause=cause, state="sending",
                                next_attempt_at=now + timedelta(seconds=SENDING_LEASE_SECONDS),
                                created_at=now, history=[])
            session.add(delivery)
            session.flush()
            if _mark(session, ids, state="sent", delivery_id=delivery.id) != len(ids):
                raise _Taken
            delivery_id = delivery.id
    except (_Taken, OperationalError):  # another worker has them (or a deadlock, a database
        return                            # busy past its timeout: the next run tries again)
    _attempt(sessions, delivery_id, 0, lambda: mailer.send(address, subject, text), run,
             result, EMAIL)


def _mark(session: Session, ids: list[int], *, state: str, delivery_id: int | None = None
          ) -> int:
    """Move the notices from pending to `state`; how many were still pending."""
    values: dict[str, Any] = {"email_state": state}
    if delivery_id is not None:
        values["delivery_id"] = delivery_id
    return session.execute(
        update(Notification)
        .where(col(Notification.id).in_(ids), Notification.email_state == "pending")
        .values(**values).execution_options(synchronize_session=False)).rowcount


def _address(user: User | None) -> str | None:
    """The active person's email address, when it is one a message can go to."""
    if user is None or not user.active or not (user.email or "").strip():
        return None
    try:
        return mail.mail_address("email", user.email)
    except InvalidInput:
        return None


def notice_email(display_name: str, notices: Sequence[Notification], base_url: str
                 ) -> tuple[str, str, str]:
    """The subject, the text and the cause of one email of notices: urgent ones first, then
    oldest first; at most NOTICES_LISTED_MAX listed, each with its absolute link."""
    ordered = sorted(notices, key=lambda notice: (not notice.urgent, notice.created_at,
                                                  notice.id))
    count, first = len(ordered), one_line(ordered[0].title, SUBJECT_MAX_CHARS)
    if count == 1:
        subject = one_line(f"Handoff: {first}", SUBJECT_MAX_CHARS)
    else:
        head, tail = f"Handoff: {count:,} alerts — ", f", and {count - 1:,} more"
        subject = head + one_line(first, SUBJECT_MAX_CHARS - len(head) - len(tail)) + tail
    lines = [f"Hello {one_line(display_name, 120)},", "",
             f"{count:,} alerts from Handoff:" if count > 1 else "An alert from Handoff:", ""]
    for number, notice in enumerate(ordered[:NOTICES_LISTED_MAX], start=1):
        urgent = "URGENT: " if notice.urgent else ""
        lines.append(f"{number}. {urgent}{one_line(notice.title, SUBJECT_MAX_CHARS)}")
        body = (notice.body or "").strip()[:NOTICE_BODY_MAX_CHARS]
        lines += [f"   {line}".rstrip() for line in body.splitlines()]
        if notice.link:
            lines.append(f"   {absolute_link(base_url, notice.link)}")
        lines.append("")
    if count > NOTICES_LISTED_MAX:
        lines += [f"… and {count - NOTICES_LISTED_MAX:,} more: every notice is in Handoff, "
                  f"{base_url}", ""]
    lines += ["-- ",
              "You get this email because your notification preferences in Handoff send",
              "these notices by email. To change which notices reach you by email, and",
              f"when: {absolute_link(base_url, NOTIFICATIONS_PAGE)}"]
    return subject, "\n".join(lines) + "\n", _cause(ordered)


def _cause(notices: Iterable[Notification]) -> str:
    """The notices' causes, or "N notices" when they do not fit the log's column."""
    notices = list(notices)
    causes = ", ".join(dict.fromkeys(notice.cause for notice in notices))
    return causes if len(causes) <= CAUSE_MAX_CHARS else f"{len(notices):,} notices"


def absolute_link(base_url: str, link: str) -> str:
    """A notice's link (a page of the app, "/lead?lead=7") under the app's address."""
    if link.startswith(("http://", "https://")):
        return link
    return f"{base_url.rstrip('/')}/{link.lstrip('/')}"


def app_url() -> str:
    """Where people open the app (HANDOFF_APP_URL), for the links in emails."""
    return os.environ.get(APP_URL_ENV, "").strip() or DEFAULT_APP_URL


def batch_seconds() -> int:
    """How long a person's first pending notice waits for others to join its email."""
    return _env_seconds(BATCH_SECONDS_ENV, BATCH_SECONDS)


def retry_seconds() -> int:
    """The wait after a first failed send; it doubles after each further one."""
    return _env_seconds(RETRY_SECONDS_ENV, RETRY_SECONDS)


def _env_seconds(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name}={raw!r} is not a whole number of seconds")
    return int(raw)


# --- the log ---------------------------------------------------------------------------------


def delivery_log(*, session: Session, actor: Actor, state: str | None = None,
                 channel: str | None = None, limit: int = 200) -> list[DeliveryView]:
    """The deliveries newest first, of one state or one channel when asked."""
    require(actor.role, Action.MANAGE_CHANNELS)
    if state is not None and state not in STATES:
        raise InvalidInput("state", f"'{state}' is not a delivery state; use "
                           f"{', '.join(STATES)}")
    if not 1 <= limit <= LOG_MAX:
        raise InvalidInput("limit", f"show 1 to {LOG_MAX:,} deliveries")
    query = select(Delivery)
    if state is not None:
        query = query.where(Delivery.state == state)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    rows = session.exec(query.order_by(col(Delivery.created_at).desc(),
                                       col(Delivery.id).desc()).limit(limit)).all()
    return [DeliveryView(id=row.id, created_at=row.created_at, channel=row.channel,
                         recipient=row.recipient, username=row.username, subject=row.subject,
                         cause=row.cause, state=row.state, attempts=row.attempts,
                         last_error=row.last_error, sent_at=row.sent_at,
                         next_attempt_at=row.next_attempt_at, history=list(row.history))
            for row in rows]
