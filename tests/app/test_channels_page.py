"""Channels page (admin): the mail server and chat webhooks, whose URLs are never shown again
(only their hosts), and the delivery log with its filters and each delivery's attempts."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core import secret_box
from core.permissions import Role
from db.engine import get_engine
from db.models import Channel, Delivery
from tests.app.conftest import logged_in
from ui.text import JOINER

PAGE = "app_pages/channels.py"
SMTP_URL = "smtp://mailer:s3cret-pass@mail.example.com:587?starttls=1"
HOOK_URL = "https://hooks.slack.com/services/T0001/B0001/s3cretPath"
NOW = datetime.now(UTC)


@pytest.fixture
def admin(app_db, monkeypatch):
    monkeypatch.setenv("HANDOFF_SECRET_KEY", secret_box.new_key())
    monkeypatch.delenv("HANDOFF_SMTP_URL", raising=False)
    app_db("ana", Role.SALES_REP)
    return app_db("root", Role.ADMIN)


def opened(actor):
    at = logged_in(actor).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def page_text(at) -> str:
    """What the page reads (inputs and tables too: a URL must not linger anywhere)."""
    parts = [shown(element) for kind in ("markdown", "caption", "success", "error", "info")
             for element in getattr(at, kind)]
    parts += [box.value for box in at.text_input]
    parts += [frame.value.to_string() for frame in at.dataframe]
    return " ".join(parts)


def shown(element) -> str:
    """An element's text as it reads (without the joiners that keep "a:b" from being markup)."""
    return str(element.value).replace(JOINER, "")


def table(at, column: str):
    """The table that has this column."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def test_the_admin_sets_the_mail_server_and_its_password_is_never_shown(admin):
    at = opened(admin)
    assert at.title[0].value == "Channels"
    assert "Mail is **not set up**" in page_text(at)
    at.text_input(key="channels_mail_url").input(SMTP_URL)
    at.text_input(key="channels_mail_from").input("alerts@example.com")
    at.button(key="FormSubmitter:channels_mail-Save mail server").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "The mail server is saved."
    text = page_text(at)
    assert "through **mail.example.com** from **alerts@example.com**" in text
    assert "s3cret" not in text and at.text_input(key="channels_mail_url").value == ""
    assert "stored: mail.example.com" in at.text_input(key="channels_mail_url").label
    with Session(get_engine()) as session:
        stored = session.exec(select(Channel).where(Channel.kind == "email")).one()
    assert "s3cret" not in stored.secret and secret_box.unseal(stored.secret) == SMTP_URL


def test_a_bad_mail_server_is_refused_by_name(admin):
    at = opened(admin)
    at.text_input(key="channels_mail_url").input("http://mail.example.com")
    at.text_input(key="channels_mail_from").input("alerts@example.com")
    at.button(key="FormSubmitter:channels_mail-Save mail server").click().run()
    assert not at.exception, at.exception
    assert shown(at.error[0]).startswith("smtp_url: start with smtp:// or smtps://")
    assert "Mail is **not set up**" in page_text(at)


def test_the_environment_wins_and_the_form_is_disabled(admin, monkeypatch):
    monkeypatch.setenv("HANDOFF_SMTP_URL", "smtps://relay.example.org:465")
    at = opened(admin)
    assert "the environment wins" in at.info[0].value
    assert "**relay.example.org**" in at.info[0].value
    assert at.text_input(key="channels_mail_url").disabled
    assert at.button(key="FormSubmitter:channels_mail-Save mail server").disabled


def test_a_slack_webhook_is_added_shown_by_its_host_paused_and_removed(admin):
    at = opened(admin)
    at.text_input(key="channels_add_name").input("Sales on Slack")
    at.radio(key="channels_add_format").set_value("slack")
    at.text_input(key="channels_add_url").input(HOOK_URL)
    at.multiselect(key="channels_add_kinds").set_value(["breached", "reassigned"])
    at.button(key="FormSubmitter:channels_add-Add webhook").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Sales on Slack is added."
    hooks = table(at, "Host")
    assert hooks.to_dict("records") == [{
        "Name": "Sales on Slack", "Format": "Slack", "Host": "hooks.slack.com",
        "Gets": "A lead breached its clock; A lead moved by an escalation rule",
        "State": "active"}]
    assert "s3cretPath" not in page_text(at)
    assert at.text_input(key="channels_add_url").value == ""
    hook = stored_hook()
    at.button(key=f"channels_hook_{hook.id}_pause").click().run()
    assert at.success[0].value == "Sales on Slack is paused."
    assert table(at, "Host")["State"].tolist() == ["paused"]
    assert at.button(key=f"channels_hook_{hook.id}_pause").label == "Resume"
    at.button(key=f"channels_hook_{hook.id}_remove").click().run()
    assert not at.exception, at.exception
    assert "No chat webhook yet." in page_text(at)


def stored_hook() -> Channel:
    with Session(get_engine()) as session:
        return session.exec(select(Channel).where(Channel.kind == "slack")).one()


def test_a_webhook_without_a_name_is_refused_and_its_url_not_kept(admin):
    at = opened(admin)
    at.text_input(key="channels_add_url").input(HOOK_URL)
    at.button(key="FormSubmitter:channels_add-Add webhook").click().run()
    assert not at.exception, at.exception
    assert at.error[0].value.startswith("name:")
    assert at.text_input(key="channels_add_url").value == ""


@pytest.fixture
def log(admin):
    """Three deliveries: an email sent, one failed twice (to be retried), a post that gave up."""
    attempt = (NOW - timedelta(minutes=3)).isoformat()
    with Session(get_engine()) as session:
        session.add_all([
            Delivery(channel="email", recipient="ana@example.com", username="ana",
                     subject="Handoff: D-1 breached first touch", body="…",
                     cause="escalation warn-owner", state="sent", attempts=1,
                     created_at=NOW - timedelta(hours=2), sent_at=NOW - timedelta(hours=2),
                     history=[{"at": attempt, "state": "sent", "error": None}]),
            Delivery(channel="email", recipient="ana@example.com", username="ana",
                     subject="Handoff: D-2 at risk", body="…", cause="escalation warn-owner",
                     state="failed", attempts=2, last_error="550 mailbox unavailable",
                     created_at=NOW - timedelta(minutes=10),
                     next_attempt_at=NOW + timedelta(minutes=1),
                     history=[{"at": attempt, "state": "failed",
                               "error": "421 try later"},
                              {"at": attempt, "state": "failed",
                               "error": "550 mailbox unavailable"}]),
            Delivery(channel="Sales on Slack", recipient="hooks.slack.com",
                     subject="2 leads breached", body="{}", cause="escalations",
                     state="gave_up", attempts=6, last_error="HTTP 404: no_service",
                     created_at=NOW - timedelta(minutes=1), history=[]),
        ])
        session.commit()
    return admin


def test_the_delivery_log_lists_newest_first_in_words_and_filters_by_state(log):
    at = opened(log)
    table = at.dataframe(key="channels_log").value
    assert table["Subject"].tolist() == ["2 leads breached", "Handoff: D-2 at risk",
                                         "Handoff: D-1 breached first touch"]
    assert table["State"].tolist() == ["gave up", "failed (will retry)", "sent"]
    assert table["Recipient"].tolist()[1:] == ["Ana Tester <ana@example.com>"] * 2
    assert table["Channel"].tolist() == ["Sales on Slack", "Email", "Email"]
    assert table["Last error"].tolist()[:2] == ["HTTP 404: no_service",
                                                "550 mailbox unavailable"]
    at.selectbox(key="channels_log_state").set_value("failed").run()
    assert not at.exception, at.exception
    assert at.dataframe(key="channels_log").value["Subject"].tolist() == [
        "Handoff: D-2 at risk"]
    at.selectbox(key="channels_log_state").set_value("pending").run()
    assert "No delivery matches." in page_text(at)


def test_a_chosen_delivery_shows_every_attempt(log):
    at = opened(log)
    at.session_state["channels_log"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    history = table(at, "Outcome")
    assert history["Outcome"].tolist() == ["failed (will retry)"] * 2
    assert history["Error"].tolist() == ["421 try later", "550 mailbox unavailable"]
    assert any("next try" in m.value for m in at.markdown)
