"""Credentials encrypted at rest: Fernet (AES-128-CBC with an HMAC) under the workspace's key.

The key is HANDOFF_SECRET_KEY, else `[crypto] secret_key` in the git-ignored secrets file
(`python -m core.cli secrets init` writes one). Only the ciphertext is stored; a stored secret
is shown again only as its last characters.
"""

import os
import tomllib
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

SECRETS_FILE = Path(".streamlit/secrets.toml")
HINT_CHARS = 4


class SecretKeyMissing(RuntimeError):
    """No key to encrypt or decrypt credentials with."""


def new_key() -> str:
    """A fresh key, for the secrets file."""
    return Fernet.generate_key().decode()


def _fernet() -> Fernet:
    key = os.environ.get("HANDOFF_SECRET_KEY") or _file_key()
    if not key:
        raise SecretKeyMissing(
            "no key to encrypt credentials with: set HANDOFF_SECRET_KEY or run "
            "`python -m core.cli secrets init` to add [crypto] secret_key to "
            f"{_secrets_file()}")
    try:
        return Fernet(key.encode())
    except ValueError as error:
        raise SecretKeyMissing(f"the credentials key is not a Fernet key: {error}") from None


def _secrets_file() -> Path:
    return Path(os.environ.get("HANDOFF_SECRETS_FILE") or SECRETS_FILE)


def _file_key() -> str | None:
    path = _secrets_file()
    if not path.exists():
        return None
    return tomllib.loads(path.read_text()).get("crypto", {}).get("secret_key")


def seal(plain: str) -> str:
    """The text encrypted (a Fernet token, URL-safe base64)."""
    return _fernet().encrypt(plain.encode()).decode()


def unseal(token: str) -> str:
    """The text of a sealed token; a wrong key says so rather than returning garbage."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretKeyMissing("the stored credentials were sealed with another key; enter "
                               "them again") from None


def hint(plain: str) -> str:
    """How a stored secret is shown again: "…" and its last characters."""
    return "…" + plain[-HINT_CHARS:] if len(plain) > 2 * HINT_CHARS else "…"
