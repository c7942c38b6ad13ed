"""The Olist export (2017–2018) imported into the demo: no signed version covers 2018-03, so the
Compliance page and the CLI say so, name the versions there are, and offer the what-if instead
of scoring those MQLs against an unrelated version."""

import json
import os
from datetime import date
from pathlib import Path

import pandas as pd
from sqlmodel import Session

from core.services import get_actor
from db.engine import get_engine
from tests.app.conftest import opened
from tests.service.test_cli import cli

OLIST = Path(__file__).resolve().parents[1] / "unit" / "ingest_fixtures" / "olist_mql_iso.csv"
AS_OF = "2026-03-20T16:00:00+00:00"


def olist_in_the_demo(small_demo) -> tuple[str, int]:
    """The demo seeded as of 2026-03-20, then the Olist MQLs imported as a user would (naive
    dates in the agreement's zone); the database URL and the number of March 2018 MQLs."""
    small_demo(date(2026, 3, 20))
    url = os.environ["DATABASE_URL"]
    result = cli(url, "import", "leads", str(OLIST), "--map", "external_id=mql_id",
                 "--map", "mql_at=first_contact_date", "--map", "channel=origin",
                 "--source", "olist", "--format", "json")
    assert result.returncode == 0, result.stderr
    march = pd.read_csv(OLIST)["first_contact_date"].str.startswith("2018-03").sum()
    assert march > 0
    return url, int(march)


def test_the_cli_refuses_the_uncovered_period_and_measures_it_as_a_what_if(small_demo):
    url, march = olist_in_the_demo(small_demo)
    refused = cli(url, "report", "--period", "2018-03", "--as-of", AS_OF)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "no signed version covers 2018-03" in refused.stderr
    assert "version 1 is in force from 2025-" in refused.stderr  # names what exists
    assert "--what-if" in refused.stderr

    measured = cli(url, "report", "--period", "2018-03", "--as-of", AS_OF, "--what-if", "1")
    assert measured.returncode == 0, measured.stderr
    report = json.loads(measured.stdout)
    assert report["what_if"]["version"] == 1
    # Measured from the imported March MQLs (those meeting the agreement's MQL criteria).
    assert report["period"]["start"].startswith("2018-03-01")
    assert 1 <= report["funnel"]["mql"] <= march


def test_the_page_says_the_period_is_not_covered_and_offers_the_what_if(small_demo):
    _, march = olist_in_the_demo(small_demo)
    with Session(get_engine()) as session:
        sofia = get_actor(session=session, username="sofia")
    at = opened(sofia, "app_pages/dashboard.py", AS_OF)
    at.text_input(key="dash_period").set_value("2018-03").run()
    assert not at.exception, at.exception
    [warning] = at.warning
    assert "No signed version covers 2018-03" in warning.value
    assert "version 1 is in force from" in warning.value  # with its dates
    assert "--what-if" not in warning.value  # the page offers the choice itself
    assert not at.metric  # nothing is scored against an unrelated version
    assert not at.get("vega_lite_chart")

    offer = at.selectbox(key="dash_uncovered_version")
    [version_1] = [option for option in offer.options if option.startswith("Version 1 ")]
    offer.set_value(version_1).run()
    assert not at.exception, at.exception
    assert any("what-if: every lead measured against version 1" in caption.value
               for caption in at.caption)
    assert at.metric and len(at.get("vega_lite_chart")) == 8
    mql = next(metric for metric in at.metric if metric.label == "MQL volume")
    assert mql.value  # the what-if is measured from the imported MQLs
    assert march > 0
