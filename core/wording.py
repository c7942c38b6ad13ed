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


# Currencies a workspace may show amounts in, by ISO 4217 code: the sign written before the
# amount (a code and a space where there is no sign of its own)
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "BRL": "R$", "CAD": "CA$", "AUD": "A$",
                  "JPY": "¥", "INR": "₹", "CHF": "CHF ", "SEK": "SEK ", "MXN": "MX$"}
DEFAULT_CURRENCY = "USD"


def money(value: float | None, currency: str = DEFAULT_CURRENCY) -> str:
    """An amount as people read it: "$128,300", "€15,774.42" (cents only when there are),
    "–" when there is none."""
    if value is None:
        return "–"
    sign = CURRENCY_SIGNS.get(currency, f"{currency} ")
    digits = f"{abs(value):,.0f}" if float(value).is_integer() else f"{abs(value):,.2f}"
    return f"{'-' if value < 0 else ''}{sign}{digits}"
