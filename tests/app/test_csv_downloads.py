"""Every CSV the app offers for download, and `report --format csv`, is safe to open in a
spreadsheet: no cell starts a formula, even when leads, the agreement and comments are hostile.

The pages run in AppTest; each download's bytes are read from the media file storage of the
AppTest run. The leads behind a chart mark need a click on the chart, which AppTest cannot make:
that table is built as the page builds it (core.dashboard.leads_behind, then
ui.exports.table_download's writer).
"""

import csv
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import app_test

from core import agreement as sla
from core import csv_safe, dashboard
from core.permissions import Role
from core.services import OPERATOR, agreements, leads, measurement, reviews
from db.engine import get_engine
from db.models import Lead
from tests.app.conftest import opened
from tests.sla_helpers import activate, around_the_clock

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-04-20T12:00:00+00:00"
NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
USERS = {"ana": Role.SALES_REP, "sofia": Role.SALES_HEAD, "marco": Role.MARKETING_HEAD,
         "erin": Role.EXEC, "mia": Role.MARKETER}
COMPANY = '=HYPERLINK("http://127.0.0.1:9/x","x")'
NAME = "+SUM(1,1)"
EMAIL = "@x"
CHANNEL = "-1+2"
OWNER = "@rep"
SEGMENT = "=segment()"
REGION = "+region"
EXTERNAL_ID = "=X1"
COMMAND = "=cmd|' /C calc'!A0"
REASON = COMMAND  # a rejection reason of the agreement, and of a lead
ATTRIBUTE = "=attr"
# The four quarters before 2026-Q2 (still running), for the goal planner's history.
HISTORY = [(2025, 4), (2025, 7), (2025, 10), (2026, 1)]
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def hostile_document() -> sla.Document:
    """The always-on UTC SLA from 2025 on, with a hostile rejection reason and MQL criterion."""
    data = sla.to_dict(around_the_clock("Hostile SLA"))
    data["effective"]["start"] = "2025-01-01"
    data["rejection_reasons"].append(REASON)
    data["stages"]["mql"]["criteria"].append({"field": ATTRIBUTE, "op": "exists", "value": True})
    return sla.from_dict(data)


def hostile_lead(external_id: str, mql: datetime, **fields) -> Lead:
    """A lead whose every text field would start a formula in a spreadsheet."""
    return Lead(source="crm", external_id=external_id, created_at=mql, mql_at=mql, owner=OWNER,
                company=COMPANY, name=NAME, email=EMAIL, channel=CHANNEL, segment=SEGMENT,
                region=REGION, score=80, attributes={ATTRIBUTE: COMMAND}, **fields)


def history() -> list[Lead]:
    """Per past quarter 10 MQLs, 5 accepted, 2 SQLs and 1 deal won (by the hostile owner)."""
    rows = []
    for quarter, (year, month) in enumerate(HISTORY):
        for index in range(10):
            mql = datetime(year, month, 2, 10, tzinfo=UTC) + timedelta(days=index)
            rows.append(hostile_lead(
                f"{EXTERNAL_ID}-{quarter}-{index}", mql,
                accepted_at=mql + timedelta(hours=1) if index < 5 else None,
                sql_at=mql + timedelta(days=3) if index < 2 else None,
                won_at=mql + timedelta(days=20) if index == 0 else None,
                amount=3000 if index == 0 else None))
    return rows


def this_month() -> list[Lead]:
    """April's leads: one at risk and one overdue on first touch, and one rejected."""
    return [hostile_lead(EXTERNAL_ID, NOW - timedelta(hours=3, minutes=30)),
            hostile_lead("overdue", NOW - timedelta(hours=6)),
            hostile_lead("rejected", NOW - timedelta(days=5),
                         rejected_at=NOW - timedelta(days=4), rejection_reason=REASON)]


@pytest.fixture
def world(app_db):
    """The hostile SLA signed with a draft amendment, hostile leads, a dispute and comments."""
    people = {name: app_db(name, role) for name, role in USERS.items()}
    with Session(get_engine()) as session:
        version = activate(session, people, hostile_document())
        agreements.amend(session=session, actor=people["marco"], agreement_id=version.agreement_id)
        april = this_month()
        session.add_all(april + history())
        session.flush()
        rejected = april[-1]
        leads.dispute_rejection(session=session, actor=people["mia"], lead_id=rejected.id,
                                comment=COMMAND)
        agreements.add_comment(session=session, actor=people["sofia"],
                               agreement_id=version.agreement_id, number=version.number,
                               body=COMMAND)
        reviews.comment(session=session, actor=people["sofia"], quarter="2026-Q1", body=COMMAND)
        session.commit()
    return people


@pytest.fixture
def media(monkeypatch) -> list[MemoryMediaFileStorage]:
    """The media file storage of every AppTest run (where download buttons put their bytes)."""
    stores: list[MemoryMediaFileStorage] = []

    class Recorded(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recorded)
    return stores


def csv_downloads(at, stores: list[MemoryMediaFileStorage]) -> dict[str, list[list[str]]]:
    """Every CSV download of the page's last run, parsed, by widget key."""
    found = {}
    for button in at.get("download_button"):
        if not button.proto.url:  # deferred (PNG, SVG, PDF): made on click, none is a CSV
            continue
        stored = stores[-1].get_file(button.proto.url.rsplit("/", 1)[-1])
        if (stored.filename or "").endswith(".csv"):
            found[button.key] = list(csv.reader(io.StringIO(stored.content.decode())))
    return found


def formula_cells(table: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would run: any that starts like a formula and is not a number."""
    return [cell for row in table for cell in row
            if cell.startswith(csv_safe.FORMULA_STARTS) and not NUMBER.fullmatch(cell)]


def all_cells(downloads: dict[str, list[list[str]]]) -> set[str]:
    return {cell for table in downloads.values() for row in table for cell in row}


def assert_inert(downloads: dict[str, list[list[str]]]) -> None:
    assert {key: formula_cells(table) for key, table in downloads.items()
            if formula_cells(table)} == {}


def page_downloads(actor, page: str, stores) -> dict[str, list[list[str]]]:
    return csv_downloads(opened(actor, f"app_pages/{page}.py", AS_OF), stores)


def test_the_dashboards_csv_downloads_hold_the_hostile_text_inert(world, media):
    downloads = page_downloads(world["sofia"], "dashboard", media)
    assert {"dash_card_csv", "dash_export_heatmap_csv", "dash_export_reasons_csv",
            "dash_export_conformance_csv", "dash_whatif_csv"} <= set(downloads)
    assert_inert(downloads)
    shown = all_cells(downloads)
    assert f"'{OWNER}" in shown and f"'{REASON}" in shown  # the heatmap's rep, the reason
    assert any(cell.startswith(f"'{ATTRIBUTE}") for cell in shown)  # the criterion


def test_the_leads_behind_a_chart_mark_download_inert(world):
    with Session(get_engine()) as session:
        scope = measurement.scope(session=session, actor=OPERATOR, period="2026-04",
                                     as_of=AS_OF)
        evaluation = measurement.measure(session=session, actor=OPERATOR, scope=scope)
    behind = dashboard.leads_behind(evaluation, "reasons", {"reason": REASON})
    table = list(csv.reader(io.StringIO(csv_safe.frame_csv(behind))))
    assert formula_cells(table) == []
    assert table[1][:5] == ["rejected", f"'{NAME}", f"'{COMPANY}", f"'{OWNER}", f"'{CHANNEL}"]


def test_the_worklist_download_holds_the_hostile_lead_inert(world, media):
    downloads = page_downloads(world["sofia"], "leads", media)
    assert set(downloads) == {"work_csv"}
    assert_inert(downloads)
    header, *lines = downloads["work_csv"]
    by_lead = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    at_risk = by_lead[f"'{EXTERNAL_ID}"]
    assert (at_risk["Name"], at_risk["Company"], at_risk["Owner"]) == (
        f"'{NAME}", f"'{COMPANY}", f"'{OWNER}")


def test_the_planners_downloads_hold_the_hostile_rep_inert(world, media):
    downloads = page_downloads(world["sofia"], "planner", media)
    assert set(downloads) == {"plan_by_month_csv", "plan_by_rep_csv"}
    assert_inert(downloads)
    assert f"'{OWNER}" in all_cells(downloads)


def test_the_reviews_scorecard_download_is_inert(world, media):
    downloads = page_downloads(world["sofia"], "review", media)
    assert set(downloads) == {"review_csv"}
    assert_inert(downloads)
    assert downloads["review_csv"][0][:2] == ["quarter", "state"]


def test_the_import_errors_download_is_inert(world, media):
    at = opened(world["sofia"], "app_pages/import_data.py", AS_OF)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["external_id", "mql_at", "company"],
                                  [EXTERNAL_ID, COMMAND, COMPANY]])
    upload = buffer.getvalue().encode()
    at.file_uploader(key="import_file_leads").upload("leads.csv", upload, "text/csv").run()
    assert not at.exception, at.exception
    downloads = csv_downloads(at, media)
    assert set(downloads) == {"import_preview_errors"}
    assert_inert(downloads)


def cli(*args: str) -> list[list[str]]:
    """`python -m core.cli report ...` on the world's database, its CSV parsed."""
    result = subprocess.run([sys.executable, "-m", "core.cli", "report", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    return list(csv.reader(io.StringIO(result.stdout)))


def test_report_csv_and_detail_csv_are_inert_and_keep_their_columns(world):
    period = ["--period", "2026-04", "--as-of", AS_OF, "--format", "csv"]
    summary = cli(*period)
    assert summary[0][:5] == ["section", "id", "owner", "kind", "status"]
    assert formula_cells(summary) == []
    detail = cli(*period, "--detail")
    assert detail[0] == ["external_id", "source", "commitment", "state", "start", "due",
                         "stopped_at", "elapsed_seconds", "breach_seconds", "agreement_version"]
    assert formula_cells(detail) == []
    assert f"'{EXTERNAL_ID}" in {row[0] for row in detail}
