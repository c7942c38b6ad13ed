"""User-written text for Streamlit markdown: it reads exactly as written, and is never markup.

Streamlit renders markdown in st.markdown, st.write, captions, alerts, headings and most labels:
images (which the viewer's browser fetches), links, emphasis, headings and lists, and its own
`:red[...]` directives, `:material/...:` icons, emoji shortcodes and `$...$` LaTeX. `literal`
backslash-escapes what the parser would read as syntax. Some patterns are replaced in the text
after the escapes are resolved (bare URLs and emails become links, `:smile:` an emoji, `->` an
arrow): an invisible word joiner (U+2060) breaks those. Plain words and sentences come out
unchanged, and escapes never show: tests/browser/test_safe_rendering.py looks at the result.

Selectbox options, st.dataframe cells and text inputs are not markdown: pass text there as is.
"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.wording import CURRENCY_SIGNS, money, words  # one home (core.wording); pages ask here

__all__ = ["CURRENCY_SIGNS", "clause_label", "code", "field_label", "literal", "local_time",
           "money", "words"]

JOINER = "\u2060"  # WORD JOINER: zero width, no line break, not a word character
NBSP = "\u00a0"
# Always syntax: escapes, code, emphasis, HTML and autolinks, strikethrough, tables, LaTeX.
_ALWAYS = re.compile(r"([\\`*<>~|$])")
# Links and images need "](" or "][" (or a "[label]: url" definition): "items[1]" is text.
_BRACKET = re.compile(r"\](?=[(\[:])")
# `_` opens or closes emphasis unless a letter or digit is on both sides ("no_budget" is text).
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# At the start of a line: headings, list items, setext underlines; "1." and "2)" lists.
_LINE_START = re.compile(r"^([ \t]*)([#+=-])", re.MULTILINE)
_ORDERED = re.compile(r"^([ \t]*[0-9]+)([.)])", re.MULTILINE)
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
# Matched in the parsed text: URLs ("www.", and "://" below), emails ("@x") and Streamlit's
# typography ("->", "<-", "--", ">=", "<=", "~=").
_JOIN = re.compile(r"(?<=@)(?=\S)|(?i:(?<=www)(?=\.))|(?<=[<>~-])(?=[->=])")
# After ":", Streamlit's directive parser takes any run of these for a name (digits and the
# joiner too). A known name (":red", ":small") or a label or attributes after the name
# (":x[...]", ":x{...}") makes a directive unless the colon is escaped.
_NAME = r"[^\s!-/:-@\[-`{-~]"
_DIRECTIVE = re.compile(rf":(?=[A-Za-z]|{_NAME}+[\[{{])")
# Any other ":x" may start a shortcode (":100:", ":+1:") or a URL ("http://") in the parsed
# text. Not before "[" or "{": a joiner there would be read as a directive name.
_COLON = re.compile(r":(?=[^\s\[{])")
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def literal(text: object) -> str:
    """Text to put in markdown so that it shows literally; line breaks are kept."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _JOIN.sub(JOINER, text)
    text = _ALWAYS.sub(r"\\\1", text)
    text = _BRACKET.sub(r"\\]", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _ENTITY.sub(r"\\&", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _ORDERED.sub(r"\1\\\2", text)
    text = _colons(text)
    # Leading blanks as no-break spaces: four of them would start a code block.
    text = _INDENT.sub(lambda match: match[0].replace("\t", "    ").replace(" ", NBSP), text)
    # Each line break a hard break, as typed; an empty line holds a no-break space, so that the
    # text stays one paragraph (a blank line would end the caller's **bold** around it).
    return "  \n".join(line or NBSP for line in text.split("\n"))


def _colons(text: str) -> str:
    """Escape the colons that would start a directive; join every colon to what follows."""
    def one(match: re.Match) -> str:
        return ("\\:" if _DIRECTIVE.match(text, match.start()) else ":") + JOINER

    return _COLON.sub(one, text)


def code(text: object) -> str:
    """Text as an inline code span (literal by nature) that no backtick in it can close."""
    text = str(text).replace("\r", " ").replace("\n", " ")
    # Streamlit rewrites ":material/" in the raw source, even inside code.
    text = text.replace(":material/", f":{JOINER}material/")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_CLAUSE_PART = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def clause_label(path: str) -> str:
    """A clause path of the redline as words: "commitments[mql-volume].target" →
    "Commitments › MQL volume › Target", "stages.mql.criteria[0]" → "Stages › MQL › Criteria
    › #1"."""
    shown = []
    for name, index in _CLAUSE_PART.findall(path):
        shown.append(f"#{int(index) + 1}" if index.isdigit() else words(index or name))
    return " › ".join(shown) or path


def local_time(value: object, zone: str, *, seconds: bool = False) -> str:
    """An instant (ISO text or an aware datetime; naive is UTC) in a zone, the zone named:
    "2026-12-03 09:15 EST"."""
    instant = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) \
        else value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {local.tzname()}"


# Lead and touch fields as people name them (columns, mapping pickers); others: `words`
FIELD_LABELS = {
    "external_id": "CRM id", "created_at": "Created", "mql_at": "Became an MQL",
    "accepted_at": "Accepted by sales", "rejected_at": "Rejected by sales",
    "rejection_reason": "Rejection reason", "sql_at": "Became an SQL",
    "opportunity_at": "Opportunity opened", "won_at": "Won", "lost_at": "Lost",
    "owner": "Owner (rep)", "amount": "Deal amount", "lead_external_id": "The lead's CRM id",
    "at": "When", "kind": "Kind (call, email…)", "rep": "Rep", "automated": "Automated",
    "mql": "MQL", "state": "State", "due": "Due",
}


def field_label(name: str) -> str:
    """A lead or touch field as people name it: "mql_at" → "Became an MQL"."""
    return FIELD_LABELS.get(name, words(name))

