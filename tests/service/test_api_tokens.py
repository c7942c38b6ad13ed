"""API tokens: shown once, kept as a hash, scoped, revocable, admin-only; the `api token`
commands."""

import json

import pytest
from sqlmodel import select

from core.errors import InvalidInput, NotFound
from core.permissions import PermissionDenied
from core.services import api_tokens, jobs, sync
from db.models import ApiToken, AuditEvent
from tests.service.test_cli import cli


def test_a_token_is_shown_once_and_only_its_hash_is_kept(session, people):
    view, token = api_tokens.create_token(session=session, actor=people["root"], name="Zapier",
                                          scope="write")
    assert token.startswith("hnd_") and len(token) >= 40
    stored = session.exec(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.prefix) and stored.token_hash != token
    assert view.shown == token[:12] + "…"
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "api_token.create")).one()
    assert token not in json.dumps(audit.after)
    client = api_tokens.client_for(session=session, token=token)
    assert (client.name, client.can_write, client.actor.username) == ("Zapier", True,
                                                                      "api:Zapier")
    assert api_tokens.list_tokens(session=session, actor=people["root"])[0].last_used_at


def test_a_revoked_or_altered_token_finds_no_client(session, people):
    view, token = api_tokens.create_token(session=session, actor=people["root"], name="script",
                                          scope="read")
    assert not api_tokens.client_for(session=session, token=token).can_write
    for wrong in (token[:-1], token + "x", "", None, token.removeprefix("hnd_"), "hnd_" * 60):
        assert api_tokens.client_for(session=session, token=wrong) is None
    api_tokens.revoke_token(session=session, actor=people["root"], token_id=view.id)
    assert api_tokens.client_for(session=session, token=token) is None
    again = api_tokens.revoke_token(session=session, actor=people["root"], token_id=view.id)
    assert not again.active
    with pytest.raises(NotFound, match="no API token #99"):
        api_tokens.revoke_token(session=session, actor=people["root"], token_id=99)


@pytest.mark.parametrize(("name", "scope", "field"), [
    ("", "read", "name"), ("x" * 65, "read", "name"), ("ok", "admin", "scope")])
def test_a_token_needs_a_name_and_a_known_scope(session, people, name, scope, field):
    with pytest.raises(InvalidInput) as refused:
        api_tokens.create_token(session=session, actor=people["root"], name=name, scope=scope)
    assert refused.value.field == field


@pytest.mark.parametrize("username", ["sofia", "marco", "erin", "ana", "mia"])
def test_only_an_admin_manages_tokens_and_connectors(session, people, username):
    actor = people[username]
    _view, token = api_tokens.create_token(session=session, actor=people["root"], name="crm",
                                           scope="write")
    refusals = [
        lambda: api_tokens.create_token(session=session, actor=actor, name="mine",
                                        scope="write"),
        lambda: api_tokens.list_tokens(session=session, actor=actor),
        lambda: api_tokens.revoke_token(session=session, actor=actor, token_id=1),
        lambda: sync.connectors(session=session, actor=actor),
        lambda: sync.configure_connector(session=session, actor=actor, name="hubspot",
                                         settings={}, credentials={"access_token": "x"}),
        lambda: sync.set_paused(session=session, actor=actor, name="hubspot", paused=True),
        lambda: sync.request_sync(session=session, actor=actor, name="hubspot"),
        lambda: jobs.recent_runs(session=session, actor=actor),
    ]
    for refused in refusals:
        with pytest.raises(PermissionDenied):
            refused()
    assert api_tokens.client_for(session=session, token=token) is not None


def test_the_api_token_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert cli(url, "db", "upgrade").returncode == 0
    created = cli(url, "api", "token", "create", "Zapier", "--scope", "write")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("hnd_") and "shown only now" in created.stderr
    listed = json.loads(cli(url, "api", "token", "list", "--format", "json").stdout)
    assert [(t["id"], t["name"], t["scope"], t["active"]) for t in listed] == [
        (1, "Zapier", "write", True)]
    assert token not in json.dumps(listed)
    assert "Zapier" in cli(url, "api", "token", "list").stdout
    assert cli(url, "api", "token", "revoke", "1").returncode == 0
    assert json.loads(cli(url, "api", "token", "list", "--format", "json").stdout)[0][
        "active"] is False
    missing = cli(url, "api", "token", "revoke", "7")
    assert missing.returncode == 1 and "no API token #7" in missing.stderr
    wrong = cli(url, "api", "token", "create", "x", "--scope", "admin")
    assert wrong.returncode == 2
