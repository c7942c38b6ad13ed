"""The operator commands of `python -m core.cli`, run as a real process on a real database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlmodel import Session

from core import passwords
from db.models import Lead, User

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database_url(tmp_path) -> str:
    """A fresh SQLite file, migrated by `db upgrade`."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli(url, "db", "upgrade").returncode == 0
    return url


def cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=ROOT, input=stdin, capture_output=True,
        text=True, env={**os.environ, "DATABASE_URL": database_url}, timeout=300,
    )


def stored_user(database_url: str, username: str) -> User | None:
    engine = create_engine(database_url)
    with Session(engine) as session:
        user = session.execute(select(User).where(User.username == username)).scalar()
    engine.dispose()
    return user


def test_db_upgrade_says_whether_it_created_the_database_or_found_it_up_to_date(tmp_path):
    path = tmp_path / "new.db"
    url = f"sqlite:///{path}"
    created = cli(url, "db", "upgrade")
    assert created.returncode == 0, created.stderr
    head = created.stdout.strip().rsplit(" ", 1)[-1].rstrip(")")
    assert created.stdout.strip() == f"created the database at {path} (schema {head})"
    again = cli(url, "db", "upgrade")
    assert again.stdout.strip() == f"the database at {path} is up to date (schema {head})"


def test_users_add_creates_the_first_admin_from_a_password_on_stdin(database_url):
    result = cli(database_url, "users", "add", "root", "--role", "admin", "--name", "Root User",
                 "--email", "root@example.com", stdin="s3cret-enough\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "added user root (admin)"
    user = stored_user(database_url, "root")
    assert user.role == "admin" and user.active
    assert passwords.verify("s3cret-enough", user.password_hash)
    assert "s3cret-enough" not in user.password_hash


def test_users_add_refuses_bad_input_with_exit_1_and_names_the_field(database_url):
    result = cli(database_url, "users", "add", "root", "--role", "admin", "--name", "Root",
                 "--email", "root@example.com", stdin="short\n")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: password: must be at least 8 characters long"
    assert stored_user(database_url, "root") is None


def test_users_add_with_an_unknown_role_is_a_usage_error(database_url):
    result = cli(database_url, "users", "add", "root", "--role", "wizard", "--name", "Root",
                 "--email", "root@example.com", stdin="long-enough\n")
    assert result.returncode == 2
    assert "--role" in result.stderr


def test_demo_seed_is_idempotent_and_prints_the_logins(database_url):
    first = cli(database_url, "demo", "seed", "--leads", "300")
    assert first.returncode == 0, first.stderr
    assert "demo workspace seeded" in first.stdout
    assert "handoff-demo" in first.stdout
    second = cli(database_url, "demo", "seed", "--leads", "300")
    assert second.returncode == 0
    assert "already seeded; nothing added" in second.stdout
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert session.execute(select(func.count(Lead.id))).scalar() == 300
    engine.dispose()


def test_secrets_init_writes_a_long_random_key_once(tmp_path):
    path = tmp_path / "secrets.toml"
    first = cli("sqlite://", "secrets", "init", "--path", str(path))
    assert first.returncode == 0
    content = path.read_text()
    key = content.split('cookie_key = "')[1].split('"')[0]
    assert len(bytes.fromhex(key)) >= 32
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    cli("sqlite://", "secrets", "init", "--path", str(path))
    assert path.read_text() == content
