"""Posts to chat webhooks: a Slack incoming webhook, a Microsoft Teams webhook (a Workflows
"when a Teams webhook request is received" flow, or a classic incoming webhook), or any service
that takes JSON.

A webhook's URL is its credential (whoever has it can post), so no refusal and no failure here
repeats it: they name its host. Every post is bounded: a timeout on each wait, no redirect
followed, at most 64 KB of the answer read, at most ITEMS_SHOWN_MAX items in one message.
"""

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from core.errors import InvalidInput
from core.notify import CONTROL_CHARACTERS, SendFailed, one_line

FORMATS = ("slack", "teams", "json")
ITEMS_SHOWN_MAX = 40  # Slack takes 50 blocks in a message; a Teams card about 28 KB
ITEM_TEXT_MAX_CHARS = 500
TITLE_MAX_CHARS = 200
URL_MAX_CHARS = 2_000
RESPONSE_MAX_BYTES = 64 * 1024
ERROR_BODY_MAX_CHARS = 200
DEFAULT_TIMEOUT_SECONDS = 10.0
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
USER_AGENT = "Handoff notifications"
# What a link keeps as it is; anything else is percent-encoded, so that no "|", ">" or ")"
# ends Slack's <url|text> or a Markdown [text](url) early.
_URL_SAFE = ":/?#@!$&'*+,;=%~-._"


@dataclass(frozen=True)
class Item:
    """One line of a post: its text and, when it has one, the absolute URL it opens."""

    text: str
    link: str | None = None

    def __post_init__(self):
        if self.link is not None and not _absolute(self.link):
            raise ValueError("link: an item links to an absolute http(s) URL")


def payload(kind: str, title: str, items: Sequence[Item], *, notice: str = "") -> dict:
    """The JSON body a webhook of format `kind` (slack, teams, json) takes for a titled list
    of items; `notice` is the kind of notice (breached, …) the generic JSON names. Items past
    ITEMS_SHOWN_MAX are counted ("and 12 more"), not listed."""
    if kind not in FORMATS:
        raise ValueError(f"kind: '{kind}' is not one of {', '.join(FORMATS)}")
    shown = [Item(one_line(item.text, ITEM_TEXT_MAX_CHARS), item.link)
             for item in items[:ITEMS_SHOWN_MAX]]
    return _BUILDERS[kind](one_line(title, TITLE_MAX_CHARS), shown, len(items) - len(shown),
                           notice)


def _slack(title: str, items: list[Item], more: int, _notice: str) -> dict:
    """An incoming webhook's message: `text` for the notification, mrkdwn section blocks."""

    def section(text: str) -> dict:
        return {"type": "section", "text": {"type": "mrkdwn", "text": text}}

    blocks = [section(f"*{slack_escape(title)}*")]
    for item in items:
        text = slack_escape(item.text)
        blocks.append(section(f"<{slack_escape(_safe_url(item.link))}|{text}>" if item.link
                              else text))
    if more:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": f"and {more:,} more"}]})
    return {"text": slack_escape(title), "blocks": blocks}


def slack_escape(text: str) -> str:
    """Slack's control characters as the entities it asks for (&amp; &lt; &gt;), so no text
    becomes a link or a mention (<!channel>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _teams(title: str, items: list[Item], more: int, _notice: str) -> dict:
    """A message with one Adaptive Card attachment, as Teams webhooks take it."""

    def block(text: str, **style) -> dict:
        return {"type": "TextBlock", "text": text, "wrap": True, **style}

    body = [block(markdown_escape(title), weight="Bolder", size="Medium")]
    for item in items:
        text = markdown_escape(item.text)
        body.append(block(f"[{text}]({_safe_url(item.link)})" if item.link else text))
    if more:
        body.append(block(f"and {more:,} more", isSubtle=True))
    card = {"$schema": ADAPTIVE_CARD_SCHEMA, "type": "AdaptiveCard", "version": "1.4",
            "body": body}
    return {"type": "message",
            "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}]}


def markdown_escape(text: str) -> str:
    """The characters that make a Markdown link in a card's TextBlock, escaped with a
    backslash, so a lead's name cannot become a link that points elsewhere."""
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def _json(title: str, items: list[Item], more: int, notice: str) -> dict:
    """For any receiver: the title, the notice kind, the items, and how many were left off."""
    return {"title": title, "kind": notice,
            "items": [{"text": item.text, "link": item.link} for item in items], "more": more}


_BUILDERS: dict[str, Callable[[str, list[Item], int, str], dict]] = {
    "slack": _slack, "teams": _teams, "json": _json}


def _safe_url(url: str) -> str:
    return quote(url, safe=_URL_SAFE)


def _absolute(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not CONTROL_CHARACTERS.search(url) and " " not in url)


# --- the URL and the post -------------------------------------------------------------------


def webhook_url(url: str) -> str:
    """The webhook's URL, stripped, when it is an absolute http(s) URL with a host;
    InvalidInput("url", …) otherwise, without repeating it."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise InvalidInput("url", "enter the webhook's URL (https://…)")
    if len(text) > URL_MAX_CHARS:
        raise InvalidInput("url", f"{len(text):,} characters; at most {URL_MAX_CHARS:,}")
    if " " in text or CONTROL_CHARACTERS.search(text):
        raise InvalidInput("url", "the URL holds a space, a line break or a control character")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (reading it checks it)
    except ValueError:
        raise InvalidInput("url", "the host or the port of the URL cannot be read") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", "a webhook's URL starts with https:// (or http://) and "
                           "names a host")
    return text


def url_host(url: str) -> str:
    """The host a URL names: what the page and the log show instead of the URL."""
    return urlsplit(url).hostname or ""


def post(url: str, body: dict[str, Any], timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
         ) -> None:
    """POST the body as JSON. A 2xx answer is success; any other (a redirect too: none is
    followed) raises SendFailed("HTTP 500: <the start of its body>"), and so does a
    connection that fails or times out."""
    target = webhook_url(url)
    host = url_host(target)
    try:
        with (httpx.Client(timeout=timeout_seconds, follow_redirects=False) as client,
              client.stream("POST", target, json=body,
                            headers={"User-Agent": USER_AGENT}) as response):
            answer = _answer_start(response, time.monotonic() + timeout_seconds)
    except httpx.TimeoutException as error:
        raise SendFailed(f"{host} did not answer within {timeout_seconds:g} s") from error
    except httpx.HTTPError as error:
        reason = _without_url(str(error) or type(error).__name__, target)
        raise SendFailed(f"could not reach {host}: {reason}") from error
    if not 200 <= response.status_code < 300:
        raise SendFailed(f"HTTP {response.status_code}: {answer}")


def _answer_start(response: httpx.Response, deadline: float) -> str:
    """The first ERROR_BODY_MAX_CHARS characters of the answer, on one line, reading at most
    RESPONSE_MAX_BYTES and stopping at the deadline (a server that drips bytes)."""
    read = bytearray()
    for chunk in response.iter_bytes():
        read += chunk
        if len(read) >= RESPONSE_MAX_BYTES or time.monotonic() > deadline:
            break
    text = bytes(read[:RESPONSE_MAX_BYTES]).decode("utf-8", "replace")
    return " ".join(text.split())[:ERROR_BODY_MAX_CHARS]


def _without_url(text: str, url: str) -> str:
    """An error's text with the URL, and its path (where a webhook keeps its token), left
    out."""
    parts = urlsplit(url)
    text = text.replace(url, parts.hostname or "")
    return text.replace(parts.path, "/…") if len(parts.path) > 1 else text
