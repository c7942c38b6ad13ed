"""Password hashing."""

import pytest

from core import passwords
from core.errors import InvalidInput


def test_production_work_factor_is_12(monkeypatch):
    monkeypatch.delenv("HANDOFF_BCRYPT_ROUNDS")
    assert passwords.hash_password("long enough").startswith("$2b$12$")


def test_hash_verifies_only_the_same_password():
    stored = passwords.hash_password("long enough")
    assert passwords.verify("long enough", stored)
    assert not passwords.verify("long enougH", stored)
    assert not passwords.verify("long enough", None)


@pytest.mark.parametrize("password", ["short", "x" * 73])
def test_too_short_or_too_long_passwords_are_refused(password):
    with pytest.raises(InvalidInput, match="password"):
        passwords.hash_password(password)
