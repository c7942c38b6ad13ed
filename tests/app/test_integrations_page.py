"""Integrations page (admin): the connectors' state and forms, credentials never shown again,
API tokens shown once and revoked, and every other role stopped by the page itself."""

import pytest
from sqlmodel import Session, select

from core import secret_box
from core.permissions import Role
from db.engine import get_engine
from db.models import ApiToken, Connector
from tests.app.conftest import logged_in

PAGE = "app_pages/integrations.py"
TOKEN = "pat-na1-0123456789abcdef-secret"


@pytest.fixture
def admin(app_db, monkeypatch):
    monkeypatch.setenv("HANDOFF_SECRET_KEY", secret_box.new_key())
    return app_db("root", Role.ADMIN)


def opened(actor):
    at = logged_in(actor, PAGE).run()
    assert not at.exception, at.exception
    return at


def page_text(at) -> str:
    parts = [element.value for kind in ("markdown", "caption", "success", "error", "code",
                                         "metric") for element in getattr(at, kind)]
    return " ".join(str(part) for part in parts)


def test_the_connectors_start_not_configured(admin):
    at = opened(admin)
    assert at.title[0].value == "Integrations"
    assert "**HubSpot** :gray-badge[Not configured]" in page_text(at)
    assert "**Salesforce** :gray-badge[Not configured]" in page_text(at)
    assert at.button(key="integrations_hubspot_now").disabled
    assert "no job yet" in page_text(at)


def test_saving_credentials_seals_them_and_never_shows_them_again(admin):
    at = opened(admin)
    at.text_input(key="integrations_hubspot_form_access_token").input(TOKEN)
    at.button(key="FormSubmitter:integrations_hubspot_form-Save").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "HubSpot's settings are saved."
    assert ":green-badge[Idle]" in page_text(at)
    with Session(get_engine()) as session:
        stored = session.get(Connector, "hubspot")
    assert TOKEN not in stored.secret and TOKEN in secret_box.unseal(stored.secret)
    label = at.text_input(key="integrations_hubspot_form_access_token").label
    assert "stored: …cret" in label
    assert TOKEN not in page_text(at) and at.text_input(
        key="integrations_hubspot_form_access_token").value == ""
    at.button(key="integrations_hubspot_pause").click().run()
    assert ":orange-badge[Paused]" in page_text(at)


def test_a_bad_setting_is_named_and_nothing_is_stored(admin):
    at = opened(admin)
    at.text_input(key="integrations_hubspot_form_base_url").input("ftp://example.com")
    at.text_input(key="integrations_hubspot_form_access_token").input(TOKEN)
    at.button(key="FormSubmitter:integrations_hubspot_form-Save").click().run()
    assert at.error[0].value.startswith("base_url")
    with Session(get_engine()) as session:
        assert session.get(Connector, "hubspot") is None


def test_a_token_is_shown_once_then_revoked(admin):
    at = opened(admin)
    at.text_input(key="integrations_token_name").input("Website form")
    at.button(key="FormSubmitter:integrations_token_new-Create token").click().run()
    assert not at.exception, at.exception
    token = at.code[0].value
    assert token.startswith("hnd_")
    with Session(get_engine()) as session:
        assert session.exec(select(ApiToken)).one().token_hash != token
    assert at.dataframe[-1].value["Client"].tolist() == ["Website form"]
    at.run()
    assert not at.code and token not in page_text(at)
    at.button(key="FormSubmitter:integrations_token_revoke-Revoke").click().run()
    assert at.success[0].value == "Token #1 is revoked."
    assert at.dataframe[-1].value["State"].iloc[0].startswith("revoked")


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_other_roles_are_stopped_by_the_page_itself(app_db, role):
    at = logged_in(app_db("kim", role), script=PAGE).run()
    assert not at.exception
    assert "cannot open Integrations" in at.error[0].value


def test_a_failed_sync_shows_its_error_and_what_it_did(admin, httpserver):
    from core.connectors.base import TokenRevoked
    from core.services import OPERATOR
    from core.services.sync import configure_connector, run_sync
    from db.engine import session_scope
    from tests.fakes.hubspot import FakeHubSpot

    fake = FakeHubSpot(httpserver, contacts=120, engagements=0)
    sessions = lambda: session_scope(get_engine())  # noqa: E731
    with sessions() as session:
        configure_connector(session=session, actor=OPERATOR, name="hubspot",
                            settings=fake.settings(page_size=50),
                            credentials=fake.private_app_credentials())
    fake.revoke(after_pages=2)
    with pytest.raises(TokenRevoked):
        run_sync("hubspot", sessions=sessions)
    at = opened(admin)
    assert ":red-badge[Failed]" in page_text(at)
    [error] = at.error
    assert error.value.startswith("The last sync stopped:") and "private app" in error.value
    read = next(metric.value for metric in at.metric if metric.label == "Rows read")  # HubSpot's
    assert 0 < int(read) < 120  # the pages before the refusal were stored
