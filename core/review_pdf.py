"""A signed quarterly review as a PDF: title, the frozen scorecard, one chart (rendered to PNG by
vl-convert), the discussion and the sign-off line.

Pure domain code: no streamlit, no database; `build_pdf` takes the `core.services.reviews.show`
object. DejaVu Sans is embedded when the system has it; otherwise the PDF falls back to the core
Helvetica font and spells the characters it cannot encode in plain ASCII.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import altair as alt
import pandas as pd
import vl_convert as vlc
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core import dashboard
from core.permissions import ROLE_LABELS, Role
from core.wording import DEFAULT_CURRENCY, figure_label, words

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
UNICODE_FONT = "DejaVu"
CORE_FONT = "Helvetica"
# What the core fonts cannot encode (they are Latin-1), spelled in ASCII.
PLAIN = str.maketrans({"–": "-", "—": "-", "…": "...", "“": '"', "”": '"', "‘": "'", "’": "'",
                       "→": "->", "≥": ">=", "≤": "<=", "•": "-", "\u00a0": " "})
STATUS_COLOURS = {"met": "#2E7D32", "on_track": "#2E7D32", "at_risk": "#F9A825",
                  "missed": "#C62828", "no_data": "#9E9E9E"}
TARGET_COLOUR = "#212121"
KIND_WORDS = {"comment": "", "sign": " (sign-off)", "send_back": " (sent back)"}
SIDE_WORDS = {"marketing": "Marketing", "sales": "Sales", "shared": "Shared"}
MAX_CHANGES = 12
_VL_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def build_pdf(review: dict) -> bytes:
    """The review (a `reviews.show` object, signed) as PDF bytes."""
    report = review["scorecard"]
    agreement = report["agreement"]
    document = _Document(review)
    document.title(f"Quarterly review {review['quarter']} — {agreement['title']}")
    document.small(f"Agreement {agreement['id']}, version {agreement['version']} · period "
                   f"{report['period']['start'][:10]} to {report['period']['end'][:10]} "
                   f"(end exclusive) · figures as of {_when(report['as_of'])} UTC")
    document.paragraph(dashboard.reading(report))

    document.heading("Scorecard")
    document.scorecard(dashboard.scorecard(report, currency=review.get("currency",
                                                                       DEFAULT_CURRENCY)))
    document.image(chart_png(figure_chart(report)))

    document.heading("Causes of the misses")
    causes, names = review["causes"], review.get("names") or {}
    if not any(causes.get(key) for key in ("reps", "channels", "rejection_reasons")):
        document.paragraph("No breached clock and no rejected lead.")
    breaches = [(words(row["commitment"]), f"Rep {names.get(row['rep'], row['rep'])}", row)
                for row in causes.get("reps", [])]
    breaches += [(words(row["commitment"]), f"Channel {words(row['channel'])}", row)
                 for row in causes.get("channels", [])]
    if breaches:
        document.table(("Commitment", "Who or where", "Breached clocks", "Share of breaches"),
                       [(commitment, who, f"{row['breached']:,} of {row['clocks']:,}",
                         f"{row['share_pct']:.1f}%") for commitment, who, row in breaches],
                       (40, 56, 34, 34))
    if reasons := causes.get("rejection_reasons"):
        document.table(("Rejection reason", "Rejected leads", "Share of rejections"),
                       [(words(row["reason"]), f"{row['rejected']:,}", f"{row['share_pct']:.1f}%")
                        for row in reasons], (70, 47, 47))

    document.heading("Discussion")
    if not review["comments"]:
        document.paragraph("No comments.")
    for entry in review["comments"]:
        document.comment(entry)

    document.heading("Sign-off")
    document.bold(signed_off_line(review))
    changes = review.get("changed_since_signoff") or []
    if changes:
        shown = "; ".join(f"{figure_label(c['figure'])}: {_value(c['signed'])} → "
                          f"{_value(c['now'])}"
                          for c in changes[:MAX_CHANGES])
        more = f" and {len(changes) - MAX_CHANGES} more" if len(changes) > MAX_CHANGES else ""
        document.small(f"Since sign-off, {len(changes)} figure{'s' if len(changes) != 1 else ''}"
                       f" moved in the live data (this scorecard is the signed snapshot): "
                       f"{shown}{more}.")
    return document.output()


def signed_off_line(review: dict) -> str:
    """"Signed off by Erin Walsh on 5 October 2026"."""
    when = datetime.fromisoformat(review["signed_at"].replace("Z", "+00:00"))
    who = review.get("signed_by_name") or review["signed_by"]
    return f"Signed off by {who} on {when.day} {when:%B %Y}"


def figure_chart(report: dict) -> alt.LayerChart:
    """Each commitment's and goal's figure (bars, coloured by status) against its target
    (ticks): attainment against 100%, compliance and acceptance against their target %."""
    rows = [{"item": words(item["id"]), "figure": dashboard.score_value(item),
             "target": float(item.get("target_pct", 100.0)),
             "status": dashboard.STATUS_WORDS[item["status"]]}
            for item in report["commitments"] + report["shared_goals"]]
    frame = pd.DataFrame(rows, columns=["item", "figure", "target", "status"])
    shown = [status for status in STATUS_COLOURS
             if dashboard.STATUS_WORDS[status] in set(frame["status"])]
    base = alt.Chart(frame)
    y = alt.Y("item:N", sort=None, title=None)
    bars = base.mark_bar().encode(
        y=y, x=alt.X("figure:Q", title="Figure (bars) against target (ticks), %"),
        color=alt.Color("status:N", title="Status",
                        scale=alt.Scale(domain=[dashboard.STATUS_WORDS[s] for s in shown],
                                        range=[STATUS_COLOURS[s] for s in shown])))
    ticks = base.mark_tick(color=TARGET_COLOUR, thickness=3, size=22).encode(y=y, x="target:Q")
    return (bars + ticks).properties(width=420, height=max(60, 28 * len(frame)))


def chart_png(chart: alt.TopLevelMixin, scale: float = 2) -> bytes:
    """The chart rendered as a PNG image by vl-convert."""
    return vlc.vegalite_to_png(chart.to_json(), vl_version=_VL_VERSION, scale=scale)


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _value(value) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _role(role: str) -> str:
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


class _Document:
    """An A4 portrait document with a Unicode font when one is available."""

    def __init__(self, review: dict) -> None:
        self.pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_margins(18, 18, 18)
        self.family = CORE_FONT
        if all((FONT_DIR / name).is_file() for name in FONT_FILES.values()):
            for style, name in FONT_FILES.items():
                self.pdf.add_font(UNICODE_FONT, style, str(FONT_DIR / name))
            self.family = UNICODE_FONT
        self.pdf.set_title(self.text(f"Quarterly review {review['quarter']}"))
        if review.get("signed_at"):
            self.pdf.set_creation_date(
                datetime.fromisoformat(review["signed_at"].replace("Z", "+00:00")))
        self.pdf.add_page()

    def text(self, value: str) -> str:
        """The text as the current font can encode it."""
        if self.family == UNICODE_FONT:
            return value
        return value.translate(PLAIN).encode("latin-1", "replace").decode("latin-1")

    def _write(self, value: str, size: float, style: str = "", height: float = 5.5) -> None:
        self.pdf.set_font(self.family, style, size)
        self.pdf.multi_cell(0, height, self.text(value), align="L", new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT)

    def title(self, value: str) -> None:
        self._write(value, 16, "B", 8)
        self.pdf.ln(1)

    def heading(self, value: str) -> None:
        self.pdf.ln(3)
        self._write(value, 12, "B", 7)

    def paragraph(self, value: str) -> None:
        self._write(value, 10)
        self.pdf.ln(1)

    def small(self, value: str) -> None:
        self.pdf.set_text_color(90, 90, 90)
        self._write(value, 8.5, height=4.5)
        self.pdf.set_text_color(0, 0, 0)
        self.pdf.ln(1)

    def bold(self, value: str) -> None:
        self._write(value, 11, "B", 6)

    def scorecard(self, rows: pd.DataFrame) -> None:
        self.table(("Commitment", "Side", "Result", "Status"),
                   [(words(row.id), SIDE_WORDS.get(row.side, row.side), row.headline,
                     row.status_words) for row in rows.itertuples()], (34, 20, 86, 24))

    def table(self, headings: tuple[str, ...], rows: list[tuple[str, ...]],
              widths: tuple[float, ...]) -> None:
        """A ruled table with a heading row."""
        self.pdf.set_font(self.family, "", 9)
        with self.pdf.table(col_widths=widths, line_height=5,
                            text_align=tuple("LEFT" for _ in headings),
                            first_row_as_headings=True) as table:
            heading = table.row()
            for label in headings:
                heading.cell(label)
            for row in rows:
                cells = table.row()
                for value in row:
                    cells.cell(self.text(str(value)))
        self.pdf.ln(3)

    def image(self, png: bytes) -> None:
        self.pdf.image(io.BytesIO(png), w=150)
        self.pdf.ln(2)

    def comment(self, entry: dict) -> None:
        who = f"{entry.get('author_name') or entry['author']} ({_role(entry['role'])})"
        self.pdf.set_text_color(90, 90, 90)
        self._write(f"{who}, {_when(entry['at'])} UTC{KIND_WORDS.get(entry['kind'], '')}",
                    8.5, "B", 4.5)
        self.pdf.set_text_color(0, 0, 0)
        self._write(entry["body"], 10)
        self.pdf.ln(2)

    def output(self) -> bytes:
        return bytes(self.pdf.output())
