"""bcrypt hashing for login passwords; plain passwords are never stored."""

import os
from functools import cache

import bcrypt

from core.errors import InvalidInput

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores anything longer, so longer passwords are refused outright
DEFAULT_ROUNDS = 12


def rounds() -> int:
    """bcrypt work factor: 12, unless HANDOFF_BCRYPT_ROUNDS lowers it (the test suite does)."""
    return int(os.environ.get("HANDOFF_BCRYPT_ROUNDS", DEFAULT_ROUNDS))



@cache
def _dummy_hash() -> bytes:
    """Checked against when the username is unknown, so a wrong username costs as long as a
    wrong password and response times do not reveal which usernames exist."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(DEFAULT_ROUNDS))


def validate(password: str) -> None:
    """Refuse passwords that are too short or too long for bcrypt."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_LENGTH} characters long")
    if len(password.encode()) > MAX_BYTES:
        raise InvalidInput("password", f"must be at most {MAX_BYTES} bytes long")


def hash_password(password: str) -> str:
    """A bcrypt hash of a validated password."""
    validate(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds())).decode()


def verify(password: str, password_hash: str | None) -> bool:
    """Whether the password matches the hash (always spends the time of one bcrypt check)."""
    candidate = password.encode()[:MAX_BYTES]
    if password_hash is None:
        bcrypt.checkpw(candidate, _dummy_hash())
        return False
    return bcrypt.checkpw(candidate, password_hash.encode())
