"""The bell and the Notifications page: a person sees how many notices are unread, lists them,
opens one (it is read, its lead's page opens), and chooses how they reach them by email."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core.permissions import PermissionDenied, Role
from core.services import notifications
from db.engine import get_engine
from db.models import Lead, Notification, NotificationPreference, User
from tests.app.conftest import logged_in
from ui.navigation import pages_for, refused, spec
from ui.text import JOINER

PAGE = "app_pages/notifications.py"
NOW = datetime.now(UTC)


@pytest.fixture
def ana(app_db):
    """A rep with a lead and two unread notices about it (the newest links to it), and another
    rep's notice she never sees."""
    rep = app_db("ana", Role.SALES_REP)
    app_db("ben", Role.SALES_REP)
    with Session(get_engine()) as session:
        lead = Lead(source="crm", external_id="ana-1", created_at=NOW, mql_at=NOW, owner="ana",
                    name="Pat Doe", company="Doe Co")
        session.add(lead)
        session.flush()
        session.add_all([
            notice("ana", "ana-1 is about to breach first touch", 10, kind="at_risk"),
            notice("ana", "ana-1 breached first touch", 5, link=f"/lead?lead={lead.id}",
                   body="Due 14:00, nobody touched it."),
            notice("ben", "ben-1 breached first touch", 1)])
        session.commit()
    return rep


def notice(username: str, title: str, minutes_ago: int, *, kind: str = "breached",
           link: str | None = None, body: str = "") -> Notification:
    return Notification(username=username, kind=kind, title=title, body=body, link=link,
                        cause="escalation warn-owner",
                        created_at=NOW - timedelta(minutes=minutes_ago))


def ids(username: str) -> dict[str, int]:
    with Session(get_engine()) as session:
        return {row.title: row.id for row in session.exec(
            select(Notification).where(Notification.username == username))}


def bell(at):
    """The bell's popover in the sidebar."""
    return next(block for block in at.sidebar.children.values() if block.type == "popover")


def opened_bell(at):
    at.session_state["bell"] = True
    at.run()
    assert not at.exception, at.exception
    return at


def page_text(at) -> str:
    """The page's text as it reads (without the joiners that keep "14:00" from being markup)."""
    return " ".join(shown(element) for kind in ("markdown", "caption", "success", "error",
                                                 "info", "warning")
                    for element in getattr(at, kind))


def shown(element) -> str:
    return str(element.value).replace(JOINER, "")


def on_page(actor):
    at = logged_in(actor).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_the_bell_counts_the_unread_and_lists_the_newest_first(ana):
    at = logged_in(ana).run()
    assert not at.exception, at.exception
    assert bell(at).proto.popover.label == "2"
    assert not bell(at).markdown  # closed: the list is not read
    at = opened_bell(at)
    titles = [m.value for m in bell(at).markdown]
    assert titles == ["**ana-1 breached first touch**",
                      "**ana-1 is about to breach first touch**"]
    assert "ben-1" not in page_text(at)
    assert "A lead breached its clock · " in bell(at).caption[0].value
    assert [b.key for b in bell(at).button] == [
        f"bell_open_{ids('ana')['ana-1 breached first touch']}", "bell_mark_all"]


def test_opening_a_notice_reads_it_and_opens_its_lead(ana):
    at = opened_bell(logged_in(ana).run())
    opened = ids("ana")["ana-1 breached first touch"]
    at.button(key=f"bell_open_{opened}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "ana-1 · Pat Doe (Doe Co)"  # the lead's page
    assert at.query_params["lead"] == str(ana_lead_id())
    assert bell(at).proto.popover.label == "1"
    assert not bell(at).proto.popover.open  # the bell closed as the page opened
    at = opened_bell(at)
    assert [m.value for m in bell(at).markdown] == [
        "ana-1 breached first touch", "**ana-1 is about to breach first touch**"]


def ana_lead_id() -> int:
    with Session(get_engine()) as session:
        return session.exec(select(Lead.id).where(Lead.external_id == "ana-1")).one()


def test_the_page_lists_every_notice_and_marking_all_read_clears_the_bell(ana):
    at = on_page(ana)
    assert at.title[0].value == "Notifications"
    text = page_text(at)
    assert ":blue-badge[Unread] **ana-1 breached first touch**" in text
    assert "Due 14:00, nobody touched it." in text
    assert "A lead of mine is about to breach · " in text and "why: escalation" in text
    assert "2 unread" in text
    at.button(key="notices_mark_all").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "All your notifications are marked read."
    assert bell(at).proto.popover.label == "Notifications"
    assert "Unread" not in page_text(at)
    with Session(get_engine()) as session:  # another person's notice is untouched
        assert session.exec(select(Notification.read_at).where(
            Notification.username == "ben")).one() is None


def test_marking_one_notice_read(ana):
    at = on_page(ana)
    at.button(key=f"notices_read_{ids('ana')['ana-1 is about to breach first touch']}") \
        .click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Marked read."
    assert bell(at).proto.popover.label == "1"


def test_email_choices_are_saved(ana):
    at = on_page(ana)
    choice = at.radio(key="notices_mode_at_risk")
    assert choice.label == notifications.KINDS["at_risk"] and choice.value == "immediately"
    choice.set_value("off")
    at.radio(key="notices_mode_digest").set_value("digest")
    at.button(key="FormSubmitter:notices_preferences-Save email choices").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Your email choices are saved."
    with Session(get_engine()) as session:
        stored = {row.kind: row.mode for row in session.exec(select(NotificationPreference))}
    assert stored == {"at_risk": "off", "digest": "digest"}
    at = on_page(ana)  # a new visit shows what was saved
    assert at.radio(key="notices_mode_at_risk").value == "off"


def test_quiet_hours_are_saved_checked_and_cleared(ana):
    at = on_page(ana)
    at.selectbox(key="notices_quiet_zone").set_value("Europe/Paris")
    at.text_input(key="notices_quiet_start").input("25:00")
    at.text_input(key="notices_quiet_end").input("07:00")
    at.button(key="FormSubmitter:notices_quiet-Save quiet hours").click().run()
    assert not at.exception, at.exception
    assert shown(at.error[0]) == "quiet_start: '25:00' is not a time of day like 21:00"
    assert at.text_input(key="notices_quiet_start").value == "25:00"  # kept to correct
    assert stored_user().quiet_start is None

    at.text_input(key="notices_quiet_start").input("21:00")
    at.button(key="FormSubmitter:notices_quiet-Save quiet hours").click().run()
    assert at.success[0].value == "Your quiet hours are saved."
    user = stored_user()
    assert (user.timezone, user.quiet_start, user.quiet_end) == ("Europe/Paris", "21:00",
                                                                  "07:00")
    at.button(key="FormSubmitter:notices_quiet-Clear").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Quiet hours cleared")
    assert at.text_input(key="notices_quiet_start").value == ""
    assert at.selectbox(key="notices_quiet_zone").value == ""
    user = stored_user()
    assert (user.timezone, user.quiet_start, user.quiet_end) == (None, None, None)


def stored_user() -> User:
    with Session(get_engine()) as session:
        return session.exec(select(User).where(User.username == "ana")).one()


def test_a_rep_may_not_open_the_channels_page_nor_call_its_service(ana):
    from core.services import deliveries

    # The navigation offers her no Channels page, and names it when her address asks for it
    assert spec("channels") not in pages_for(Role.SALES_REP)
    assert refused(Role.SALES_REP, "http://localhost:8501/channels").title == "Channels"
    at = logged_in(ana, "app_pages/channels.py").run()
    assert not at.exception, at.exception
    assert at.error[0].value == "A sales rep cannot open Channels."
    assert not at.text_input and not at.dataframe
    with Session(get_engine()) as session, pytest.raises(PermissionDenied):
        deliveries.channels(session=session, actor=ana)
