"""Salesforce syncs, through run_sync, against a fake of Salesforce's REST API on a local HTTP
server (tests.fakes.salesforce): every lead and activity arrives once over many query pages; a
second sync reads only what changed; 429s, a 5xx, an expired session, a revoked app and the
daily API limit lose nothing; owners become users by email; a converted lead gets its SQL,
opportunity and won stages."""

import json
from datetime import UTC, date, datetime
from math import ceil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import select

from core import secret_box
from core.connectors import salesforce
from core.connectors.base import SyncError, TokenRevoked
from core.errors import InvalidInput
from core.services.accounts import OPERATOR
from core.services.sync import configure_connector, run_sync
from db.engine import session_scope
from db.models import Connector, Lead, Touch
from tests.fakes.salesforce import FakeSalesforce, parse_sf_datetime

USERNAMES = {"ana@example.com": "ana", "ben@example.com": "ben", "sofia@example.com": "sofia"}


@pytest.fixture(autouse=True)
def secret_key(monkeypatch):
    monkeypatch.setenv("HANDOFF_SECRET_KEY", secret_box.new_key())


@pytest.fixture
def sessions(concurrent_engine, people_factory):
    """Units of work on a database with one user per role (emails <username>@example.com)."""
    with session_scope(concurrent_engine) as session:
        people_factory(session)
    return lambda: session_scope(concurrent_engine)


def configure(sessions, fake: FakeSalesforce, credentials=None, **settings) -> None:
    with sessions() as session:
        configure_connector(session=session, actor=OPERATOR, name="salesforce",
                            settings=fake.settings(**settings),
                            credentials=credentials or fake.credentials())


def sync(sessions):
    return run_sync("salesforce", sessions=sessions)


def connector(sessions) -> Connector:
    with sessions() as session:
        return session.get(Connector, "salesforce")


def watermark(stamp: str) -> str:
    """A Salesforce SystemModstamp as the sync's watermark spells it."""
    return parse_sf_datetime(stamp).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def at_watermark(fake: FakeSalesforce, stream: str, mark: str) -> int:
    """How many records of a stream a sync resuming at `mark` reads again."""
    return sum(1 for record in fake.all(stream) if watermark(record["SystemModstamp"]) == mark)


def owner_name(fake: FakeSalesforce, user_id: str) -> str:
    email = fake.user_email(user_id).lower()
    return USERNAMES.get(email, email)


KINDS = {"Call": "call", "Email": "email", "ListEmail": "email"}


def touch_key(fake: FakeSalesforce, leads: dict[str, str], activity: dict) -> tuple:
    """(lead, at, kind, rep) of a task or event, as a sync should store it."""
    if "StartDateTime" in activity:
        at, kind = activity["StartDateTime"], "meeting"
    else:
        at, kind = activity["CompletedDateTime"], KINDS.get(activity["TaskSubtype"], "other")
    return (leads[activity["WhoId"]], parse_sf_datetime(at), kind,
            owner_name(fake, activity["OwnerId"]))


def expected_touches(fake: FakeSalesforce) -> set[tuple]:
    """The touch of every closed activity about a lead (or the contact it became)."""
    leads = fake.leads_by_who()
    return {touch_key(fake, leads, activity)
            for activity in [*fake.all("Task"), *fake.all("Event")]
            if activity.get("IsClosed", True) and activity["WhoId"] in leads}


def stored_leads(sessions) -> dict[str, dict]:
    """Every stored lead, all its columns, by Salesforce id."""
    with sessions() as session:
        return {lead.external_id: lead.model_dump() for lead in session.exec(select(Lead))}


def stored_touches(sessions) -> dict[tuple, dict]:
    """Every stored touch, all its columns, by (lead, at, kind, rep)."""
    with sessions() as session:
        rows = session.exec(select(Touch, Lead.external_id).join(Lead)).all()
    return {(lead, _utc(touch.at), touch.kind, touch.rep): touch.model_dump()
            for touch, lead in rows}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def assert_everything_stored(sessions, fake: FakeSalesforce) -> None:
    """Every lead once with its current values, every touch once: nothing lost or doubled."""
    leads = stored_leads(sessions)
    assert {lead_id: (row["segment"], row["owner"]) for lead_id, row in leads.items()} == {
        lead["Id"]: (lead["Industry"], owner_name(fake, lead["OwnerId"]))
        for lead in fake.all("Lead")}
    with sessions() as session:
        assert len(session.exec(select(Touch.id)).all()) == len(expected_touches(fake))
    assert set(stored_touches(sessions)) == expected_touches(fake)


def assert_stored_before(sessions, fake: FakeSalesforce, mark: str) -> None:
    """The watermark never runs ahead: every lead modified before it is stored as it is now."""
    leads = stored_leads(sessions)
    earlier = [lead for lead in fake.all("Lead") if watermark(lead["SystemModstamp"]) < mark]
    assert earlier
    assert all(leads[lead["Id"]]["segment"] == lead["Industry"] for lead in earlier)


def another_private_key() -> str:
    """A PEM RSA key the connected app does not know."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def served(httpserver, status: int) -> int:
    """How many responses of a status the fake gave."""
    return sum(1 for _request, response in httpserver.log if response.status_code == status)


def test_a_first_sync_reads_every_page_and_a_second_only_the_50_changes(sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=2000, tasks=4500, events=1500, converted=0.15)
    configure(sessions, fake, batch_size=500)
    opportunities = len(fake.all("Opportunity"))
    touches = expected_touches(fake)

    first = sync(sessions)

    assert (first.state, first.rejected) == ("ok", 0)
    assert first.read == 2000 + opportunities + 6000
    assert first.read == first.inserted + first.updated + first.unchanged + first.rejected
    assert first.streams["Lead"]["inserted"] == 2000
    assert first.streams["Opportunity"]["updated"] == opportunities  # onto the converted leads
    assert first.streams["Task"]["inserted"] + first.streams["Event"]["inserted"] == len(touches)
    assert len(first.batches) == 4 + ceil(opportunities / 500) + 9 + 3  # one per query page
    assert_everything_stored(sessions, fake)
    converted = next(lead for lead in fake.all("Lead") if lead["IsConverted"])
    opportunity = fake.records["Opportunity"][converted["ConvertedOpportunityId"]]
    stored = stored_leads(sessions)[converted["Id"]]
    assert _utc(stored["sql_at"]).date().isoformat() == converted["ConvertedDate"]
    assert _utc(stored["opportunity_at"]) == parse_sf_datetime(opportunity["CreatedDate"])
    assert stored["amount"] == opportunity["Amount"]
    assert stored["attributes"] == {"Status": "Closed - Converted"}

    before_leads, before_touches = stored_leads(sessions), stored_touches(sessions)
    marks = connector(sessions).watermarks
    leads = set(fake.change_leads(20))
    opportunities_changed = fake.change_opportunities(5)
    activities = [*fake.change_activities("Task", 15), *fake.change_activities("Event", 10)]
    re_read = sum(at_watermark(fake, stream, mark) for stream, mark in marks.items())

    second = sync(sessions)

    assert (second.inserted, second.updated, second.rejected) == (0, 50, 0)
    assert (second.read, second.unchanged) == (50 + re_read, re_read)
    assert {stream: counts["updated"] for stream, counts in second.streams.items()} == {
        "Lead": 20, "Opportunity": 5, "Task": 15, "Event": 10}
    after_leads, after_touches = stored_leads(sessions), stored_touches(sessions)
    converted_to = {lead["ConvertedOpportunityId"]: lead["Id"] for lead in fake.all("Lead")}
    assert {key for key in after_leads if after_leads[key] != before_leads[key]} == leads | {
        converted_to[opportunity] for opportunity in opportunities_changed}
    changed_touches = {key for key in after_touches if after_touches[key] != before_touches[key]}
    leads_by_who = fake.leads_by_who()
    assert set(after_touches) == set(before_touches)
    assert changed_touches == {touch_key(fake, leads_by_who, activity) for activity in activities}
    assert all(after_touches[key]["note"].endswith("(edited)") for key in changed_touches)
    assert connector(sessions).watermarks == {
        stream: max(watermark(record["SystemModstamp"]) for record in fake.all(stream))
        for stream in ("Lead", "Opportunity", "Task", "Event")}


def test_a_storm_of_429s_is_waited_out_and_a_5xx_mid_paging_retried(sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=500, tasks=300, events=100)
    configure(sessions, fake, batch_size=200)
    fake.rate_limit(5, retry_after=0, after_pages=2)
    fake.fail_page(5, status=503)

    result = sync(sessions)

    assert (result.state, result.rejected) == ("ok", 0)
    assert (served(httpserver, 429), served(httpserver, 503)) == (5, 1)
    assert result.inserted == 500 + len(expected_touches(fake))
    assert_everything_stored(sessions, fake)


def test_an_expired_session_is_renewed_and_a_revoked_app_stops_at_the_last_page(
        sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=300, tasks=200, events=50)
    configure(sessions, fake, batch_size=200)
    fake.expire_sessions(after_pages=2)

    assert sync(sessions).state == "ok"

    assert (fake.tokens_issued, served(httpserver, 401)) == (2, 1)
    row = connector(sessions)
    sealed = json.loads(secret_box.unseal(row.secret))
    assert sealed["access_token"] in fake.tokens and sealed["instance_url"] == fake.url
    assert sealed["access_token"] not in row.secret and fake.client_secret not in row.secret
    assert_everything_stored(sessions, fake)

    fake.change_leads(250)  # two pages of changes, each lead at its own second
    fake.revoke_client(after_pages=2)  # the users' page and the first page of leads
    with pytest.raises(TokenRevoked):
        sync(sessions)

    row = connector(sessions)
    assert row.state == "failed"
    assert row.last_error == ("Salesforce refused the connected app's credentials "
                              "(invalid_client: invalid client credentials); enter new "
                              "credentials")
    assert_stored_before(sessions, fake, row.watermarks["Lead"])
    stored = stored_leads(sessions)
    assert sum(1 for lead in fake.all("Lead")
               if stored[lead["Id"]]["segment"] != lead["Industry"]) == 50  # the second page


def test_a_sync_stopped_by_the_daily_api_limit_resumes_without_loss(sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=600, tasks=500, events=100)
    configure(sessions, fake, batch_size=200)
    mass_update = fake.change_leads(300, at_once=True)  # 300 leads at one SystemModstamp
    fake.fail_after_pages(3)  # users, then two pages of leads: the third ends amid the 300

    with pytest.raises(SyncError, match="REQUEST_LIMIT_EXCEEDED"):
        sync(sessions)

    row = connector(sessions)
    assert row.state == "failed" and "API request limit" in row.last_error
    assert served(httpserver, 403) == 1  # the limit is not retried
    # Two pages stored: the 300 leads before the mass update and 100 of it; the watermark is
    # the mass update's time, so the resumed sync reads all 300 of it again
    assert row.watermarks == {
        "Lead": watermark(fake.records["Lead"][mass_update[0]]["SystemModstamp"])}
    assert len(stored_leads(sessions)) == 400
    assert_stored_before(sessions, fake, row.watermarks["Lead"])

    fake.recover()
    resumed = sync(sessions)

    assert resumed.state == "ok"
    assert resumed.streams["Lead"]["inserted"] == 200
    assert_everything_stored(sessions, fake)


def test_owners_become_users_by_email_and_other_activities_are_skipped(sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=40, tasks=60, events=20, open_tasks=5, others=6)
    queued = fake.all("Lead")[0]
    queued["OwnerId"] = "00G5g000000QUEUE1"
    configure(sessions, fake)

    assert sync(sessions).rejected == 0

    leads = stored_leads(sessions)
    by_email = {fake.user_email(lead["OwnerId"]): leads[lead["Id"]]["owner"]
                for lead in fake.all("Lead")[1:]}
    assert by_email == {"ana@example.com": "ana", "Ben@Example.com": "ben",
                        "sofia@example.com": "sofia", "pat@agency.example": "pat@agency.example"}
    assert leads[queued["Id"]]["owner"] is None
    assert set(stored_touches(sessions)) == expected_touches(fake)  # no open task, no stranger

    puller = salesforce.puller(fake.settings(), fake.credentials(), owners=USERNAMES,
                               save_credentials=lambda _fresh: None)
    notes = {chunk.stream: chunk.notes for chunk in puller.chunks({})}
    unmatched = sum(1 for lead in fake.all("Lead") if fake.user_email(lead["OwnerId"]) ==
                    "pat@agency.example")
    assert notes["Lead"] == [
        f"leads whose owner's email matches no Handoff user (kept as the email): {unmatched}",
        "leads owned by a queue or an unknown user (no owner): 1"]
    assert "tasks not about a lead (or a contact converted from one), skipped: 6" in (
        notes["Task"])


def test_a_converted_lead_becomes_an_sql_then_won_through_its_opportunity(sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=30, tasks=60, events=10, converted=0)
    configure(sessions, fake)
    sync(sessions)
    lead = max(fake.all("Lead"), key=lambda lead: len(
        [task for task in fake.all("Task") if task["WhoId"] == lead["Id"]]))
    touches_before, marks = stored_touches(sessions), connector(sessions).watermarks

    opportunity = fake.convert_lead(lead["Id"])  # its activities move to the new contact
    converted = sync(sessions)

    moved = [task for task in fake.all("Task") if task["WhoId"] == lead["ConvertedContactId"]]
    assert moved
    assert converted.streams["Task"]["unchanged"] == len(moved) + at_watermark(
        fake, "Task", marks["Task"])

    stored = stored_leads(sessions)[lead["Id"]]
    assert _utc(stored["sql_at"]) == datetime(2026, 10, 1, tzinfo=UTC)  # the day, in UTC
    assert _utc(stored["opportunity_at"]) == parse_sf_datetime(opportunity["CreatedDate"])
    assert (stored["won_at"], stored["lost_at"]) == (None, None)
    assert converted.inserted == 0
    assert stored_touches(sessions) == touches_before  # the moved activities still count

    fake.close_opportunity(opportunity["Id"], won=True, amount=42_000.0, on=date(2026, 10, 9))
    sync(sessions)

    stored = stored_leads(sessions)[lead["Id"]]
    assert _utc(stored["won_at"]) == datetime(2026, 10, 9, tzinfo=UTC)
    assert (stored["amount"], stored["lost_at"]) == (42_000.0, None)


def test_the_mql_date_comes_from_the_field_the_settings_name(sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=20, tasks=0, events=0)
    configure(sessions, fake, mql_field="MQL_Date__c")
    sync(sessions)

    leads = stored_leads(sessions)
    assert {lead["Id"]: parse_sf_datetime(lead["MQL_Date__c"]) for lead in fake.all("Lead")} == {
        lead_id: _utc(row["mql_at"]) for lead_id, row in leads.items()}

    configure(sessions, fake, mql_field="MQL_Date")
    with pytest.raises(SyncError, match="No such column 'MQL_Date' on entity 'Lead'"):
        sync(sessions)


def test_the_jwt_bearer_flow_signs_in_and_a_wrong_key_is_refused(sessions, httpserver):
    fake = FakeSalesforce(httpserver, leads=20, tasks=20, events=5)
    configure(sessions, fake, credentials=fake.jwt_credentials(), auth="jwt")

    assert sync(sessions).inserted == 20 + len(expected_touches(fake))
    assert fake.tokens_issued == 1

    fake.expire_sessions()
    configure(sessions, fake, credentials={"private_key": another_private_key()}, auth="jwt")
    with pytest.raises(TokenRevoked, match="invalid_grant"):
        sync(sessions)
    assert connector(sessions).state == "failed"


@pytest.mark.parametrize(("settings", "key"), [
    ({"auth": "password"}, "auth"), ({"batch_size": 100}, "batch_size"),
    ({"api_version": "60"}, "api_version"), ({"mql_field": "CreatedDate) OR (Id"}, "mql_field"),
    ({"login_url": "login.salesforce.com"}, "login_url"), ({"base_url": "x"}, "base_url")])
def test_bad_settings_are_refused_naming_the_setting(settings, key):
    with pytest.raises(InvalidInput) as refused:
        salesforce.validate_settings(settings)
    assert refused.value.field == key


def test_settings_default_to_the_real_api_and_keep_the_schedule():
    assert salesforce.validate_settings({"every_minutes": 30}) == {
        "auth": "client_credentials", "login_url": "https://login.salesforce.com",
        "api_version": "v60.0", "mql_field": "CreatedDate", "batch_size": 2000,
        "every_minutes": 30}
    assert salesforce.required_credentials({"auth": "jwt"}) == [
        "client_id", "username", "private_key"]


def test_a_call_result_becomes_an_outcome_or_is_kept_in_the_note():
    """Salesforce's CallDisposition is free text: a CRM word for an outcome is stored as that
    outcome; any other result is kept in the note rather than refusing the touch."""
    from core.connectors.salesforce import _task_touch

    task = {"TaskSubtype": "Call", "CompletedDateTime": "2026-10-01T15:00:00.000+0000",
            "Subject": "Call", "Description": "Asked for pricing"}
    assert _task_touch({**task, "CallDisposition": "Left voicemail"})["outcome"] == "voicemail"
    free = _task_touch({**task, "CallDisposition": "Interested, call back in May"})
    assert free["outcome"] is None
    assert free["note"] == "Call result: Interested, call back in May\nCall\nAsked for pricing"
    assert _task_touch(task)["outcome"] is None
