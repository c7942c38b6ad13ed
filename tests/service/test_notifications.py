"""A person's notices and choices: the list and the unread count are their own, marking read
never touches another's, preferences decide the email, and an email waits for working hours
(the agreement calendar's, or outside the person's own quiet hours)."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from core import agreement as sla
from core.errors import InvalidInput
from core.services import notifications
from core.services.notifications import Notice
from db.models import Notification, User

NOW = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)  # Monday 23:00 in New York
CALENDAR = sla.business_calendar(sla.template(title="t", start=date(2026, 1, 1),
                                              end=date(2027, 1, 1)))  # Mon–Fri 09–17 NY


def notice(title: str = "L-1: first touch at risk", **extra) -> Notice:
    return Notice(kind="at_risk", title=title, cause="test", link="/lead?lead=1", **extra)


def test_each_person_sees_and_reads_only_their_own(session, people):
    notifications.notify(session, ["ana", "ben"], notice(), now=NOW, mail_ready=True)
    notifications.notify(session, ["ana"], notice("L-2: breached"), now=NOW, mail_ready=True)
    ana, ben = people["ana"], people["ben"]
    assert notifications.unread_count(session=session, actor=ana) == 2
    assert [n.title for n in notifications.notifications(session=session, actor=ana)] == [
        "L-2: breached", "L-1: first touch at risk"]
    bens = notifications.notifications(session=session, actor=ben)
    # Ana marks Ben's notice read by id: nothing happens to it
    assert notifications.mark_read(session=session, actor=ana, ids=[bens[0].id]) == 0
    assert notifications.unread_count(session=session, actor=ben) == 1
    assert notifications.mark_read(session=session, actor=ana) == 2
    assert notifications.unread_count(session=session, actor=ana) == 0
    assert notifications.notifications(session=session, actor=ana, unread_only=True) == []


def test_inactive_people_are_not_told(session, people):
    user = session.exec(select(User).where(User.username == "ben")).one()
    user.active = False
    session.add(user)
    session.flush()
    assert len(notifications.notify(session, ["ana", "ben"], notice(), now=NOW)) == 1


def test_preferences_decide_the_email_and_the_app_lists_every_notice(session, people):
    ana = people["ana"]
    assert notifications.preferences(session=session, actor=ana)["at_risk"] == "immediately"
    notifications.set_preference(session=session, actor=ana, kind="at_risk", mode="off")
    notifications.set_preference(session=session, actor=ana, kind="breached", mode="digest")
    notifications.notify(session, ["ana"], notice(), now=NOW, mail_ready=True)
    notifications.notify(session, ["ana"], Notice(kind="breached", title="b", cause="t"),
                         now=NOW, mail_ready=True)
    notifications.notify(session, ["ben"], notice(), now=NOW, mail_ready=False)
    states = dict(session.exec(select(Notification.username + ":" + Notification.kind,
                                      Notification.email_state)).all())
    assert states == {"ana:at_risk": "none", "ana:breached": "digest", "ben:at_risk": "none"}
    assert notifications.unread_count(session=session, actor=ana) == 2
    with pytest.raises(InvalidInput, match="kind"):
        notifications.set_preference(session=session, actor=ana, kind="spam", mode="off")
    with pytest.raises(InvalidInput, match="mode"):
        notifications.set_preference(session=session, actor=ana, kind="at_risk", mode="loud")


def test_an_email_waits_for_the_calendars_next_opening_unless_urgent(session, people):
    [held] = notifications.notify(session, ["ana"], notice(), now=NOW, calendar=CALENDAR,
                                  mail_ready=True)
    [urgent] = notifications.notify(session, ["ana"], notice(urgent=True), now=NOW,
                                    calendar=CALENDAR, mail_ready=True)
    assert session.get(Notification, held).deliver_after == datetime(2026, 3, 3, 14, 0,
                                                                     tzinfo=UTC)
    assert session.get(Notification, urgent).deliver_after == NOW
    inside = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # Tuesday 10:00: at once
    [now_sent] = notifications.notify(session, ["ana"], notice(), now=inside, calendar=CALENDAR)
    assert session.get(Notification, now_sent).deliver_after == inside


@pytest.mark.parametrize(("quiet", "now", "expected"), [
    (("22:00", "07:30"), datetime(2026, 3, 3, 4, 0, tzinfo=UTC),  # 23:00: until 07:30
     datetime(2026, 3, 3, 12, 30, tzinfo=UTC)),
    (("22:00", "07:30"), datetime(2026, 3, 3, 10, 0, tzinfo=UTC),  # 05:00, after midnight
     datetime(2026, 3, 3, 12, 30, tzinfo=UTC)),
    (("22:00", "07:30"), datetime(2026, 3, 3, 15, 0, tzinfo=UTC),  # 10:00: at once
     datetime(2026, 3, 3, 15, 0, tzinfo=UTC)),
    (("12:00", "13:00"), datetime(2026, 3, 3, 17, 15, tzinfo=UTC),  # 12:15, a lunch break
     datetime(2026, 3, 3, 18, 0, tzinfo=UTC)),
])
def test_a_persons_own_quiet_hours_replace_the_calendar(session, people, quiet, now, expected):
    notifications.set_quiet_hours(session=session, actor=people["ana"],
                                  timezone="America/New_York", start=quiet[0], end=quiet[1])
    [made] = notifications.notify(session, ["ana"], notice(), now=now, calendar=CALENDAR)
    assert session.get(Notification, made).deliver_after == expected


@pytest.mark.parametrize(("timezone", "start", "end", "field"), [
    ("Mars/Olympus", "22:00", "07:00", "timezone"),
    ("Europe/Paris", "25:00", "07:00", "quiet_start"),
    ("Europe/Paris", "22:00", None, "quiet_hours"),
    ("Europe/Paris", "22:00", "22:00", "quiet_end"),
    ("Europe/Paris", "7:00", "08:00", "quiet_start"),
])
def test_quiet_hours_are_checked(session, people, timezone, start, end, field):
    with pytest.raises(InvalidInput) as refused:
        notifications.set_quiet_hours(session=session, actor=people["ana"], timezone=timezone,
                                      start=start, end=end)
    assert refused.value.field == field
    assert notifications.quiet_hours(session=session, actor=people["ana"]).start is None


def test_a_notice_with_a_key_is_made_once_per_person(session, people):
    first = notifications.notify(session, ["ana", "ben"], notice(once_key="digest:x"), now=NOW)
    again = notifications.notify(session, ["ana", "ben"], notice(once_key="digest:x"), now=NOW)
    assert len(first) == 2 and again == []


def test_chat_channels_take_exactly_the_kinds_an_alerts_pass_posts():
    from core.services import alerts, deliveries

    posted = set(alerts.TRIGGER_KIND.values()) | {"reassigned"}
    assert set(deliveries.WEBHOOK_KINDS) == posted <= set(notifications.KINDS)
