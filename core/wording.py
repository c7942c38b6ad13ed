"""Ids and keys as words people read: "first-touch" → "First touch", "not_a_fit" → "Not a fit".

One home for it: the pages (through ui.text), the review PDF and the CLI's text output.
"""

ACRONYMS = {"mql", "sal", "sql", "id", "utc"}


def words(identifier: str, *, capitalized: bool = True) -> str:
    """An id or key as words: "first-touch" → "First touch", "mql_at" → "MQL at"; inside a
    sentence (`capitalized` off) "first touch", "MQL at"."""
    parts = str(identifier).replace("-", " ").replace("_", " ").split()
    text = " ".join(part.upper() if part.lower() in ACRONYMS else part for part in parts)
    return text[:1].upper() + text[1:] if capitalized else text


def figure_label(figure: str) -> str:
    """A report figure's dotted name as words: "commitments.first-touch.compliance_pct" →
    "First touch › Compliance pct", "funnel.mql" → "Funnel › MQL"."""
    parts = figure.split(".")
    if parts[0] in ("commitments", "shared_goals") and len(parts) > 1:
        parts = parts[1:]
    return " › ".join(words(part) for part in parts)
