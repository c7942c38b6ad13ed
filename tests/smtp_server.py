"""A real SMTP server for tests: aiosmtpd on a thread, on 127.0.0.1 at a free port.

    with SmtpServer() as server:              # or SmtpServer(username="u", password="p")
        send through server.url ...
        [received] = server.messages          # .mail_from, .rcpt_tos, .message (EmailMessage)
        server.fail_next(2, "451 4.3.0 Try again later")   # the next two sends are refused

It refuses what a real server refuses: with a username, a send without AUTH (530) and a wrong
password (535). A refused send is not kept. `wait_for(n)` waits until n messages have come, for
tests whose sender is another process.
"""

import email
import email.policy
import logging
import re
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
READY_SECONDS = 30.0  # a busy machine starts the server's thread slowly
_REPLY = re.compile(r"^[45]\d\d [^\r\n]*$")
AUTH_REQUIRED = "530 5.7.0 Authentication required"
# aiosmtpd logs a deprecation on every login (Session.login_data) as a warning of its own
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Received:
    """One message the server accepted: the envelope, and the message as parsed."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


class _FreePortController(Controller):
    """aiosmtpd's controller bound to port 0: the port the system chose is read back before
    the controller's first connection to its own server."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """The server, its messages, the failures it is told to answer with, and its logins."""

    def __init__(self, *, username: str | None = None, password: str | None = None):
        self.username, self.password = username, password
        self._messages: list[Received] = []
        self._failures: list[str] = []
        self._logins: list[str] = []
        self._changed = threading.Condition()
        # AUTH is offered without TLS, and required by the handler's MAIL (aiosmtpd's own
        # auth_required warns on every connection when TLS is not required with it)
        auth = ({"auth_require_tls": False, "authenticator": self._authenticate}
                if username else {})
        self._controller = _FreePortController(
            _Handler(self), hostname=HOST, port=0, server_hostname="localhost",
            ready_timeout=READY_SECONDS, **auth)

    # --- running -----------------------------------------------------------------------------

    def start(self) -> "SmtpServer":
        """Serve (once: a stopped server is not started again)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def url(self) -> str:
        """smtp://[user:password@]127.0.0.1:PORT, for HANDOFF_SMTP_URL or the mail channel."""
        login = (f"{quote(self.username, safe='')}:{quote(self.password or '', safe='')}@"
                 if self.username else "")
        return f"smtp://{login}{HOST}:{self.port}"

    # --- what a test reads and sets ------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        """Every message accepted so far, in order."""
        with self._changed:
            return list(self._messages)

    @property
    def logins(self) -> list[str]:
        """The user names that logged in, one per successful AUTH."""
        with self._changed:
            return list(self._logins)

    def fail_next(self, count: int = 1, reply: str = "451 4.3.0 Try again later") -> None:
        """Refuse the next `count` messages at the end of DATA with `reply` ("4xx text" or
        "5xx text")."""
        if not _REPLY.match(reply):
            raise ValueError(f"reply: {reply!r} is not a 4xx or 5xx SMTP reply")
        with self._changed:
            self._failures += [reply] * count

    def clear(self) -> None:
        """Forget the messages received so far (and any failures still to come)."""
        with self._changed:
            self._messages.clear()
            self._failures.clear()

    def wait_for(self, count: int, timeout_seconds: float = 60.0) -> list[Received]:
        """The messages once at least `count` have come; AssertionError after the timeout."""
        deadline = time.monotonic() + timeout_seconds
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._messages)} of {count} messages came "
                                         f"within {timeout_seconds:g} s")
                self._changed.wait(left)
            return list(self._messages)

    # --- the server's side ----------------------------------------------------------------------

    def _accept(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> str:
        with self._changed:
            if self._failures:
                return self._failures.pop(0)
            # Lines end in CRLF on the wire; the parsed message reads as Python text does
            message = email.message_from_bytes(content.replace(b"\r\n", b"\n"),
                                               policy=email.policy.default)
            self._messages.append(Received(mail_from, tuple(rcpt_tos), message))
            self._changed.notify_all()
        return "250 OK"

    def _authenticate(self, _server, _session, _envelope, _mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.username
              and auth_data.password.decode() == self.password)
        if ok:
            with self._changed:
                self._logins.append(self.username)
        return AuthResult(success=ok, handled=False)


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_MAIL(self, _server, session, envelope, address, mail_options) -> str:
        if self.server.username and not session.authenticated:
            return AUTH_REQUIRED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope) -> str:
        return self.server._accept(envelope.mail_from, list(envelope.rcpt_tos),
                                   envelope.original_content or envelope.content)
