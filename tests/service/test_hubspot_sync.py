"""HubSpot syncs through run_sync against a fake HubSpot API (tests.fakes.hubspot): contacts
become leads and engagements touches, a second sync stores only what changed, and rate limits,
server errors, expired and revoked tokens and a sync cut short lose and double nothing."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core import secret_box
from core.connectors import hubspot
from core.connectors.base import RateLimited, TokenRevoked
from core.errors import InvalidInput
from core.services.accounts import OPERATOR
from core.services.sync import configure_connector, run_sync
from db.engine import session_scope
from db.models import Connector, Lead, Touch
from tests.fakes.hubspot import FakeHubSpot, parse_time

STREAMS = ("contacts", "calls", "emails", "meetings")
# HubSpot's default call dispositions and its meeting outcomes, as Handoff stores them
OUTCOMES = {"f240bbac-87c9-4f6e-bf70-924b57d47db7": "connected",
            "b2cf5968-551e-4856-9783-52b3da59a7d0": "voicemail",
            "73a0d17f-1163-4015-bdd5-ec830791da20": "no_answer",
            "9d9162e7-6cf3-4944-bf63-4dff82258764": "no_answer",
            "SCHEDULED": "meeting_booked", "COMPLETED": "meeting_booked",
            "RESCHEDULED": "meeting_booked", "NO_SHOW": "no_answer"}


@pytest.fixture
def sessions(concurrent_engine, monkeypatch, people_factory):
    """Units of work on a database that holds Handoff's people (ana, ben, sofia, erin...)."""
    monkeypatch.setenv("HANDOFF_SECRET_KEY", secret_box.new_key())
    with session_scope(concurrent_engine) as session:
        people_factory(session)
    return lambda: session_scope(concurrent_engine)


def configure(sessions, fake: FakeHubSpot, settings=None, credentials=None) -> None:
    with sessions() as session:
        configure_connector(session=session, actor=OPERATOR, name="hubspot",
                            settings=settings or fake.settings(),
                            credentials=credentials or fake.private_app_credentials())


def connector(sessions) -> Connector:
    with sessions() as session:
        return session.get(Connector, "hubspot")


def leads(sessions) -> dict[str, dict]:
    """Every stored lead, every column, by HubSpot id."""
    with sessions() as session:
        rows = session.execute(select(Lead.__table__)).mappings().all()
    return {row["external_id"]: dict(row) for row in rows}


def touches(sessions) -> dict[tuple, dict]:
    """Every stored touch, every column, by (HubSpot contact id, time, kind)."""
    with sessions() as session:
        rows = session.execute(select(Touch.__table__, Lead.external_id).join(
            Lead, Lead.id == Touch.lead_id)).mappings().all()
    return {(row["external_id"], utc(row["at"]), row["kind"]): dict(row) for row in rows}


def utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def assert_counts_add_up(result) -> None:
    assert result.read == result.inserted + result.updated + result.unchanged + result.rejected
    for counts in result.streams.values():
        assert counts["read"] == (counts["inserted"] + counts["updated"] + counts["unchanged"]
                                  + counts["rejected"])


def assert_everything_stored(sessions, fake: FakeHubSpot) -> None:
    """Each contact once, with HubSpot's current company, and each touch once."""
    stored = leads(sessions)
    assert {i: lead["company"] for i, lead in stored.items()} == {
        i: r.properties["company"] for i, r in fake.objects["contacts"].items()}
    with sessions() as session:
        count = session.execute(select(func.count()).select_from(Touch)).scalar_one()
    assert set(touches(sessions)) == fake.expected_touches()
    assert count == len(fake.expected_touches())


def assert_nothing_stored_past_a_watermark_is_missing(sessions, fake: FakeHubSpot) -> None:
    """Every record modified at or before its stream's watermark is stored as HubSpot has it."""
    marks = connector(sessions).watermarks
    stored_leads, stored_touches = leads(sessions), touches(sessions)
    for record in fake.modified_up_to("contacts", marks.get("contacts", "0")):
        assert stored_leads[record.id]["company"] == record.properties["company"]
    for stream, kind in (("calls", "call"), ("emails", "email"), ("meetings", "meeting")):
        for record in fake.modified_up_to(stream, marks.get(stream, "0")):
            at = parse_time(record.properties["hs_timestamp"])
            assert all((contact, at, kind) in stored_touches for contact in record.contacts)


def rows_at_watermarks(fake: FakeHubSpot, marks: dict[str, str]) -> int:
    """The rows a resumed sync reads again: those of the records modified at a watermark."""
    contacts = len(fake.modified_at("contacts", marks["contacts"]))
    return contacts + sum(len(r.contacts) for stream in STREAMS[1:]
                          for r in fake.modified_at(stream, marks[stream]))


def test_a_first_sync_stores_everything_and_a_second_only_the_50_records_that_changed(
        sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=2_000, engagements=6_000)
    configure(sessions, fake, fake.settings(page_size=200))
    first = run_sync("hubspot", sessions=sessions)
    assert (first.state, first.rejected) == ("ok", 0)
    assert first.streams["contacts"]["inserted"] == 2_000
    assert first.inserted == 2_000 + len(fake.expected_touches())
    assert_counts_add_up(first)
    assert_everything_stored(sessions, fake)
    marks = connector(sessions).watermarks
    assert marks == {stream: fake.latest(stream) for stream in STREAMS}
    before_leads, before_touches = leads(sessions), touches(sessions)

    changed = set(fake.change_contacts(20))
    edited = {stream: set(fake.change_engagements(stream, 10)) for stream in STREAMS[1:]}
    second = run_sync("hubspot", sessions=sessions)

    assert (second.updated, second.inserted, second.rejected) == (50, 0, 0)
    assert second.unchanged == rows_at_watermarks(fake, marks)
    assert {s: c["updated"] for s, c in second.streams.items()} == {
        "contacts": 20, "calls": 10, "emails": 10, "meetings": 10}
    assert_counts_add_up(second)
    after_leads, after_touches = leads(sessions), touches(sessions)
    assert {i for i in after_leads if after_leads[i] != before_leads[i]} == changed
    assert all(after_leads[i]["company"].endswith("(renamed)") and after_leads[i] == {
        **before_leads[i], "company": after_leads[i]["company"],
        "change_seq": after_leads[i]["change_seq"]} for i in changed)
    moved = {key for key in after_touches if after_touches[key] != before_touches[key]}
    assert after_touches.keys() == before_touches.keys() and len(moved) == 30
    assert all(after_touches[key] == {**before_touches[key], "note": after_touches[key]["note"],
                                      "change_seq": after_touches[key]["change_seq"]}
               and "(edited)" in after_touches[key]["note"] for key in moved)
    assert {key[0] for key in moved} == {contact for stream, ids in edited.items()
                                         for i in ids
                                         for contact in fake.objects[stream][i].contacts}


def test_a_429_storm_and_a_server_error_mid_paging_lose_and_double_nothing(sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=300, engagements=600)
    configure(sessions, fake, fake.settings(page_size=50))
    fake.rate_limit(5, after_pages=2)
    fake.fail_once(after_pages=4, status=503)
    fake.rate_limit(3, after_pages=9)
    result = run_sync("hubspot", sessions=sessions)
    assert result.state == "ok"
    assert [status for _, _, status in fake.log].count(429) == 8
    assert [status for _, _, status in fake.log].count(503) == 1
    assert result.streams["contacts"]["read"] == result.streams["contacts"]["inserted"] == 300
    assert_counts_add_up(result)
    assert_everything_stored(sessions, fake)


def test_an_expired_oauth_token_is_refreshed_and_kept_then_a_revoked_one_stops_the_sync(
        sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=300, engagements=300)
    configure(sessions, fake, fake.settings(auth="oauth", page_size=50), fake.oauth_credentials())
    fake.expire_token(after_pages=3)
    assert run_sync("hubspot", sessions=sessions).state == "ok"
    assert fake.refreshes == 1
    assert_everything_stored(sessions, fake)
    sealed = connector(sessions).secret
    assert "oauth-access-1" not in sealed
    assert json.loads(secret_box.unseal(sealed))["access_token"] == "oauth-access-1"

    fake.change_contacts(150)
    fake.revoke(after_pages=fake.pages + 2)
    with pytest.raises(TokenRevoked):
        run_sync("hubspot", sessions=sessions)
    stopped = connector(sessions)
    assert stopped.state == "failed"
    assert "refresh token" in stopped.last_error and "connect HubSpot again" in stopped.last_error
    assert stopped.watermarks["contacts"] < fake.latest("contacts")  # it stopped part-way
    assert_nothing_stored_past_a_watermark_is_missing(sessions, fake)


def test_a_revoked_private_app_token_stops_the_sync_with_what_to_do(sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=20, engagements=20)
    configure(sessions, fake)
    fake.revoke()
    with pytest.raises(TokenRevoked):
        run_sync("hubspot", sessions=sessions)
    stopped = connector(sessions)
    assert stopped.state == "failed" and "private app" in stopped.last_error
    assert stopped.watermarks == {} and leads(sessions) == {}


def test_a_sync_cut_short_resumes_from_its_last_chunk_without_losing_or_doubling_a_row(
        sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=300, engagements=600)
    configure(sessions, fake, fake.settings(page_size=50))
    fake.fail_permanently(after_pages=9)
    with pytest.raises(RateLimited):
        run_sync("hubspot", sessions=sessions)
    stopped = connector(sessions)
    assert stopped.state == "failed" and "429" in stopped.last_error
    assert set(stopped.watermarks) == {"contacts", "calls"}
    assert_nothing_stored_past_a_watermark_is_missing(sessions, fake)

    fake.recover()
    resumed = run_sync("hubspot", sessions=sessions)
    assert resumed.state == "ok" and resumed.streams["contacts"]["inserted"] == 0
    assert_counts_add_up(resumed)
    assert_everything_stored(sessions, fake)


def test_contacts_changed_while_the_sync_pages_are_neither_skipped_nor_left_stale(
        sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=300, engagements=0)
    configure(sessions, fake, fake.settings(page_size=50))
    fake.on_page(2, lambda: fake.change_contacts(40, oldest=True))  # 50 read: 40 move to the end
    assert run_sync("hubspot", sessions=sessions).state == "ok"
    assert_everything_stored(sessions, fake)


def test_more_contacts_than_one_search_may_page_through_are_all_read(sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=1_000, engagements=0, search_cap=300)
    configure(sessions, fake, fake.settings(page_size=100))
    result = run_sync("hubspot", sessions=sessions)
    assert result.streams["contacts"]["inserted"] == 1_000
    assert 400 not in {status for _, _, status in fake.log}
    assert_everything_stored(sessions, fake)


def test_owners_become_users_by_email_and_an_unknown_owner_keeps_the_email_and_is_reported(
        sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=200, engagements=200)
    configure(sessions, fake)
    run_sync("hubspot", sessions=sessions)
    owner_of = {"101": "ana", "102": "ben", "103": "sofia", "104": "rep@agency.test",
                "105": "erin", None: None}  # 105 is archived in HubSpot, still erin's
    stored = leads(sessions)
    assert {i: lead["owner"] for i, lead in stored.items()} == {
        i: owner_of[r.properties["hubspot_owner_id"]] for i, r in fake.objects["contacts"].items()}
    calls = {(contact, parse_time(r.properties["hs_timestamp"])): r
             for r in fake.objects["calls"].values() for contact in r.contacts}
    assert all(touch["rep"] == owner_of[calls[(key[0], key[1])].properties["hubspot_owner_id"]]
               for key, touch in touches(sessions).items() if key[2] == "call")

    users = {f"{name}@example.com": name for name in ("ana", "ben", "sofia", "erin")}
    chunks = list(hubspot.puller(fake.settings(page_size=200), fake.private_app_credentials(),
                                 owners=users, save_credentials=lambda _fresh: None).chunks({}))
    agency = sum(r.properties["hubspot_owner_id"] == "104"
                 for r in fake.objects["contacts"].values())
    assert chunks[0].stream == "contacts" and chunks[0].notes == [
        f"{agency} contacts had a HubSpot owner no Handoff user matches by email (kept as the "
        "owner's email, or empty when HubSpot has no email for the owner)"]


def test_engagements_become_touches_with_outcomes_notes_and_the_automated_rules(
        sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=100, engagements=500)
    configure(sessions, fake)
    run_sync("hubspot", sessions=sessions)
    stored = touches(sessions)
    engagements = {(contact, parse_time(r.properties["hs_timestamp"]), kind[:-1]): r
                   for kind in STREAMS[1:] for r in fake.objects[kind].values()
                   for contact in r.contacts}
    for key, touch in stored.items():
        values = engagements[key].properties
        said = values.get("hs_call_disposition") or values.get("hs_meeting_outcome")
        assert touch["outcome"] == OUTCOMES.get(said)  # a custom disposition: no outcome
        assert touch["automated"] == (values.get("hs_sequence_id") is not None or values.get(
            "hs_email_direction") in ("INCOMING_EMAIL", "FORWARDED_EMAIL"))
        assert len(touch["note"]) <= 5_000 and "<" not in touch["note"]
    assert any(len(touch["note"]) == 5_000 for touch in stored.values())
    assert any(touch["outcome"] == "connected" for touch in stored.values())

    rules = ["hs_email_direction=INCOMING_EMAIL"]
    chunks = hubspot.puller(fake.settings(automated_email=rules), fake.private_app_credentials(),
                            owners={}, save_credentials=lambda _fresh: None).chunks({})
    emails = [row for chunk in chunks if chunk.stream == "emails" for row in chunk.rows]
    assert emails and all(row["automated"] == (engagements[
        (row["lead_external_id"], parse_time(row["at"]), "email")].properties[
        "hs_email_direction"] == "INCOMING_EMAIL") for row in emails)


@pytest.mark.parametrize(("settings", "key"), [
    ({"auth": "password"}, "auth"), ({"page_size": 500}, "page_size"),
    ({"page_size": "many"}, "page_size"), ({"automated_email": ["sequence"]}, "automated_email"),
    ({"base_url": "api.hubapi.com"}, "base_url"), ({"pagesize": 50}, "pagesize"),
])
def test_a_bad_setting_is_refused_naming_it(sessions, httpserver, settings, key):
    fake = FakeHubSpot(httpserver, contacts=1, engagements=0)
    with pytest.raises(InvalidInput) as refused:
        configure(sessions, fake, {**fake.settings(), **settings})
    assert refused.value.field == key


def test_oauth_needs_the_app_id_secret_and_refresh_token_and_fills_in_defaults(
        sessions, httpserver):
    fake = FakeHubSpot(httpserver, contacts=1, engagements=0)
    with pytest.raises(InvalidInput, match="client_id, client_secret, refresh_token"):
        configure(sessions, fake, fake.settings(auth="oauth"), fake.private_app_credentials())
    configure(sessions, fake, {"base_url": fake.base_url + "/"})
    assert connector(sessions).settings == {
        "base_url": fake.base_url, "auth": "private_app", "page_size": 100, "every_minutes": 15,
        "automated_email": ["hs_sequence_id=*", "hs_email_direction=INCOMING_EMAIL",
                            "hs_email_direction=FORWARDED_EMAIL"]}


def test_a_call_on_a_contact_created_after_its_stream_was_read_is_stored_in_the_same_pass(
        sessions, httpserver):
    """The contact arrives after the contacts stream was read, its call before the calls
    stream is: the call first finds no lead, then the sync reads the contacts again and
    stores it, so nothing waits for the call to change again in HubSpot."""
    fake = FakeHubSpot(httpserver, contacts=50, engagements=0)
    configure(sessions, fake)
    late = {}

    def create_contact_and_call() -> None:
        late["contact"] = fake.add_contact(mql_at=datetime(2025, 11, 3, 14, tzinfo=UTC))
        fake.add_call(late["contact"], at=datetime(2025, 11, 3, 15, tzinfo=UTC))

    fake.on_page(1, create_contact_and_call)
    result = run_sync("hubspot", sessions=sessions)
    assert late and (result.rejected, result.errors) == (0, [])
    assert result.streams["contacts"]["inserted"] == 51
    assert result.streams["calls"]["inserted"] == 1
    assert_counts_add_up(result)
    assert (late["contact"], datetime(2025, 11, 3, 15, tzinfo=UTC), "call") in touches(sessions)
