"""`python -m core.cli`: the operator's and automation's command line (DESIGN §6).

Exit 0 on success, 1 on invalid input (message on stderr), 2 on usage errors.
"""

import secrets as token_source
import sys
from pathlib import Path
from typing import Annotated

import typer

from core import services
from core.errors import InvalidInput
from core.permissions import Role

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Handoff command line.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
users_app = typer.Typer(no_args_is_help=True, help="User accounts (operator).")
demo_app = typer.Typer(no_args_is_help=True, help="The demo workspace.")
secrets_app = typer.Typer(no_args_is_help=True, help="Secrets the app needs.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
app.add_typer(secrets_app, name="secrets")

COOKIE_KEY_BYTES = 32


def fail(message: str) -> None:
    """Print an error on stderr and exit 1 (invalid input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    from db import migrate

    migrate.upgrade()
    typer.echo("database is up to date")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="One of the roles of DESIGN §7.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    email: Annotated[str, typer.Option(help="Email address.")],
    team: Annotated[str | None, typer.Option(help="Team, e.g. for sales reps.")] = None,
) -> None:
    """Create a user; the password is read from stdin (first line)."""
    from db.engine import get_session

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with get_session() as session:
            user = services.add_user(
                session=session, actor=services.OPERATOR, username=username,
                display_name=name, email=email, role=role.value, password=password, team=team,
            )
    except InvalidInput as error:
        fail(str(error))
    typer.echo(f"added user {user.username} ({user.role})")


@demo_app.command("seed")
def demo_seed(
    leads: Annotated[int, typer.Option(min=0, help="How many demo leads.")] = 12_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 7,
) -> None:
    """Build the demo company (idempotent: a second run adds nothing)."""
    from core.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
    from db.engine import get_session

    with get_session() as session:
        summary = seed_demo(session, leads=leads, seed=seed)
    if summary.already_seeded:
        typer.echo("demo workspace already seeded; nothing added")
    else:
        typer.echo(
            f"demo workspace seeded: {summary.users_added} users, {summary.leads_added} leads, "
            f"{summary.touches_added} touches"
        )
    typer.echo(f"\nDemo logins (password for every one: {DEMO_PASSWORD}):")
    for user in DEMO_USERS:
        typer.echo(f"  {user.username:<10} {Role(user.role).label:<18} {user.display_name}")


@secrets_app.command("init")
def secrets_init(
    path: Annotated[Path, typer.Option(help="Streamlit secrets file.")] = Path(
        ".streamlit/secrets.toml"
    ),
) -> None:
    """Create the login cookie secret (32 random bytes) unless the file already has one."""
    if path.exists() and "cookie_key" in path.read_text():
        typer.echo(f"{path} already holds a cookie secret")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(f'[auth]\ncookie_key = "{token_source.token_hex(COOKIE_KEY_BYTES)}"\n')
    path.chmod(0o600)
    typer.echo(f"wrote a new cookie secret to {path}")


def main() -> None:
    """Entry point for `python -m core.cli`."""
    app()


if __name__ == "__main__":
    main()
