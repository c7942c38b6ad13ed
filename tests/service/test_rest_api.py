"""The REST API over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL: tokens and
scopes, the body limit, batches with bad rows, the report, health, and schemathesis against the
OpenAPI document."""

import json

import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from core.services import OPERATOR, api_tokens
from db import migrate
from db.models import ImportBatch, Lead, Touch
from tests.api_server import serving_api
from tests.service.conftest import add_people
from tests.service.test_cli import cli
from tests.service.test_reports import seed_world

LEADS = [
    {"external_id": "w-1", "mql_at": "2026-03-02T14:00:00Z", "owner": "ana",
     "channel": "webinar", "score": 55, "utm_campaign": "spring"},
    {"external_id": "w-2", "mql_at": "yesterday-ish"},
    {"external_id": "w-3", "mql_at": "2026-03-02T15:00:00Z", "email": "not an email"},
    {"external_id": "w-4", "created_at": "2026-03-02T16:00:00+01:00", "amount": 1200.5},
]


@pytest.fixture
def world(concurrent_engine, monkeypatch):
    """The API on the test's database, with people, a signed agreement and three tokens. The
    tables come from the models, which the migrations match (test_migrations): stamped at the
    head, the database is what `db upgrade` makes, so health says ok."""
    url = concurrent_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    with concurrent_engine.begin() as connection:
        command.stamp(migrate.alembic_config(connection), "head")
    with Session(concurrent_engine) as session:
        seed_world(session, add_people(session))
        tokens = {scope: api_tokens.create_token(session=session, actor=OPERATOR,
                                                 name=f"{scope} client", scope=scope)[1]
                  for scope in ("read", "write")}
        revoked, tokens["revoked"] = api_tokens.create_token(
            session=session, actor=OPERATOR, name="old client", scope="write")
        api_tokens.revoke_token(session=session, actor=OPERATOR, token_id=revoked.id)
        session.commit()
    with serving_api() as base:
        yield base, tokens, concurrent_engine, url
    with concurrent_engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored_leads(engine, source: str = "web") -> dict[str, Lead]:
    with Session(engine) as session:
        rows = session.exec(select(Lead).where(Lead.source == source)).all()
        return {lead.external_id: lead for lead in rows}


def test_no_token_an_unknown_one_or_a_revoked_one_is_401_and_writes_nothing(world):
    base, tokens, engine, _url = world
    body = {"source": "web", "rows": LEADS}
    for headers in ({}, bearer("hnd_not-a-token"), bearer(tokens["revoked"]),
                    {"Authorization": tokens["write"]}):  # no "Bearer"
        answer = httpx.post(f"{base}/api/v1/leads", json=body, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert "Bearer" in answer.json()["detail"]
    assert httpx.get(f"{base}/api/v1/report", params={"period": "2026-03"},
                     headers=bearer(tokens["revoked"])).status_code == 401
    assert stored_leads(engine) == {}


def test_a_read_token_reads_the_report_but_cannot_write(world):
    base, tokens, engine, _url = world
    refused = httpx.post(f"{base}/api/v1/leads", json={"source": "web", "rows": LEADS},
                         headers=bearer(tokens["read"]))
    assert refused.status_code == 403
    assert "read-only" in refused.json()["detail"]
    assert httpx.post(f"{base}/api/v1/touches", json={"source": "web", "rows": [
        {"lead_external_id": "fast", "at": "2026-03-03T10:00:00Z"}]},
        headers=bearer(tokens["read"])).status_code == 403
    assert stored_leads(engine) == {}
    report = httpx.get(f"{base}/api/v1/report", headers=bearer(tokens["read"]),
                       params={"period": "2026-03", "as_of": "2026-04-15"})
    assert report.status_code == 200
    assert report.json()["funnel"]["mql"] == 3


def test_a_batch_with_bad_rows_imports_the_good_ones_and_names_the_bad_ones(world):
    base, tokens, engine, _url = world
    answer = httpx.post(f"{base}/api/v1/leads", json={"source": "web", "rows": LEADS},
                        headers=bearer(tokens["write"]))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["read"], result["inserted"], result["rejected"]) == (4, 2, 2)
    assert result["read"] == (result["inserted"] + result["updated"] + result["unchanged"]
                              + result["rejected"])
    assert [(e["line"], e["column"]) for e in result["errors"]] == [(2, "mql_at"), (3, "email")]
    leads = stored_leads(engine)
    assert set(leads) == {"w-1", "w-4"}
    assert leads["w-1"].attributes == {"utm_campaign": "spring"}
    assert leads["w-4"].amount == 1200.5
    with Session(engine) as session:
        batch = session.get(ImportBatch, result["batch"])
        assert (batch.actor, batch.source) == ("api:write client", "web")

    touches = [{"lead_external_id": "w-1", "at": "2026-03-02T15:00:00Z", "kind": "call",
                "rep": "ana", "outcome": "connected", "automated": False},
               {"lead_external_id": "w-9", "at": "2026-03-02T15:00:00Z"}]
    answer = httpx.post(f"{base}/api/v1/touches", json={"source": "web", "rows": touches},
                        headers=bearer(tokens["write"]))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["inserted"], answer.json()["rejected"]) == (1, 1)
    assert answer.json()["errors"][0]["line"] == 2
    again = httpx.post(f"{base}/api/v1/touches", json={"source": "web", "rows": touches[:1]},
                       headers=bearer(tokens["write"])).json()
    assert (again["inserted"], again["unchanged"]) == (0, 1)
    with Session(engine) as session:
        assert len(session.exec(select(Touch).where(Touch.rep == "ana",
                                                    Touch.outcome == "connected")).all()) == 1


@pytest.mark.parametrize("body", [
    {"source": "web"},  # no rows
    {"source": "web", "rows": []},
    {"source": "", "rows": [{"external_id": "x"}]},
    {"source": "web", "rows": [{"external_id": {"nested": 1}}]},
    {"source": "web", "rows": "external_id=x"},
    {"source": "web", "rows": [{"x" * 300: "too long a field name"}]},
])
def test_a_malformed_batch_is_422_naming_what_is_wrong_and_writes_nothing(world, body):
    base, tokens, engine, _url = world
    answer = httpx.post(f"{base}/api/v1/leads", json=body, headers=bearer(tokens["write"]))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]
    assert stored_leads(engine) == {}


def test_an_oversized_body_is_413_whether_declared_or_streamed(world):
    base, tokens, engine, _url = world
    rows = [{"external_id": f"big-{n}", "mql_at": "2026-03-02T14:00:00Z", "note": "x" * 1000}
            for n in range(9_000)]
    data = json.dumps({"source": "web", "rows": rows}).encode()
    answer = httpx.post(f"{base}/api/v1/leads", content=data, headers={
        **bearer(tokens["write"]), "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "8,388,608 bytes" in answer.json()["detail"]

    def chunks():  # no Content-Length: the limit counts the bytes as they arrive
        for start in range(0, len(data), 64 * 1024):
            yield data[start:start + 64 * 1024]

    streamed = httpx.post(f"{base}/api/v1/leads", content=chunks(), headers={
        **bearer(tokens["write"]), "Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert stored_leads(engine) == {}


def test_the_report_is_the_clis_report(world):
    base, tokens, _engine, url = world
    params = {"period": "2026-03", "as_of": "2026-04-15T00:00:00Z", "by": "channel"}
    answer = httpx.get(f"{base}/api/v1/report", params=params, headers=bearer(tokens["read"]))
    assert answer.status_code == 200, answer.text
    printed = cli(url, "report", "--period", "2026-03", "--as-of", "2026-04-15T00:00:00Z",
                  "--by", "channel")
    assert printed.returncode == 0, printed.stderr
    assert answer.json() == json.loads(printed.stdout)
    assert {row["channel"] for row in answer.json()["breakdown"]} == {"paid_search", "social"}


def test_a_report_on_an_uncovered_or_malformed_period_is_422_with_the_reason(world):
    base, tokens, _engine, _url = world
    uncovered = httpx.get(f"{base}/api/v1/report", params={"period": "2019-03"},
                          headers=bearer(tokens["read"]))
    assert uncovered.status_code == 422
    assert "no signed version covers" in uncovered.json()["detail"]
    malformed = httpx.get(f"{base}/api/v1/report", params={"period": "March"},
                          headers=bearer(tokens["read"]))
    assert malformed.status_code == 422
    assert malformed.json()["detail"].startswith("period")


def test_health_says_whether_the_schema_is_the_codes(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    with serving_api() as base:
        empty = httpx.get(f"{base}/api/v1/health")
    assert empty.status_code == 503
    assert empty.json()["schema"] is None and "db upgrade" in empty.json()["reason"]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'migrated.db'}")
    migrate.upgrade()
    with serving_api() as base:
        ready = httpx.get(f"{base}/api/v1/health")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "schema": migrate.head_revision(),
                            "expected": migrate.head_revision()}


def test_the_openapi_document_describes_every_route(world):
    base, _tokens, _engine, _url = world
    document = httpx.get(f"{base}/api/v1/openapi.json").json()
    assert set(document["paths"]) == {"/api/v1/health", "/api/v1/leads", "/api/v1/touches",
                                      "/api/v1/report", *PROBES}
    assert {"401", "403", "413", "422"} <= set(document["paths"]["/api/v1/leads"]["post"]
                                               ["responses"])


# The checks of the proxy and the operators: they take nothing, and /ready answers 503 by
# design while a part is missing (this world has no worker)
PROBES = {"/api/v1/health", "/api/v1/ready", "/api/v1/live"}


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_finds_no_server_error(world, mode):
    """Requests generated from the OpenAPI document, valid and invalid, with a write token:
    every answer is below 500 (but for /ready's 503: not ready)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.generation.modes import GenerationMode

    base, tokens, _engine, _url = world
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    failures = []

    def explore(operation) -> None:
        @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(GenerationMode(mode)))
        def call(case):
            response = case.call(base_url=base, headers=bearer(tokens["write"]), timeout=60)
            if response.status_code >= 500 and not (
                    operation.path == "/api/v1/ready" and response.status_code == 503):
                failures.append((operation.label, response.status_code, response.text[:300]))

        call()

    for result in schema.get_all_operations():
        operation = result.ok()
        if mode == "negative" and operation.path in PROBES:
            continue  # they take nothing, so nothing they take can be invalid
        explore(operation)
    assert failures == []
