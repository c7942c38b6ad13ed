"""The connectors' settings and state as the admin manages them: settings checked and kept,
credentials sealed and never shown, "sync now" queued on the worker's real queue, the
schedule, and the "data as of" line."""

from datetime import timedelta

import pytest
from sqlmodel import select

from core import clock, secret_box, worker
from core.errors import InvalidInput, NotFound
from core.services import OPERATOR, api_tokens, sync
from core.services.imports import import_lead_rows
from db.models import AuditEvent, Connector, utcnow

TOKEN = "pat-na1-0000aaaa-bbbb-cccc-dddd-eeeeffff9999"


@pytest.fixture(autouse=True)
def sealed(monkeypatch, tmp_path):
    monkeypatch.setenv("HANDOFF_SECRET_KEY", secret_box.new_key())
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("HANDOFF_WORKER_DB", str(tmp_path / "worker.db"))
    monkeypatch.setenv("HANDOFF_WORKER_NAME", f"test-{tmp_path.name}")


def configure(session, **settings):
    return sync.configure_connector(session=session, actor=OPERATOR, name="hubspot",
                                    settings={"base_url": "http://127.0.0.1:9", **settings},
                                    credentials={"access_token": TOKEN})


def test_credentials_are_sealed_hinted_and_never_audited(session, people):
    view = configure(session)
    assert (view.configured, view.state, view.secret_hint) == (True, "idle", "…9999")
    stored = session.get(Connector, "hubspot")
    assert TOKEN not in stored.secret and TOKEN not in str(view)
    audits = session.exec(select(AuditEvent).where(AuditEvent.action == "connector.configure"))
    assert all(TOKEN not in str(event.after) for event in audits)
    again = sync.configure_connector(session=session, actor=OPERATOR, name="hubspot",
                                     settings={"base_url": "http://127.0.0.1:9"},
                                     credentials={"access_token": ""})  # empty: kept
    assert again.secret_hint == "…9999"


def test_a_connector_needs_its_credentials_and_valid_settings(session, people):
    with pytest.raises(InvalidInput, match="credentials"):
        sync.configure_connector(session=session, actor=OPERATOR, name="hubspot",
                                 settings={})
    with pytest.raises(InvalidInput) as refused:
        configure(session, every_minutes=0)
    assert refused.value.field == "every_minutes"
    with pytest.raises(InvalidInput, match="unknown connector 'pipedrive'"):
        sync.set_paused(session=session, actor=OPERATOR, name="pipedrive", paused=True)
    assert session.get(Connector, "hubspot") is None


def test_sync_now_queues_a_forced_sync_on_the_workers_queue(session, people):
    with pytest.raises(NotFound, match="not configured"):
        sync.request_sync(session=session, actor=OPERATOR, name="hubspot")
    configure(session)
    sync.set_paused(session=session, actor=OPERATOR, name="hubspot", paused=True)
    sync.request_sync(session=session, actor=OPERATOR, name="hubspot")
    [queued] = worker.queue().huey.pending()
    assert (queued.name, queued.args, queued.kwargs) == ("sync", ("hubspot",), {"force": True})


def test_the_schedule_runs_each_configured_unpaused_connector_every_n_minutes(session, people):
    assert sync.due_connectors(session) == []
    configure(session, every_minutes=30)
    assert sync.due_connectors(session) == ["hubspot"]  # never run: due now
    row = session.get(Connector, "hubspot")
    row.last_started_at = row.last_finished_at = utcnow()
    session.add(row)
    assert sync.due_connectors(session) == []
    assert sync.due_connectors(session, clock.now() + timedelta(minutes=31)) == ["hubspot"]
    sync.set_paused(session=session, actor=OPERATOR, name="hubspot", paused=True)
    assert sync.due_connectors(session, clock.now() + timedelta(minutes=31)) == []


def test_data_as_of_names_the_latest_source(session, people):
    assert sync.data_freshness(session=session, actor=people["ana"]) is None
    import_lead_rows(session=session, actor=api_tokens.ApiClient(1, "Zapier", "write").actor,
                     rows=[{"external_id": "1", "mql_at": "2026-11-02T09:00:00Z"}],
                     source="web", name="API batch (Zapier)")
    assert sync.data_freshness(session=session, actor=people["ana"]).source == "the REST API"
    configure(session)
    row = session.get(Connector, "hubspot")
    row.last_success_at = utcnow() + timedelta(seconds=1)
    session.add(row)
    fresh = sync.data_freshness(session=session, actor=people["ana"])
    assert (fresh.source, fresh.at) == ("HubSpot", row.last_success_at)
