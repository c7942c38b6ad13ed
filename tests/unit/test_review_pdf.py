"""The signed quarterly review PDF, read back with pypdf."""

import io

import pytest
from pypdf import PdfReader

from core import dashboard, review_pdf

REPORT = {
    "agreement": {"id": 1, "version": 2, "title": "Sales–Marketing SLA 2026"},
    "period": {"start": "2026-07-01T04:00:00Z", "end": "2026-10-01T04:00:00Z"},
    "as_of": "2026-10-05T14:00:00Z",
    "commitments": [
        {"id": "mql-volume", "owner": "marketing", "kind": "volume", "stage": "mql",
         "per": "month", "target": 3000, "actual": 3174, "attainment_pct": 105.8,
         "expected_to_date": 3000, "projected": 3174, "status": "met"},
        {"id": "first-touch", "owner": "sales", "kind": "response", "within": "4h",
         "within_seconds": 14400, "target_pct": 90, "met": 812, "breached": 78, "overdue": 3,
         "pending": 0, "at_risk": 0, "compliance_pct": 91.24, "median_seconds": 3600,
         "p90_seconds": 12000, "median_breach_seconds": 900, "status": "met"},
        {"id": "mql-acceptance", "owner": "marketing", "kind": "acceptance_rate",
         "target_pct": 80, "accepted": 700, "rejected": 200, "acceptance_pct": 77.78,
         "status": "missed"},
    ],
    "shared_goals": [{"id": "won-revenue", "metric": "won_amount", "per": "quarter",
                      "target": 500000, "actual": 431000, "attainment_pct": 86.2,
                      "expected_to_date": 500000, "projected": 431000, "status": "missed"}],
    "funnel": {"mql": 3174, "sal": 700, "sql": 300, "won": 80},
    "quality": {"definition_conformance_pct": 91.2, "accepted": 700, "rejected": 200,
                "rejection_reasons": {"not_a_fit": 120, "duplicate": 80}, "disputed": 7,
                "recycled": 31},
    "breakdown": [],
}
REVIEW = {
    "quarter": "2026-Q3", "agreement": REPORT["agreement"], "state": "signed",
    "scorecard": REPORT, "live": REPORT,
    "comments": [
        {"author": "marco", "author_name": "Marco Bianchi", "role": "marketing_head",
         "at": "2026-10-02T15:00:00Z", "body": "Volume beat the target – finally.",
         "kind": "comment"},
        {"author": "erin", "author_name": "Erin Walsh", "role": "exec",
         "at": "2026-10-05T14:03:00Z", "body": "Signed; keep first touch above 90%.",
         "kind": "sign"},
    ],
    "signed_by": "erin", "signed_by_name": "Erin Walsh", "signed_at": "2026-10-05T14:03:00Z",
    "changed_since_signoff": [{"figure": "funnel.mql", "signed": 3174, "now": 3180}],
    "trend": [], "causes": {"reps": [], "channels": [], "rejection_reasons": []},
}


def read_back(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_pdf_holds_title_scorecard_chart_comments_and_signoff():
    data = review_pdf.build_pdf(REVIEW)

    assert data.startswith(b"%PDF")
    text = read_back(data)
    assert "Quarterly review 2026-Q3 — Sales–Marketing SLA 2026" in text
    first_touch = dashboard.headline(REPORT["commitments"][1])
    assert first_touch == "91.2% handled within 4h (target 90%)"
    assert first_touch in text
    assert "3,174 of 3,000 MQLs (105.8%)" in text
    assert "Volume beat the target – finally." in text
    assert "Signed off by Erin Walsh on 5 October 2026" in text
    assert "Funnel › MQL: 3174 → 3180" in text
    images = [image for page in PdfReader(io.BytesIO(data)).pages for image in page.images]
    assert len(images) == 1  # the figure-vs-target chart


CAUSES = {
    "reps": [{"rep": "ben", "commitment": "first-touch", "breached": 12, "clocks": 40,
              "compliance_pct": 70.0, "share_pct": 60.0}],
    "channels": [{"channel": "paid_search", "commitment": "first-touch", "breached": 15,
                  "clocks": 50, "compliance_pct": 70.0, "share_pct": 75.0}],
    "rejection_reasons": [{"reason": "not_a_fit", "rejected": 9, "share_pct": 90.0},
                          {"reason": "duplicate", "rejected": 1, "share_pct": 10.0}],
}
NAMES = {"ben": "Ben Ortiz", "marco": "Marco Bianchi", "erin": "Erin Walsh"}


def test_the_scorecard_and_the_causes_are_tables_of_names_not_codes():
    text = read_back(review_pdf.build_pdf({**REVIEW, "causes": CAUSES, "names": NAMES}))

    assert "Commitment Side Result Status" in text  # the scorecard table's heading row
    assert "MQL volume Marketing 3,174 of 3,000 MQLs (105.8%) Met" in text
    assert "First touch Sales 91.2% handled within 4h (target 90%) Met" in text
    assert "MQL acceptance Marketing 77.8% accepted (target 80%) Missed" in text
    assert "Won revenue Shared $431,000 of $500,000 (86.2%) Missed" in text
    assert "Commitment Who or where Breached clocks Share of breaches" in text
    assert "First touch Rep Ben Ortiz 12 of 40 60.0%" in text
    assert "First touch Channel Paid search 15 of 50 75.0%" in text
    assert "Rejection reason Rejected leads Share of rejections" in text
    assert "Not a fit 9 90.0%" in text and "Duplicate 1 10.0%" in text
    assert "Funnel › MQL: 3174 → 3180" in text
    for code in ("mql-volume", "first-touch", "won-revenue", "not_a_fit", "paid_search",
                 " ben ", "funnel.mql"):
        assert code not in text, code
    assert "No breached clock and no rejected lead." in read_back(review_pdf.build_pdf(REVIEW))


def test_without_dejavu_the_core_font_spells_dashes_in_ascii(monkeypatch, tmp_path):
    monkeypatch.setattr(review_pdf, "FONT_DIR", tmp_path)  # no fonts there

    text = read_back(review_pdf.build_pdf(REVIEW))

    assert "Quarterly review 2026-Q3 - Sales-Marketing SLA 2026" in text
    assert "91.2% handled within 4h (target 90%)" in text
    assert "Signed off by Erin Walsh on 5 October 2026" in text


def test_the_same_review_gives_the_same_pdf():
    assert review_pdf.build_pdf(REVIEW) == review_pdf.build_pdf(REVIEW)


@pytest.mark.parametrize("status", ["met", "missed", "on_track", "at_risk", "no_data"])
def test_the_chart_accepts_every_status(status):
    report = {**REPORT, "commitments": [{**REPORT["commitments"][1], "status": status}],
              "shared_goals": []}
    assert review_pdf.chart_png(review_pdf.figure_chart(report)).startswith(b"\x89PNG")
