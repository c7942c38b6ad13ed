"""REST API tokens: created by an admin, scoped to read or write, revocable, kept only as a hash.

A token is shown once, when it is created ("hnd_" and 43 URL-safe characters, 256 random bits);
the database keeps its SHA-256 and its first characters, so a list can tell tokens apart and a
stolen database cannot call the API. A plain hash, not bcrypt: the token is random and long, so
there is nothing to guess, and every request checks one.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.errors import InvalidInput, NotFound
from core.permissions import Action, Role, require
from core.services.accounts import Actor
from core.services.audit import record
from db.models import ApiToken, utcnow

PREFIX = "hnd_"
SCOPES = ("read", "write")
NAME_MAX_CHARS = 64
SHOWN_CHARS = 8  # of the token after its prefix, in lists
LAST_USED_EVERY = timedelta(minutes=1)  # how often a busy token's last use is written


@dataclass(frozen=True)
class TokenView:
    """A token as a list shows it: never the token itself."""

    id: int
    name: str
    scope: str
    shown: str  # "hnd_AbC123xY…"
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "scope": self.scope, "token": self.shown,
                "created_by": self.created_by, "created_at": _iso(self.created_at),
                "last_used_at": _iso(self.last_used_at), "revoked_at": _iso(self.revoked_at),
                "active": self.active}


@dataclass(frozen=True)
class ApiClient:
    """Who a request with a valid token acts as."""

    token_id: int
    name: str
    scope: str

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    @property
    def actor(self) -> Actor:
        """The audit trail's name for the client: `api:<name>`."""
        return Actor(username=f"api:{self.name}"[:64], display_name=f"API client {self.name}",
                     role=Role.ADMIN)


def create_token(*, session: Session, actor: Actor, name: str,
                 scope: str) -> tuple[TokenView, str]:
    """A new token for a named client; returns it with the token, which is never shown again."""
    require(actor.role, Action.MANAGE_INTEGRATIONS)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name", "name the client the token is for (a CRM, a script)")
    if len(name) > NAME_MAX_CHARS:
        raise InvalidInput("name", f"{len(name)} characters; at most {NAME_MAX_CHARS} are allowed")
    if scope not in SCOPES:
        raise InvalidInput("scope", f"'{scope}' is not a scope; use read or write")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, scope=scope, prefix=token[:len(PREFIX) + SHOWN_CHARS],
                   token_hash=_digest(token), created_by=actor.username)
    session.add(row)
    session.flush()
    record(session, actor=actor.username, action="api_token.create", object_type="api_token",
           object_id=row.id, after={"name": name, "scope": scope, "token": _shown(row)})
    return _view(row), token


def list_tokens(*, session: Session, actor: Actor) -> list[TokenView]:
    """Every token, newest first, revoked ones included."""
    require(actor.role, Action.MANAGE_INTEGRATIONS)
    rows = session.exec(select(ApiToken).order_by(col(ApiToken.id).desc())).all()
    return [_view(row) for row in rows]


def revoke_token(*, session: Session, actor: Actor, token_id: int) -> TokenView:
    """Revoke a token: the next request with it is refused (401). Revoking twice is a no-op."""
    require(actor.role, Action.MANAGE_INTEGRATIONS)
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token #{token_id}")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), actor.username
        session.add(row)
        record(session, actor=actor.username, action="api_token.revoke",
               object_type="api_token", object_id=row.id, after={"name": row.name})
        session.flush()
    return _view(row)


def client_for(*, session: Session, token: str | None) -> ApiClient | None:
    """The client a bearer token belongs to, or None (unknown, malformed or revoked)."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now
        session.add(row)
    return ApiClient(row.id, row.name, row.scope)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _shown(row: ApiToken) -> str:
    return f"{row.prefix}…"


def _view(row: ApiToken) -> TokenView:
    return TokenView(row.id, row.name, row.scope, _shown(row), row.created_by, row.created_at,
                     row.last_used_at, row.revoked_at)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
