"""The signed re-login cookie's token: issued with the instant it was issued, read strictly.

A token is an HS256 JWT of {"username", "iat", "exp_date"} (exp_date is the name
streamlit-authenticator gives the expiry). Reading accepts nothing else: another algorithm
(`none` included), a bad signature, a missing or mistyped claim, a token from the future or
past its expiry, or bytes that are not a JWT at all all read as "no token", so the login form
shows instead of a traceback.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 4096  # a browser's cookie limit; a longer value is not ours
CLOCK_SKEW = timedelta(minutes=5)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class SessionClaim:
    """Who a valid token logs in, and when it was issued (for revocation)."""

    username: str
    issued_at: datetime


def issue(username: str, key: str, now: datetime, lifetime: timedelta) -> str:
    """A signed token for `username`, issued at `now`, valid for `lifetime`."""
    claims = {"username": username, "iat": now.timestamp(),
              "exp_date": (now + lifetime).timestamp()}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read(token: object, key: str, now: datetime) -> SessionClaim | None:
    """The claim of a well-formed, correctly signed, current token; None for anything else."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM],
                            options={"verify_exp": False, "verify_iat": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    username, issued, expires = (claims.get(name) for name in ("username", "iat", "exp_date"))
    if not (isinstance(username, str) and _USERNAME.match(username)
            and _instant(issued) and _instant(expires)):
        return None
    issued_at = datetime.fromtimestamp(issued, UTC)
    if issued_at > now + CLOCK_SKEW or datetime.fromtimestamp(expires, UTC) <= now:
        return None
    return SessionClaim(username, issued_at)


def _instant(value: object) -> bool:
    """A finite epoch second within datetime's range."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and 0 < value < 253_402_300_799)
