"""How notices leave the app: email over SMTP (core.notify.mail) and posts to chat webhooks
(core.notify.webhooks). Pure: no database here; core.services.deliveries keeps the channels,
the delivery log and the retries."""

import re

__all__ = ["CONTROL_CHARACTERS", "SendFailed", "one_line"]

# What never goes into a header, a URL or a one-line text: a line break is a new header
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class SendFailed(RuntimeError):
    """A message did not go out. The message is one line the admin reads in the delivery log:
    what refused it and how (an SMTP code and reply, an HTTP status and the start of its body,
    a connection error), never a password or a webhook's URL."""


def one_line(text: str, limit: int) -> str:
    """The text on one line (runs of whitespace and control characters as one space), cut to
    `limit` characters with an ellipsis."""
    flat = " ".join(CONTROL_CHARACTERS.sub(" ", text or "").split())
    return flat if len(flat) <= limit else flat[:max(limit - 1, 0)] + "…"
