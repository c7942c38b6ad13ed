"""The re-login token: issued with its instant, and anything else reads as no token at all."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from core import session_token

KEY = "k" * 32
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def unsigned(claims: dict) -> str:
    """A token with `alg: none`, as a forger would write it."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_token_reads_back_with_its_user_and_issue_instant():
    token = session_token.issue("ana", KEY, NOW, WEEK)
    claim = session_token.read(token, KEY, NOW + timedelta(days=1))
    assert claim == session_token.SessionClaim("ana", NOW)


GOOD = {"username": "ana", "iat": NOW.timestamp(), "exp_date": (NOW + WEEK).timestamp()}
MALFORMED = {
    "alg none": unsigned(GOOD),
    "alg none, empty signature and upper case": unsigned(GOOD).replace("none", "NONE"),
    "another key": jwt.encode(GOOD, "x" * 32, algorithm="HS256"),
    "HS512": jwt.encode(GOOD, KEY * 2, algorithm="HS512"),
    "expired": session_token.issue("ana", KEY, NOW - 2 * WEEK, WEEK),
    "from the future": session_token.issue("ana", KEY, NOW + timedelta(hours=1), WEEK),
    "no iat (a token of the old format)": jwt.encode(
        {"username": "ana", "exp_date": GOOD["exp_date"]}, KEY, algorithm="HS256"),
    "username not a string": jwt.encode({**GOOD, "username": ["ana"]}, KEY, algorithm="HS256"),
    "username not a username": jwt.encode({**GOOD, "username": "Ana; DROP"}, KEY,
                                          algorithm="HS256"),
    "iat a string": jwt.encode({**GOOD, "iat": "yesterday"}, KEY, algorithm="HS256"),
    "exp_date a bool": jwt.encode({**GOOD, "exp_date": True}, KEY, algorithm="HS256"),
    "exp_date out of range": jwt.encode({**GOOD, "exp_date": 1e300}, KEY, algorithm="HS256"),
    "payload not an object": jwt.encode({"username": "ana"}, KEY, algorithm="HS256")[:-3],
    "garbage": "not a token at all",
    "three dots": "...",
    "empty": "",
    "huge": "a" * 100_000,
    "non-ascii": "ä.ö.ü",
    "not a string": 12345,
    "None": None,
}


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_anything_but_a_current_token_of_ours_reads_as_none(token):
    assert session_token.read(token, KEY, NOW) is None
