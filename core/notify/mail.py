"""Email over SMTP: the mail server's settings from one URL, and one message sent with smtplib.

`smtp://[user[:password]@]host[:port]` speaks plain SMTP on port 25; `?starttls=1` upgrades the
connection with STARTTLS, on port 587 unless the URL names one; `smtps://` speaks TLS from the
first byte, on port 465. `?timeout=SECONDS` bounds every wait on the server (20 s unless set).
The user and the password are percent-decoded, so a password holding "@", ":" or "/" is
written %40, %3A, %2F. Nothing here repeats a password: not a refusal of the URL, not the
settings' repr, not a failed send.
"""

import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qsl, unquote, urlsplit

from core.errors import InvalidInput
from core.notify import CONTROL_CHARACTERS, SendFailed

SMTP_URL_ENV = "HANDOFF_SMTP_URL"
MAIL_FROM_ENV = "HANDOFF_MAIL_FROM"
SECURITY = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_TIMEOUT_SECONDS = 20.0
MAX_TIMEOUT_SECONDS = 120.0
URL_MAX_CHARS = 2_000
ADDRESS_MAX_CHARS = 254  # the width of users.email and of deliveries.recipient
REPLY_MAX_CHARS = 200  # of a server's reply, in a SendFailed
URL_FIELD = "smtp_url"
URL_SHAPE = "smtp://[user[:password]@]host[:port][?starttls=1] or smtps://…"
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
_HOST = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")  # a name, IPv4, or IPv6 without its brackets
_HEADERS = HeaderRegistry()


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over; the password stays out of the repr."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "none"  # none | starttls | tls
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self):
        if self.security not in SECURITY:
            raise ValueError(f"security: '{self.security}' is not one of {', '.join(SECURITY)}")


def smtp_settings(url: str) -> SmtpSettings:
    """The settings an SMTP URL names; InvalidInput("smtp_url", …) says what is wrong with it,
    without repeating the URL (it may hold the password)."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise InvalidInput(URL_FIELD, f"enter the mail server as {URL_SHAPE}")
    if len(text) > URL_MAX_CHARS:
        raise InvalidInput(URL_FIELD, f"{len(text):,} characters; at most {URL_MAX_CHARS:,}")
    if " " in text or CONTROL_CHARACTERS.search(text):
        raise InvalidInput(URL_FIELD, "the URL holds a space, a line break or a control "
                           "character; percent-encode them (%20)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput(URL_FIELD, "the host or the port cannot be read: the port is a "
                           "number from 1 to 65535, an IPv6 host is written [::1]") from None
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps") or not text.lower().startswith(f"{scheme}://"):
        raise InvalidInput(URL_FIELD, f"start with smtp:// or smtps://: {URL_SHAPE}")
    if parts.path not in ("", "/") or parts.fragment:
        raise InvalidInput(URL_FIELD, f"a mail server's URL has no path or #fragment: {URL_SHAPE}")
    host = parts.hostname or ""
    if not host:
        raise InvalidInput(URL_FIELD, f"the URL names no host: {URL_SHAPE}")
    if not _HOST.match(host):
        raise InvalidInput(URL_FIELD, f"'{host[:80]}' is not a host name or an IP address")
    if port == 0:
        raise InvalidInput(URL_FIELD, "the port is a number from 1 to 65535")
    starttls, timeout = _options(parts.query)
    if scheme == "smtps" and starttls:
        raise InvalidInput(URL_FIELD, "smtps:// already speaks TLS: drop ?starttls=1, or use "
                           "smtp://…?starttls=1")
    security = "tls" if scheme == "smtps" else "starttls" if starttls else "none"
    username, password = _credentials(parts.username, parts.password)
    return SmtpSettings(host=host, port=port or DEFAULT_PORTS[security], username=username,
                        password=password, security=security, timeout_seconds=timeout)


def _options(query: str) -> tuple[bool, float]:
    """The URL's ?starttls= and ?timeout=; anything else is refused by name."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=10)
    except ValueError:
        raise InvalidInput(URL_FIELD, "too many ?options: use starttls=1 and timeout=SECONDS"
                           ) from None
    starttls, timeout = False, DEFAULT_TIMEOUT_SECONDS
    for key, value in pairs:
        value = value.strip().lower()
        if key == "starttls" and value in _TRUE | _FALSE:
            starttls = value in _TRUE
        elif key == "starttls":
            raise InvalidInput(URL_FIELD, "starttls is 1 (upgrade with STARTTLS) or 0")
        elif key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                timeout = -1.0
            if not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
                raise InvalidInput(URL_FIELD, "timeout is a number of seconds from 1 to "
                                   f"{MAX_TIMEOUT_SECONDS:g}")
        else:
            raise InvalidInput(URL_FIELD, f"unknown option '{key[:40]}': use starttls=1 or "
                               "timeout=SECONDS")
    return starttls, timeout


def _credentials(user: str | None, password: str | None) -> tuple[str | None, str | None]:
    """The percent-decoded user and password (never echoed in a refusal)."""
    user = unquote(user) if user else None
    password = unquote(password) if password is not None else None
    if password and not user:
        raise InvalidInput(URL_FIELD, "a password needs the user name before it: "
                           "smtp://user:password@host")
    if CONTROL_CHARACTERS.search(user or "") or CONTROL_CHARACTERS.search(password or ""):
        raise InvalidInput(URL_FIELD, "the user name or the password holds a line break or a "
                           "control character")
    return user, password


def mail_address(field_name: str, value: str) -> str:
    """One address as a header holds it ("ops@example.com", "Handoff <ops@example.com>"),
    stripped; InvalidInput naming the field when it is not exactly one address on one line."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput(field_name, "enter an email address")
    if len(text) > ADDRESS_MAX_CHARS:
        raise InvalidInput(field_name, f"{len(text):,} characters; at most {ADDRESS_MAX_CHARS}")
    if CONTROL_CHARACTERS.search(text):
        raise InvalidInput(field_name, "an address is one line: it holds no line break or "
                           "control character")
    if not _address_spec(text):
        raise InvalidInput(field_name, f"'{text}' is not one email address (name@example.com "
                           "or Name <name@example.com>)")
    return text


def _address_spec(text: str) -> str | None:
    """The bare address of a header value holding exactly one, else None."""
    try:
        header = _HEADERS("to", text)
    except Exception:  # the parser's own failures on odd input (an IndexError on "a@")
        return None
    addresses = header.addresses
    if header.defects or len(addresses) != 1:
        return None
    spec = addresses[0].addr_spec
    local, _, domain = spec.rpartition("@")
    return spec if local and domain and " " not in spec else None


def smtp_url_from_env() -> str | None:
    """HANDOFF_SMTP_URL when set: it wins over the mail channel saved on the page."""
    return os.environ.get(SMTP_URL_ENV, "").strip() or None


def mail_from_env() -> str | None:
    """HANDOFF_MAIL_FROM when set: the sender that goes with HANDOFF_SMTP_URL."""
    return os.environ.get(MAIL_FROM_ENV, "").strip() or None


# --- one message --------------------------------------------------------------------------


def compose(*, sender: str, to: str, subject: str, text: str,
            html: str | None = None) -> EmailMessage:
    """The message: From, To, Subject, Date, Message-ID, text/plain (and an html alternative).
    A subject or an address with a line break is refused (InvalidInput, a ValueError), so no
    input adds a header."""
    sender, to = mail_address("sender", sender), mail_address("to", to)
    if CONTROL_CHARACTERS.search(subject.replace("\t", " ")):
        raise InvalidInput("subject", "a subject is one line: it holds no line break or "
                           "control character")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_address_spec(sender).rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_mail(settings: SmtpSettings, sender: str, to: str, subject: str, text: str,
              html: str | None = None) -> None:
    """Hand one message to the server: TLS or STARTTLS as the settings ask, a login when they
    name a user, every wait bounded by their timeout. SendFailed says why it did not go (the
    SMTP code and reply, or the connection's error); a bad header is refused before
    connecting."""
    message = compose(sender=sender, to=to, subject=subject, text=text, html=html)
    envelope_from, recipient = _address_spec(message["From"]), _address_spec(message["To"])
    where = f"{settings.host}:{settings.port}"
    try:
        with _connect(settings) as smtp:
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message, from_addr=envelope_from, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()))
        raise SendFailed(_refusal(settings, code, reply)) from error
    except smtplib.SMTPResponseException as error:  # refused: the sender, the login, the data
        raise SendFailed(_refusal(settings, error.smtp_code, error.smtp_error)) from error
    except smtplib.SMTPException as error:  # disconnected, no STARTTLS, no AUTH offered
        raise SendFailed(_scrub(f"SMTP error from {where}: {error}", settings)) from error
    except ssl.SSLError as error:
        raise SendFailed(f"TLS with {where} failed: {error.reason or error}") from error
    except TimeoutError as error:
        raise SendFailed(f"{where} did not answer within {settings.timeout_seconds:g} s"
                         ) from error
    except OSError as error:
        raise SendFailed(f"could not reach {where}: {error.strerror or error}") from error


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, greeted (and, with STARTTLS, upgraded) connection. The EHLO name is this
    machine's name as it knows it: socket.getfqdn(), smtplib's default, may wait on DNS."""
    local = socket.gethostname() or "localhost"
    if settings.security == "tls":
        return smtplib.SMTP_SSL(settings.host, settings.port, local_hostname=local,
                                timeout=settings.timeout_seconds,
                                context=ssl.create_default_context())
    smtp = smtplib.SMTP(settings.host, settings.port, local_hostname=local,
                        timeout=settings.timeout_seconds)
    if settings.security == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp


def _refusal(settings: SmtpSettings, code: int, reply: bytes | str) -> str:
    """"SMTP 451 from host: the reply", the reply cut to one short line."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    text = " ".join(text.split())[:REPLY_MAX_CHARS]
    return _scrub(f"SMTP {code} from {settings.host}: {text}", settings)


def _scrub(text: str, settings: SmtpSettings) -> str:
    """The text without the password, should a server ever echo it back (a password of a
    character or three would blank letters, not a secret)."""
    secret = settings.password or ""
    return text.replace(secret, "…") if len(secret) >= 4 else text
