"""Notices leaving the app for real: emails to a local SMTP server (tests/smtp_server.py) and
posts to a local webhook (pytest_httpserver), batched per person, claimed so that two workers
never send one twice, retried with backoff, and kept in the delivery log; the channels an admin
sets up, their URLs sealed and never shown."""

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlmodel import select

from core import secret_box
from core.errors import InvalidInput
from core.notify import mail
from core.notify.webhooks import Item
from core.permissions import PermissionDenied, Role
from core.services import deliveries
from db.engine import session_scope
from db.models import AuditEvent, Channel, Delivery, Notification, User
from tests.service.conftest import BY_ROLE, add_people
from tests.smtp_server import SmtpServer

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
APP = "https://handoff.example.com"
SENDER = "Handoff <alerts@example.com>"
RETRY = 30
HOOK_SECRET = "T0000/B0000/XXXXsecretXXXX"


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    monkeypatch.setenv("HANDOFF_SECRET_KEY", secret_box.new_key())
    monkeypatch.setenv(deliveries.APP_URL_ENV, APP)
    monkeypatch.setenv(deliveries.BATCH_SECONDS_ENV, "120")
    monkeypatch.setenv(deliveries.RETRY_SECONDS_ENV, str(RETRY))
    for name in (mail.SMTP_URL_ENV, mail.MAIL_FROM_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


class Workspace:
    """The test's database as dispatch sees it (a unit of work per call), its people, and the
    notices and channels a test sets up."""

    def __init__(self, engine):
        self.engine = engine
        with self.session() as session:
            self.people = add_people(session)
        self.admin = self.people["root"]

    def session(self):
        return session_scope(self.engine)

    def dispatch(self, at: datetime) -> deliveries.DispatchResult:
        return deliveries.dispatch(self.session, at)

    def set_mail(self, url: str) -> None:
        with self.session() as session:
            deliveries.set_mail(session=session, actor=self.admin, smtp_url=url,
                                mail_from=SENDER)

    def notices(self, username: str, *offsets: int, at: datetime = T0, **fields) -> list[int]:
        """Pending notices for `username`, made `offsets` seconds after `at`."""
        with self.session() as session:
            rows = [Notification(username=username, kind="at_risk", cause="escalation warn-owner",
                                 title=f"D-{number:06d} first touch at risk",
                                 body=f"First touch due in {number} minutes.",
                                 link=f"/lead?lead={number}", email_state="pending",
                                 created_at=at + timedelta(seconds=offset),
                                 deliver_after=at + timedelta(seconds=offset), **fields)
                    for number, offset in enumerate(offsets, start=1)]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def log(self, **filters) -> list[deliveries.DeliveryView]:
        with self.session() as session:
            return deliveries.delivery_log(session=session, actor=self.admin, **filters)

    def email_states(self, ids: list[int]) -> list[tuple[str, int | None]]:
        with self.session() as session:
            return [(row.email_state, row.delivery_id) for row in session.exec(
                select(Notification).where(Notification.id.in_(ids))
                .order_by(Notification.id)).all()]


@pytest.fixture
def workspace(engine) -> Workspace:
    return Workspace(engine)


def bodies(server: SmtpServer) -> list[str]:
    return [received.message.get_body(("plain",)).get_content() for received in server.messages]


# --- batching -----------------------------------------------------------------------------------


def test_five_notices_within_two_minutes_go_out_as_one_email(workspace, smtp):
    workspace.set_mail(smtp.url)
    ids = workspace.notices("ana", 0, 20, 40, 60, 100)
    assert workspace.dispatch(T0 + timedelta(seconds=119)).emails_sent == 0
    assert smtp.messages == []
    result = workspace.dispatch(T0 + timedelta(seconds=121))
    assert result.as_json() == {"emails_sent": 1, "emails_failed": 0, "webhooks_sent": 0,
                                "webhooks_failed": 0, "retried": 0, "notes": []}
    [received] = smtp.messages
    message = received.message
    assert (received.mail_from, received.rcpt_tos) == ("alerts@example.com",
                                                       ("ana@example.com",))
    assert message["From"] == SENDER and message["To"] == "ana@example.com"
    assert message["Subject"] == "Handoff: 5 alerts — D-000001 first touch at risk, and 4 more"
    text = message.get_body(("plain",)).get_content()
    for number in range(1, 6):
        assert f"{number}. D-{number:06d} first touch at risk" in text
        assert f"First touch due in {number} minutes." in text
        assert f"{APP}/lead?lead={number}\n" in text
    assert text.startswith("Hello Ana,\n")
    assert f"when: {APP}/notifications" in text  # where she changes what reaches her
    [logged] = workspace.log()
    assert (logged.channel, logged.recipient, logged.username, logged.state, logged.attempts,
            logged.cause, logged.subject) == (
        "email", "ana@example.com", "ana", "sent", 1, "escalation warn-owner",
        message["Subject"])
    assert workspace.email_states(ids) == [("sent", logged.id)] * 5
    assert workspace.dispatch(T0 + timedelta(minutes=10)).emails_sent == 0
    assert len(smtp.messages) == 1


def test_one_notice_is_its_own_subject_and_urgent_ones_come_first(workspace, smtp):
    workspace.set_mail(smtp.url)
    workspace.notices("ana", 0)
    workspace.notices("ben", 0, 10)
    with workspace.session() as session:
        session.add(Notification(username="ben", kind="breached", title="D-000099 breached",
                                 cause="escalation breach", urgent=True, email_state="pending",
                                 created_at=T0 + timedelta(seconds=30),
                                 deliver_after=T0 + timedelta(seconds=30)))
    assert workspace.dispatch(T0 + timedelta(minutes=3)).emails_sent == 2
    subjects = {received.rcpt_tos[0]: received.message["Subject"] for received in smtp.messages}
    assert subjects == {
        "ana@example.com": "Handoff: D-000001 first touch at risk",
        "ben@example.com": "Handoff: 3 alerts — D-000099 breached, and 2 more"}
    [ben] = [view for view in workspace.log() if view.username == "ben"]
    assert ben.cause == "escalation breach, escalation warn-owner"
    [text] = [body for body in bodies(smtp) if "D-000099" in body]
    assert "1. URGENT: D-000099 breached" in text


def test_a_notice_waits_for_its_deliver_after(workspace, smtp):
    workspace.set_mail(smtp.url)
    ids = workspace.notices("ana", 0)
    with workspace.session() as session:
        row = session.get(Notification, ids[0])
        row.deliver_after = T0 + timedelta(hours=15)  # tomorrow's working hours
        session.add(row)
    assert workspace.dispatch(T0 + timedelta(hours=1)).emails_sent == 0
    assert workspace.dispatch(T0 + timedelta(hours=15)).emails_sent == 1


def test_sixty_notices_list_fifty_and_count_the_rest(workspace, smtp):
    workspace.set_mail(smtp.url)
    workspace.notices("ana", *range(60))
    workspace.dispatch(T0 + timedelta(minutes=5))
    [received] = smtp.messages
    assert received.message["Subject"] == (
        "Handoff: 60 alerts — D-000001 first touch at risk, and 59 more")
    text = received.message.get_body(("plain",)).get_content()
    assert "50. D-000050" in text and "51. D-000051" not in text
    assert f"… and 10 more: every notice is in Handoff, {APP}" in text
    assert workspace.log()[0].cause == "escalation warn-owner"


def test_nobody_to_write_to_means_no_email(workspace, smtp):
    workspace.set_mail(smtp.url)
    with workspace.session() as session:
        user = session.exec(select(User).where(User.username == "ben")).one()
        user.active = False
        session.add(user)
    ghost = workspace.notices("ghost", 0)
    ben = workspace.notices("ben", 0)
    workspace.dispatch(T0 + timedelta(minutes=5))
    assert smtp.messages == [] and workspace.log() == []
    assert workspace.email_states(ghost + ben) == [("none", None)] * 2


def test_without_a_mail_server_notices_get_no_email(workspace):
    ids = workspace.notices("ana", 0)
    with workspace.session() as session:
        assert deliveries.mail_ready(session) is False
    workspace.dispatch(T0 + timedelta(minutes=5))
    assert workspace.email_states(ids) == [("none", None)]


def test_a_run_is_capped_and_the_rest_go_next_run(workspace, smtp, monkeypatch):
    monkeypatch.setattr(deliveries, "DISPATCH_MAX", 2)
    workspace.set_mail(smtp.url)
    for username in ("ana", "ben", "mia"):
        workspace.notices(username, 0)
    assert workspace.dispatch(T0 + timedelta(minutes=5)).emails_sent == 2
    assert workspace.dispatch(T0 + timedelta(minutes=6)).emails_sent == 1
    assert sorted(received.rcpt_tos[0] for received in smtp.messages) == [
        "ana@example.com", "ben@example.com", "mia@example.com"]


# --- two workers at once -------------------------------------------------------------------------

RACES = 5


def at_once(*calls: Callable[[], object]) -> list:
    """Each call on its own thread, released together; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_two_workers_dispatching_at_once_send_each_email_once(concurrent_engine, smtp):
    workspace = Workspace(concurrent_engine)
    workspace.set_mail(smtp.url)
    for race in range(RACES):
        start = T0 + timedelta(hours=race)
        workspace.notices("ana", 0, 10, 20, at=start)
        workspace.notices("ben", 0, 10, at=start)
        now = start + timedelta(minutes=3)
        results = at_once(*[partial(workspace.dispatch, now)] * 2)
        assert sum(result.emails_sent for result in results) == 2
        assert len(smtp.messages) == 2 * (race + 1)
    recipients = sorted(received.rcpt_tos[0] for received in smtp.messages)
    assert recipients == ["ana@example.com"] * RACES + ["ben@example.com"] * RACES
    with workspace.session() as session:
        pending = session.exec(select(Notification).where(
            Notification.email_state != "sent")).all()
        emails = session.exec(select(Delivery)).all()
    assert pending == [] and len(emails) == 2 * RACES
    assert {email.state for email in emails} == {"sent"}


# --- failures and retries ------------------------------------------------------------------------


def test_a_failed_smtp_send_is_retried_and_the_log_shows_failed_then_sent(workspace, smtp):
    workspace.set_mail(smtp.url)
    workspace.notices("ana", 0, 30)
    smtp.fail_next(1, "451 4.3.0 Mailbox busy, try again later")
    first = T0 + timedelta(minutes=3)
    assert workspace.dispatch(first).emails_failed == 1
    assert smtp.messages == []
    [failed] = workspace.log(state="failed")
    assert failed.last_error == "SMTP 451 from 127.0.0.1: 4.3.0 Mailbox busy, try again later"
    assert failed.attempts == 1 and failed.sent_at is None
    assert first + timedelta(seconds=RETRY) <= failed.next_attempt_at < first + timedelta(
        seconds=RETRY + 20)
    assert workspace.dispatch(first + timedelta(seconds=10)).as_json()["retried"] == 0
    again = workspace.dispatch(first + timedelta(minutes=2))
    assert (again.emails_sent, again.retried) == (1, 1)
    [received] = smtp.messages
    assert received.message["Subject"] == failed.subject
    [sent] = workspace.log()
    assert (sent.id, sent.state, sent.attempts, sent.last_error) == (failed.id, "sent", 2, None)
    assert [(step["state"], step["error"]) for step in sent.history] == [
        ("failed", failed.last_error), ("sent", None)]
    assert workspace.log(state="failed") == []


def test_retries_back_off_and_give_up_after_six_attempts(workspace, smtp):
    workspace.set_mail(smtp.url)
    workspace.notices("ana", 0)
    smtp.fail_next(deliveries.MAX_ATTEMPTS, "421 4.7.0 Too many connections")
    at = T0 + timedelta(minutes=3)
    waits = []
    for _ in range(deliveries.MAX_ATTEMPTS):
        workspace.dispatch(at)
        [view] = workspace.log()
        if view.next_attempt_at is None:
            break
        waits.append(round((view.next_attempt_at - at).total_seconds() / RETRY))
        at = view.next_attempt_at
    assert waits == [1, 2, 4, 8, 16]
    assert (view.state, view.attempts) == ("gave_up", deliveries.MAX_ATTEMPTS)
    assert [step["state"] for step in view.history] == ["failed"] * 5 + ["gave_up"]
    assert workspace.dispatch(at + timedelta(days=1)).emails_sent == 0
    assert smtp.messages == []


def test_a_send_a_killed_worker_left_is_sent_again_after_its_lease(workspace, smtp):
    workspace.set_mail(smtp.url)
    with workspace.session() as session:
        session.add(Delivery(channel="email", recipient="ana@example.com", username="ana",
                             subject="Handoff: D-000001 first touch at risk", body="text\n",
                             cause="escalation warn-owner", state="sending", attempts=0,
                             next_attempt_at=T0 + timedelta(minutes=10), created_at=T0,
                             history=[]))
    assert workspace.dispatch(T0 + timedelta(minutes=9)).emails_sent == 0  # may still be sending
    result = workspace.dispatch(T0 + timedelta(minutes=10))
    assert (result.emails_sent, result.retried) == (1, 1)
    [view] = workspace.log()
    assert (view.state, view.attempts) == ("sent", 2)
    assert [(step["state"], step["error"]) for step in view.history] == [
        ("failed", deliveries.STALE_ERROR), ("sent", None)]
    assert len(smtp.messages) == 1


# --- webhooks ------------------------------------------------------------------------------------


def add_webhook(workspace: Workspace, name: str, kind: str, url: str,
                kinds: list[str]) -> deliveries.ChannelView:
    with workspace.session() as session:
        return deliveries.add_webhook(session=session, actor=workspace.admin, name=name,
                                      kind=kind, url=url, kinds=kinds)


def post_breaches(workspace: Workspace) -> list[int]:
    items = [Item("D-000001 breached first touch", f"{APP}/lead?lead=1"),
             Item("D-000002 breached first touch <late>", f"{APP}/lead?lead=2")]
    with workspace.session() as session:
        return deliveries.post_to_channels(session, "breached", "2 leads breached first touch",
                                           items, "escalation breach-heads", now=T0)


def test_each_subscribed_webhook_gets_one_post_per_pass(workspace, httpserver):
    for path in ("/slack", "/json"):
        httpserver.expect_request(f"{path}/{HOOK_SECRET}", method="POST").respond_with_data("ok")
    add_webhook(workspace, "Sales on Slack", "slack",
                httpserver.url_for(f"/slack/{HOOK_SECRET}"), ["breached", "at_risk"])
    add_webhook(workspace, "Ops JSON", "json", httpserver.url_for(f"/json/{HOOK_SECRET}"),
                ["breached"])
    add_webhook(workspace, "Teams at risk", "teams", httpserver.url_for("/teams"), ["at_risk"])
    off = add_webhook(workspace, "Old Slack", "slack", httpserver.url_for("/old"), ["breached"])
    with workspace.session() as session:
        deliveries.update_webhook(session=session, actor=workspace.admin, channel_id=off.id,
                                  active=False)
    assert len(post_breaches(workspace)) == 2
    result = workspace.dispatch(T0 + timedelta(seconds=1))
    assert (result.webhooks_sent, result.webhooks_failed) == (2, 0)
    posted = {request.path.split("/")[1]: request.get_json() for request, _ in httpserver.log}
    assert set(posted) == {"slack", "json"}
    slack = posted["slack"]
    assert slack["text"] == "2 leads breached first touch"
    assert [block["text"]["text"] for block in slack["blocks"]] == [
        "*2 leads breached first touch*",
        f"<{APP}/lead?lead=1|D-000001 breached first touch>",
        f"<{APP}/lead?lead=2|D-000002 breached first touch &lt;late&gt;>"]
    assert posted["json"] == {"title": "2 leads breached first touch", "kind": "breached",
                              "more": 0, "items": [
                                  {"text": "D-000001 breached first touch",
                                   "link": f"{APP}/lead?lead=1"},
                                  {"text": "D-000002 breached first touch <late>",
                                   "link": f"{APP}/lead?lead=2"}]}
    assert workspace.dispatch(T0 + timedelta(minutes=5)).webhooks_sent == 0
    assert len(httpserver.log) == 2
    logged = {view.channel: view for view in workspace.log()}
    assert set(logged) == {"Sales on Slack", "Ops JSON"}
    assert {view.recipient for view in logged.values()} == {"localhost"}
    assert {(view.state, view.cause) for view in logged.values()} == {
        ("sent", "escalation breach-heads")}
    httpserver.check_assertions()


def test_a_webhook_answering_500_is_retried_until_sent(workspace, httpserver):
    path = f"/json/{HOOK_SECRET}"
    httpserver.expect_oneshot_request(path).respond_with_data("upstream is down", status=500)
    httpserver.expect_request(path).respond_with_data("ok")
    add_webhook(workspace, "Ops JSON", "json", httpserver.url_for(path), ["breached"])
    post_breaches(workspace)
    assert workspace.dispatch(T0 + timedelta(seconds=1)).webhooks_failed == 1
    [failed] = workspace.log()
    assert (failed.state, failed.last_error) == ("failed", "HTTP 500: upstream is down")
    result = workspace.dispatch(T0 + timedelta(minutes=2))
    assert (result.webhooks_sent, result.retried) == (1, 1)
    [sent] = workspace.log()
    assert [step["state"] for step in sent.history] == ["failed", "sent"]
    first, second = (request.get_json() for request, _ in httpserver.log)
    assert first == second and first["kind"] == "breached"


def test_a_post_for_a_removed_channel_gives_up(workspace, httpserver):
    channel = add_webhook(workspace, "Ops JSON", "json", httpserver.url_for("/x"), ["breached"])
    post_breaches(workspace)
    with workspace.session() as session:
        deliveries.remove_channel(session=session, actor=workspace.admin,
                                  channel_id=channel.id)
    workspace.dispatch(T0 + timedelta(seconds=1))
    [view] = workspace.log()
    assert (view.state, view.last_error) == ("gave_up", "the channel 'Ops JSON' was removed")
    assert httpserver.log == []


# --- channels and the environment -----------------------------------------------------------------


def test_the_environment_wins_over_the_stored_mail_channel(workspace, smtp, monkeypatch):
    workspace.set_mail("smtp://u:stored-password@mail.invalid:25")
    monkeypatch.setenv(mail.SMTP_URL_ENV, smtp.url)
    with workspace.session() as session:
        [view] = deliveries.channels(session=session, actor=workspace.admin)
        settings, sender = deliveries.mail_settings(session)
    assert (view.kind, view.hint, view.from_address, view.set_by_environment) == (
        "email", "127.0.0.1", "handoff@localhost", True)
    assert (settings.port, sender) == (smtp.port, "handoff@localhost")
    workspace.notices("ana", 0)
    assert workspace.dispatch(T0 + timedelta(minutes=5)).emails_sent == 1
    assert smtp.messages[0].message["From"] == "handoff@localhost"


def test_a_broken_environment_keeps_the_notices_waiting(workspace, monkeypatch):
    monkeypatch.setenv(mail.SMTP_URL_ENV, "smtp://u:env-password@mail.example.com:99999")
    ids = workspace.notices("ana", 0)
    with workspace.session() as session:
        assert deliveries.mail_ready(session) is False
        [view] = deliveries.channels(session=session, actor=workspace.admin)
    assert view.hint.startswith("HANDOFF_SMTP_URL: ") and "env-password" not in view.hint
    result = workspace.dispatch(T0 + timedelta(minutes=5))
    assert result.notes[0].startswith("no email sent: HANDOFF_SMTP_URL: ")
    assert workspace.email_states(ids) == [("pending", None)]


def test_channel_urls_are_sealed_hinted_and_never_shown_or_audited(session, people):
    admin = people[BY_ROLE[Role.ADMIN]]
    password, hook = "mail-pa55word", f"https://hooks.slack.com/services/{HOOK_SECRET}"
    deliveries.set_mail(session=session, actor=admin, mail_from=SENDER,
                        smtp_url=f"smtp://ops:{password}@smtp.example.com?starttls=1")
    slack = deliveries.add_webhook(session=session, actor=admin, name="Sales on Slack",
                                   kind="slack", url=hook, kinds=["breached", "at_risk"])
    deliveries.update_webhook(session=session, actor=admin, channel_id=slack.id,
                              kinds=["breached"], url="")
    again = deliveries.set_mail(session=session, actor=admin, smtp_url="  ",
                                mail_from="alerts@example.com")
    views = deliveries.channels(session=session, actor=admin)
    assert [(view.name, view.kind, view.hint, view.kinds, view.from_address) for view in views] == [
        ("email", "email", "smtp.example.com", [], "alerts@example.com"),
        ("Sales on Slack", "slack", "hooks.slack.com", ["breached"], None)]
    assert again.hint == "smtp.example.com"
    settings, sender = deliveries.mail_settings(session)
    assert (settings.password, settings.security, sender) == (password, "starttls",
                                                              "alerts@example.com")
    stored = " ".join(f"{row.secret} {row.secret_hint} {row.settings}"
                      for row in session.exec(select(Channel)).all())
    events = " ".join(f"{event.before} {event.after}" for event in session.exec(
        select(AuditEvent).where(AuditEvent.object_type == "channel")).all())
    assert {"channel.mail", "channel.add", "channel.update"} <= {
        event.action for event in session.exec(select(AuditEvent)).all()}
    for secret in (password, HOOK_SECRET):
        assert secret not in str(views) and secret not in stored and secret not in events
    deliveries.remove_channel(session=session, actor=admin, channel_id=slack.id)
    assert [view.name for view in deliveries.channels(session=session, actor=admin)] == [
        "email"]


@pytest.mark.parametrize(("change", "field_name"), [
    ({"name": " "}, "name"),
    ({"name": "email"}, "name"),
    ({"name": "Sales on Slack"}, "name"),
    ({"kind": "discord"}, "kind"),
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({"kinds": []}, "kinds"),
    ({"kinds": ["breached", "everything"]}, "kinds"),
])
def test_a_bad_webhook_is_refused_by_its_field(session, people, change, field_name):
    admin = people[BY_ROLE[Role.ADMIN]]
    good = {"name": "Sales on Slack", "kind": "slack",
            "url": "https://hooks.slack.com/services/x", "kinds": ["breached"]}
    deliveries.add_webhook(session=session, actor=admin, **good)
    with pytest.raises(InvalidInput) as refused:
        deliveries.add_webhook(session=session, actor=admin, **{**good, "name": "Other",
                                                                 **change})
    assert refused.value.field == field_name


def test_bad_mail_settings_are_refused_by_their_field(session, people):
    admin = people[BY_ROLE[Role.ADMIN]]
    with pytest.raises(InvalidInput) as refused:
        deliveries.set_mail(session=session, actor=admin, smtp_url="", mail_from=SENDER)
    assert refused.value.field == "smtp_url"  # nothing stored to keep
    with pytest.raises(InvalidInput) as refused:
        deliveries.set_mail(session=session, actor=admin, mail_from=SENDER,
                            smtp_url="smtp://ops:hunter22@smtp.example.com:0")
    assert refused.value.field == "smtp_url" and "hunter22" not in str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        deliveries.set_mail(session=session, actor=admin, smtp_url="smtp://smtp.example.com",
                            mail_from="alerts@example.com\r\nBcc: all@example.com")
    assert refused.value.field == "mail_from"
    assert session.exec(select(Channel)).all() == []


def test_the_log_filters_by_state_and_channel(session, people):
    admin = people[BY_ROLE[Role.ADMIN]]
    for number, (channel, state) in enumerate([("email", "sent"), ("Ops", "failed"),
                                               ("email", "failed")]):
        session.add(Delivery(channel=channel, recipient="x", subject=f"s{number}", body="",
                             cause="c", state=state, created_at=T0 + timedelta(minutes=number),
                             history=[]))
    session.flush()
    log = deliveries.delivery_log
    assert [view.subject for view in log(session=session, actor=admin)] == ["s2", "s1", "s0"]
    assert [view.subject for view in log(session=session, actor=admin, state="failed",
                                         channel="email")] == ["s2"]
    assert [view.subject for view in log(session=session, actor=admin, limit=1)] == ["s2"]
    with pytest.raises(InvalidInput, match="state"):
        log(session=session, actor=admin, state="lost")


@pytest.mark.parametrize("role", [role for role in Role if role != Role.ADMIN])
def test_only_an_admin_sets_up_channels_and_reads_the_log(session, people, role):
    actor = people[BY_ROLE[role]]
    calls = [
        lambda: deliveries.set_mail(session=session, actor=actor, smtp_url="smtp://m.example",
                                    mail_from=SENDER),
        lambda: deliveries.add_webhook(session=session, actor=actor, name="x", kind="json",
                                       url="https://h.example.com/x", kinds=["breached"]),
        lambda: deliveries.update_webhook(session=session, actor=actor, channel_id=1,
                                          active=False),
        lambda: deliveries.remove_channel(session=session, actor=actor, channel_id=1),
        lambda: deliveries.channels(session=session, actor=actor),
        lambda: deliveries.delivery_log(session=session, actor=actor),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="may not set up mail and chat channels"):
            call()
    assert session.exec(select(Channel)).all() == []


def test_a_stored_post_is_the_payload_as_json(workspace, httpserver):
    add_webhook(workspace, "Teams", "teams", httpserver.url_for("/t"), ["breached"])
    [delivery_id] = post_breaches(workspace)
    with workspace.session() as session:
        stored = session.get(Delivery, delivery_id)
        body = json.loads(stored.body)
    assert (stored.state, stored.subject, stored.recipient) == (
        "pending", "2 leads breached first touch", "localhost")
    assert body["attachments"][0]["content"]["body"][0]["text"] == "2 leads breached first touch"
