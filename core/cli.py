"""`python -m core.cli`: the operator's and automation's command line (DESIGN §6).

Exit 0 on success, 1 on invalid input (message on stderr), 2 on usage errors.
"""

import json
import re
import secrets as token_source
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from core import limits, secret_box, services
from core.errors import Busy, InvalidInput, NotFound
from core.json_values import plain_json
from core.permissions import PermissionDenied, Role

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Handoff command line.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema, backup and restore.")
users_app = typer.Typer(no_args_is_help=True, help="User accounts (operator).")
demo_app = typer.Typer(no_args_is_help=True, help="The demo workspace.")
secrets_app = typer.Typer(no_args_is_help=True, help="Secrets the app needs.")
agreement_app = typer.Typer(no_args_is_help=True, help="The SLA: import, export, workflow.")
import_app = typer.Typer(no_args_is_help=True, help="Leads and touches from CRM exports.")
review_app = typer.Typer(no_args_is_help=True, help="The quarterly review and its sign-off.")
sync_app = typer.Typer(no_args_is_help=True, help="CRM syncs (HubSpot, Salesforce).")
api_app = typer.Typer(no_args_is_help=True, help="The REST API: its server and its tokens.")
alerts_app = typer.Typer(no_args_is_help=True, help="The agreement's escalation alerts.")
api_token_app = typer.Typer(no_args_is_help=True, help="API tokens: create, list, revoke.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
app.add_typer(secrets_app, name="secrets")
app.add_typer(agreement_app, name="agreement")
app.add_typer(import_app, name="import")
app.add_typer(review_app, name="review")
app.add_typer(sync_app, name="sync")
app.add_typer(api_app, name="api")
app.add_typer(alerts_app, name="alerts")
api_app.add_typer(api_token_app, name="token")

COOKIE_KEY_BYTES = 32


def fail(message: str) -> None:
    """Print an error on stderr and exit 1 (invalid input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def read_at_most(file: Path, limit: int) -> bytes:
    """A file's bytes, but never more than one byte past `limit`: enough for the reader to
    refuse an over-long file by its limit without holding all of it."""
    with file.open("rb") as handle:
        return handle.read(limit + 1)


def echo_json(value) -> None:
    """Print strict JSON: a number that is not finite (which no figure should be) is null,
    never the NaN or Infinity that JSON parsers refuse."""
    typer.echo(json.dumps(plain_json(value), indent=2, allow_nan=False))


@contextmanager
def refusals_exit_1() -> Iterator[None]:
    """Turn a refusal by the domain (bad input, permission, workflow) into exit 1."""
    from core.agreement import InvalidAgreement
    from core.services.agreements import WorkflowError

    try:
        yield
    except InvalidAgreement as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    except (Busy, InvalidInput, NotFound, PermissionDenied, WorkflowError) as error:
        fail(str(error))


def acting_user(session, username: str) -> services.Actor:
    """The active user named by --as (exit 1 when there is none)."""
    actor = services.get_actor(session=session, username=username)
    if actor is None:
        fail(f"--as: no active user named '{username}'")
    return actor


AsUser = Annotated[str, typer.Option("--as", help="The user this command acts for.")]
Comment = Annotated[str | None, typer.Option(help="A comment recorded with the step.")]
VersionOpt = Annotated[int | None, typer.Option("--version", help="Version number (default: "
                                                "the latest).")]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    from db import migrate

    before = migrate.current_revision()
    migrate.upgrade()
    typer.echo(migrate.applied(before, migrate.current_revision()))


BackupFile = Annotated[Path, typer.Argument(help="The backup file.")]


@db_app.command("backup")
def db_backup(
    file: BackupFile,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Back up DATABASE_URL to FILE (SQLite online backup; PostgreSQL via pg_dump)."""
    from db import backup

    try:
        written = backup.backup(file, force=force)
    except backup.BackupError as error:
        fail(str(error))
    typer.echo(f"wrote {written.path}: {written.size:,} bytes, {_table_rows(written.rows)}")
    typer.echo(f"sha256 {written.sha256}")


@db_app.command("restore")
def db_restore(file: BackupFile) -> None:
    """Restore FILE into the empty DATABASE_URL, then migrate it to head."""
    from db import backup

    try:
        restored = backup.restore(file)
    except backup.BackupError as error:
        fail(str(error))
    typer.echo(f"restored {restored.path} (sha256 {restored.sha256}) into {restored.target}: "
               f"{_table_rows(restored.rows)}")
    if restored.revision_from == restored.revision_to:
        typer.echo(f"schema at head ({restored.revision_to})")
    else:
        typer.echo(f"schema upgraded from {restored.revision_from} to {restored.revision_to}"
                   " (head)")


def _table_rows(rows: dict[str, int]) -> str:
    total = sum(rows.values())
    return f"{len(rows)} tables, {total:,} {'row' if total == 1 else 'rows'}"


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
            f"{summary.touches_added} touches, {summary.agreements_added} agreement"
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
    """Add what the secrets file lacks: the login cookie secret (32 random bytes) and the key
    that encrypts connector credentials. Existing secrets are never replaced."""
    text = path.read_text() if path.exists() else ""
    wanted = {
        "auth": ("cookie_key", token_source.token_hex(COOKIE_KEY_BYTES), "a login cookie secret"),
        "crypto": ("secret_key", secret_box.new_key(), "a key for connector credentials"),
    }
    missing = {section: entry for section, entry in wanted.items()
               if not re.search(rf"^\s*{entry[0]}\s*=", text, re.MULTILINE)}
    if not missing:
        typer.echo(f"{path} already holds every secret")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    added = "".join(f'\n[{section}]\n{key} = "{value}"\n'
                    for section, (key, value, _what) in missing.items())
    path.write_text(text.rstrip("\n") + added if text else added.lstrip("\n"))
    path.chmod(0o600)
    for _key, _value, what in missing.values():
        typer.echo(f"wrote {what} to {path}")


@agreement_app.command("import")
def agreement_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_user: AsUser,
    agreement: Annotated[int | None, typer.Option(help="Add a new version to this agreement.")]
    = None,
) -> None:
    """Import an SLA YAML file as a new draft (or a new version with --agreement)."""
    from core.services import agreements
    from db.engine import get_session

    with refusals_exit_1(), get_session() as session:
        version = agreements.import_yaml(
            session=session, actor=acting_user(session, as_user),
            text=read_at_most(file, limits.YAML_MAX_BYTES), source=str(file),
            agreement_id=agreement,
        )
    typer.echo(f"agreement {version.agreement_id} version {version.number}")


@agreement_app.command("export")
def agreement_export(
    agreement_id: Annotated[int, typer.Argument(metavar="ID")], version: VersionOpt = None
) -> None:
    """Print a version as SLA YAML."""
    from core.services import agreements
    from db.engine import get_session

    with refusals_exit_1(), get_session() as session:
        text = agreements.export_yaml(session=session, actor=services.OPERATOR,
                                      agreement_id=agreement_id, number=version)
    typer.echo(text, nl=False)


RevisionOpt = Annotated[int | None, typer.Option(
    "--revision", help="The revision you read (approve, sign): refused if the version has "
                       "changed since. Default: the version as it is now.")]
ShaOpt = Annotated[str | None, typer.Option(
    "--sha256", help="The SHA-256 of the document you read, as `agreement list --format json` "
                     "prints it in latest_sha256 (approve, sign): refused if it differs.")]


def _workflow_step(step_name: str):
    """A CLI command for one workflow step (submit, approve, sign)."""

    def command(
        agreement_id: Annotated[int, typer.Argument(metavar="ID")], as_user: AsUser,
        comment: Comment = None, version: VersionOpt = None, revision: RevisionOpt = None,
        sha256: ShaOpt = None,
    ) -> None:
        from core.services import agreements
        from db.engine import get_session

        step = getattr(agreements, step_name)
        with refusals_exit_1(), get_session() as session:
            actor = acting_user(session, as_user)
            read = {}
            if step_name != "submit":
                current = agreements.get_version(session=session, actor=actor,
                                                 agreement_id=agreement_id, number=version)
                read = {"revision": current.revision if revision is None else revision,
                        "document_sha256": sha256}
            result = step(session=session, actor=actor, agreement_id=agreement_id,
                          number=version, comment=comment, **read)
        typer.echo(f"agreement {result.agreement_id} version {result.number}: {result.state}")

    command.__doc__ = {
        "submit": "Submit a draft for review by both heads.",
        "approve": "Approve the version in review for your side (sales or marketing).",
        "sign": "Sign off an agreed version (exec): it becomes active.",
    }[step_name]
    return command


for _step in ("submit", "approve", "sign"):
    agreement_app.command(_step)(_workflow_step(_step))


@agreement_app.command("list")
def agreement_list(
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """List agreements with their latest and active versions."""
    from core.services import agreements
    from db.engine import get_session

    if output not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    with get_session() as session:
        rows = agreements.list_agreements(session=session, actor=services.OPERATOR)
    if output == "json":
        echo_json([_summary_json(row) for row in rows])
        return
    if not rows:
        typer.echo("no agreements yet")
    for row in rows:
        active = f"active v{row.active_number}" if row.active_number else "nothing active"
        if row.scheduled_number:
            active += f", v{row.scheduled_number} starts {row.scheduled_start}"
        typer.echo(f"{row.id:>4}  {row.title}  [{row.effective_start} → {row.effective_end}]  "
                   f"latest v{row.latest_number} {row.latest_state}, {active}")


def _summary_json(row) -> dict:
    return {
        "id": row.id, "title": row.title, "latest_version": row.latest_number,
        "latest_state": row.latest_state, "active_version": row.active_number,
        "latest_revision": row.latest_revision, "latest_sha256": row.latest_sha256,
        "effective": {"start": row.effective_start.isoformat(),
                      "end": row.effective_end.isoformat()},
        "scheduled_version": row.scheduled_number,
        "scheduled_start": row.scheduled_start.isoformat() if row.scheduled_start else None,
    }


class Preset(StrEnum):
    """Column presets for common CRM exports."""

    hubspot = "hubspot"
    salesforce = "salesforce"


class Output(StrEnum):
    """Output formats of the import commands."""

    text = "text"
    json = "json"


MapOption = Annotated[list[str] | None, typer.Option(
    "--map", help="FIELD=COLUMN: map a canonical field to a column (repeatable).")]
TzOption = Annotated[str | None, typer.Option(
    "--tz", help="Zone of naive timestamps (default: the active agreement's, else UTC).")]
DateFormatOption = Annotated[str | None, typer.Option(
    "--date-format", help="strptime format for every date column, e.g. %d-%m-%Y.")]
FormatOption = Annotated[Output, typer.Option("--format", help="text or json")]
OptionalAs = Annotated[str | None, typer.Option(
    "--as", help="The user importing (default: the operator, recorded as cli).")]
FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@import_app.command("leads")
def import_leads(
    file: FileArgument, preset: Annotated[Preset | None, typer.Option()] = None,
    map_: MapOption = None, tz: TzOption = None, date_format: DateFormatOption = None,
    source: Annotated[str | None, typer.Option(help="System the ids belong to.")] = None,
    output: FormatOption = Output.text, as_user: OptionalAs = None,
) -> None:
    """Import leads: upsert by (source, external_id); bad rows are reported, good rows kept."""
    from core.services import imports

    _run_import(imports.import_leads, file, map_, tz, as_user, output, date_format=date_format,
                source=source, preset=preset.value if preset else None)


@import_app.command("touches")
def import_touches(
    file: FileArgument, preset: Annotated[Preset | None, typer.Option()] = None,
    map_: MapOption = None, tz: TzOption = None, date_format: DateFormatOption = None,
    source: Annotated[str, typer.Option(help="System the lead ids belong to.")] = "import",
    output: FormatOption = Output.text, as_user: OptionalAs = None,
) -> None:
    """Import touches (sales activities, with an outcome and a note where the file has them);
    a touch of an unknown lead is a rejected row."""
    from core.services import imports

    _run_import(imports.import_touches, file, map_, tz, as_user, output,
                date_format=date_format, source=source,
                preset=preset.value if preset else None)


def _run_import(service, file: Path, map_: list[str] | None, tz: str | None,
                as_user: str | None, output: Output, **options) -> None:
    """Parse the shared options, run one import service, and print its summary."""
    from core.ingest import FileRefused, UsageError
    from db.engine import get_session

    overrides = _mapping_options(map_ or [])
    _check_zone(tz)
    try:
        with refusals_exit_1(), get_session() as session:
            actor = acting_user(session, as_user) if as_user else services.OPERATOR
            summary = service(session=session, actor=actor,
                              data=read_at_most(file, limits.FILE_MAX_BYTES),
                              filename=file.name, overrides=overrides, tz=tz, **options)
    except UsageError as error:
        raise typer.BadParameter(str(error)) from None
    except FileRefused as error:
        fail(str(error))
    if output == Output.json:
        echo_json(summary.as_json())
        return
    typer.echo(f"{file.name}: read {summary.read}, inserted {summary.inserted}, updated "
               f"{summary.updated}, unchanged {summary.unchanged}, rejected {summary.rejected}")
    for note in summary.notes:
        typer.echo(f"note: {note}")
    for error in summary.errors:
        typer.echo(f"line {error.line}, {error.column or '-'}: {error.reason}")


@import_app.command("undo")
def import_undo(
    batch_id: Annotated[int, typer.Argument(metavar="BATCH_ID", help="The batch id an import "
                                            "printed (`batch` in its JSON).")],
    as_user: OptionalAs = None, output: FormatOption = Output.text,
) -> None:
    """Revert an import batch: delete the leads or touches it inserted and put back the fields
    it changed; refused, naming the leads, when later changes touched them."""
    from core.services import import_undo
    from db.engine import get_session

    with refusals_exit_1(), get_session() as session:
        actor = acting_user(session, as_user) if as_user else services.OPERATOR
        summary = import_undo.undo_batch(session=session, actor=actor, batch_id=batch_id)
    if output == Output.json:
        echo_json(summary.as_json())
        return
    what = "leads" if summary.kind == "leads" else "touches"
    typer.echo(f"batch {summary.batch_id} undone: {summary.deleted} {what} deleted, "
               f"{summary.restored} {what} restored")


def _mapping_options(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, separator, column = pair.partition("=")
        if not separator or not field.strip() or not column.strip():
            raise typer.BadParameter(f"'{pair}' is not FIELD=COLUMN", param_hint="--map")
        mapping[field.strip()] = column.strip()
    return mapping


def _check_zone(tz: str | None) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if tz is None:
        return
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"'{tz}' is not an IANA time zone", param_hint="--tz") from None


class ReportFormat(StrEnum):
    """Output formats of `report`."""

    json = "json"
    csv = "csv"


class GroupBy(StrEnum):
    """Breakdown dimensions of `report --by`."""

    rep = "rep"
    channel = "channel"
    segment = "segment"
    region = "region"


SUMMARY_CSV_FIELDS = [
    "section", "id", "owner", "kind", "status", "target", "actual", "attainment_pct",
    "expected_to_date", "projected", "target_pct", "within_seconds", "met", "breached",
    "overdue", "pending", "at_risk", "compliance_pct", "median_seconds", "p90_seconds",
    "median_breach_seconds", "accepted", "rejected", "acceptance_pct",
]


@app.command("report")
def report(
    period: Annotated[str, typer.Option(help="2018-03, 2018-Q1 or 2018-01-01:2018-04-01")],
    agreement: Annotated[int | None, typer.Option(help="Agreement id (default: the only "
                                                       "one with a signed version).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Measure as of this instant "
                                              "(default: now; naive = calendar zone).")] = None,
    by: Annotated[GroupBy | None, typer.Option(help="Break down by rep, channel, segment or "
                                               "region.")] = None,
    detail: Annotated[bool, typer.Option(help="One row per lead and clock commitment.")] = False,
    output: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.json,
    what_if: Annotated[int | None, typer.Option(
        "--what-if", help="Measure every lead of the period against this version of the "
                          "agreement (a draft, say) instead of the signed ones.")] = None,
) -> None:
    """Measure compliance for a period (reproducible with --as-of)."""
    import csv

    from db import columnar
    from db.engine import database_url

    columnar.start_reader(database_url())  # it starts while the rest loads
    from core import compliance, csv_safe
    from core.services import measurement
    from db.engine import get_session

    if detail and what_if is not None:
        raise typer.BadParameter("--detail and --what-if do not combine", param_hint="--what-if")
    try:
        with refusals_exit_1(), get_session() as session:
            scope = measurement.scope(session=session, actor=services.OPERATOR, period=period,
                                      agreement_id=agreement, as_of=as_of,
                                      require_cover=what_if is None)
            if detail:
                rows = measurement.clock_detail(session=session, actor=services.OPERATOR,
                                                scope=scope)
            elif what_if is not None:
                result = measurement.what_if(session=session, actor=services.OPERATOR,
                                             scope=scope, version=what_if,
                                             by=by.value if by else None)
            else:
                result = measurement.report(session=session, actor=services.OPERATOR,
                                            scope=scope, by=by.value if by else None)
    except measurement.AmbiguousAgreement as error:
        raise typer.BadParameter(str(error), param_hint="--agreement") from None
    if detail:  # clock_detail's timestamps are already ISO 8601 UTC strings
        if output == ReportFormat.csv:
            typer.echo(csv_safe.frame_csv(rows), nl=False)
        else:
            head = {"agreement": scope.agreement,
                    "period": {"start": compliance.iso(scope.period.start),
                               "end": compliance.iso(scope.period.end)},
                    "as_of": compliance.iso(scope.as_of)}
            echo_json({**head, "detail": json.loads(rows.to_json(orient="records"))})
        return
    if output == ReportFormat.json:
        echo_json(result)
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=SUMMARY_CSV_FIELDS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in result["commitments"]:
        writer.writerow(csv_safe.inert_row({"section": "commitment", **row}))
    for row in result["shared_goals"]:
        writer.writerow(csv_safe.inert_row({"section": "shared_goal", **row}))


AgreementOpt = Annotated[int | None, typer.Option(
    "--agreement", help="Agreement id (default: the only one with a signed version).")]


@contextmanager
def ambiguous_agreement_is_usage() -> Iterator[None]:
    """Several signed agreements and no --agreement: a usage error (exit 2)."""
    from core.services.measurement import AmbiguousAgreement

    try:
        yield
    except AmbiguousAgreement as error:
        raise typer.BadParameter(str(error), param_hint="--agreement") from None


@app.command("plan")
def plan(
    quarter: Annotated[str, typer.Option(help="The quarter to plan, e.g. 2018-Q3.")],
    revenue: Annotated[float | None, typer.Option(
        help="Revenue goal of the quarter (default: the agreement's shared revenue goal).")] = None,
    agreement: AgreementOpt = None,
    history: Annotated[int, typer.Option(help="Quarters of history for rates and the average "
                                              "won amount.")] = 4,
    avg_won: Annotated[float | None, typer.Option("--avg-won", help="Average won amount "
                                                  "(default: from history).")] = None,
    rate: Annotated[list[str] | None, typer.Option(
        "--rate", help="STAGE_PAIR=RATE, e.g. mql_sal=0.6 (repeatable; default: history).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Plan as of this instant: history "
                                              "is the quarters ended by then (default: now).")
                     ] = None,
    output: FormatOption = Output.text,
) -> None:
    """Reverse waterfall: the won deals, SQLs, SALs and MQLs a revenue goal needs."""
    from core import planner
    from core.services import planning
    from db.engine import get_session

    try:
        rates = planner.parse_rates(rate) if rate else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--rate") from None
    with ambiguous_agreement_is_usage(), refusals_exit_1(), get_session() as session:
        result = planning.plan(session=session, actor=services.OPERATOR, quarter=quarter,
                               revenue=revenue, agreement_id=agreement, history=history,
                               avg_won=avg_won, rates=rates, as_of=as_of)
    if output == Output.json:
        echo_json(result)
        return
    typer.echo(_plan_text(result))


def _plan_text(result: dict) -> str:
    """The plan in a few lines."""
    rates = ", ".join(f"{name} {value:.1%}" for name, value in result["rates"].items())
    required = result["required"]
    months = ", ".join(f"{row['month']}: {row['mql']:,}" for row in result["by_month"])
    sample = result["sample"]
    return "\n".join([
        f"{result['quarter']}: revenue {result['revenue']:,.0f} at {result['avg_won']:,.0f} "
        "per won deal",
        f"needs {required['won']:,} won, {required['sql']:,} SQLs, {required['sal']:,} SALs, "
        f"{required['mql']:,} MQLs",
        f"MQLs by month: {months}",
        f"rates: {rates} (history: {sample['quarters']} quarters "
        f"{result['history_quarters'][0]} to {result['history_quarters'][-1]}, "
        f"{sample['mql']:,} MQLs, {sample['won']:,} won)",
    ])


ReviewQuarter = Annotated[str, typer.Argument(metavar="QUARTER", help="e.g. 2018-Q1")]


@review_app.command("show")
def review_show(quarter: ReviewQuarter, agreement: AgreementOpt = None,
                output: FormatOption = Output.text) -> None:
    """The quarter's scorecard, comments, sign-off and what changed since it."""
    from core.services import reviews
    from db.engine import get_session

    with ambiguous_agreement_is_usage(), refusals_exit_1(), get_session() as session:
        review = reviews.show(session=session, actor=services.OPERATOR, quarter=quarter,
                              agreement_id=agreement)
    if output == Output.json:
        echo_json(review)
        return
    typer.echo(reviews.text_summary(review))


def _review_step(step_name: str):
    """A CLI command for one review step (comment, sign, send-back)."""

    def command(quarter: ReviewQuarter, as_user: AsUser, comment: Comment = None,
                agreement: AgreementOpt = None) -> None:
        from core.services import reviews
        from db.engine import get_session

        step = getattr(reviews, step_name.replace("-", "_"))
        text = {"body": comment} if step_name == "comment" else {"comment": comment}
        with ambiguous_agreement_is_usage(), refusals_exit_1(), get_session() as session:
            review = step(session=session, actor=acting_user(session, as_user), quarter=quarter,
                          agreement_id=agreement, **text)
        outcome = "comment added" if step_name == "comment" else review["state"]
        typer.echo(f"review {quarter}: {outcome}")

    command.__doc__ = {
        "comment": "Comment on the quarter's review (heads, exec, admin).",
        "sign": "Sign off the quarter (exec): its scorecard is frozen.",
        "send-back": "Send the review back with a comment (exec).",
    }[step_name]
    return command


for _step in ("comment", "sign", "send-back"):
    review_app.command(_step)(_review_step(_step))


class TokenScope(StrEnum):
    """What an API token may do."""

    read = "read"
    write = "write"


@api_token_app.command("create")
def api_token_create(
    name: Annotated[str, typer.Argument(help="The client the token is for (a CRM, a script).")],
    scope: Annotated[TokenScope, typer.Option(help="read: GET the report; write: also POST "
                                              "leads and touches.")],
) -> None:
    """Create an API token and print it once; only its hash is kept."""
    from core.services import api_tokens
    from db.engine import get_session

    with refusals_exit_1(), get_session() as session:
        view, token = api_tokens.create_token(session=session, actor=services.OPERATOR,
                                              name=name, scope=scope.value)
    typer.echo(token)
    typer.echo(f"token #{view.id} '{view.name}' ({view.scope}); it is shown only now: keep it "
               "in your client's secret store", err=True)


@api_token_app.command("list")
def api_token_list(output: Annotated[Output, typer.Option("--format")] = Output.text,
                   ) -> None:
    """Every API token (never the token itself), newest first."""
    from core.services import api_tokens
    from db.engine import get_session

    with get_session() as session:
        views = api_tokens.list_tokens(session=session, actor=services.OPERATOR)
    if output == Output.json:
        echo_json([view.as_json() for view in views])
        return
    for view in views:
        state = "active" if view.active else f"revoked {view.revoked_at:%Y-%m-%d %H:%M} UTC"
        used = f"{view.last_used_at:%Y-%m-%d %H:%M} UTC" if view.last_used_at else "never"
        typer.echo(f"#{view.id:<4} {view.name:<24} {view.scope:<6} {view.shown:<14} "
                   f"last used {used:<21} {state}")


@api_token_app.command("revoke")
def api_token_revoke(token_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token: the next request with it is refused (401)."""
    from core.services import api_tokens
    from db.engine import get_session

    with refusals_exit_1(), get_session() as session:
        view = api_tokens.revoke_token(session=session, actor=services.OPERATOR,
                                       token_id=token_id)
    typer.echo(f"token #{view.id} '{view.name}' is revoked")


@api_app.command("serve")
def api_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="API_PORT", help="Port (API_PORT).")] = 8502,
) -> None:
    """Serve the REST API (uvicorn) in the foreground."""
    import uvicorn

    from api.app import served_app
    from core import request_log

    # One JSON line per request (ours) instead of uvicorn's access log; uvicorn's other
    # records go through the same handler, at HANDOFF_LOG_LEVEL
    request_log.configure()
    uvicorn.run(served_app(), host=host, port=port, log_config=None, log_level=None,
                access_log=False, proxy_headers=True, timeout_graceful_shutdown=10)


@app.command("worker")
def worker_command(
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker threads.")] = 2,
) -> None:
    """Run the background worker in the foreground (syncs, time-driven changes) until SIGTERM
    or SIGINT; its queue is in Redis with REDIS_URL, else in HANDOFF_WORKER_DB (SQLite)."""
    from core import request_log, worker

    request_log.configure()
    worker.run(workers=workers)


@app.command("health")
def health_command(output: FormatOption = Output.text) -> None:
    """Whether every part can serve: the database, its migrations, the worker's Redis and the
    workers (exit 0 when ready, 1 when not, naming the checks that failed on stderr)."""
    from core import readiness

    state = readiness.ready()
    if output == Output.json:
        echo_json(state)
    else:
        for name, check in state["checks"].items():
            typer.echo(f"{name:<11} {'ok' if check['ok'] else 'NOT OK':<7} "
                       f"{_check_text(name, check)}".rstrip())
    if failed := readiness.not_ready(state):
        fail(f"not ready: {', '.join(failed)}")


def _check_text(name: str, check: dict) -> str:
    """What one readiness check found, in words."""
    if name == "migrations":
        found = f"at {check['current'] or 'no schema'}, head {check['head']}"
    elif name == "workers":
        found = f"{check['alive']} alive" + "".join(
            f"; {row['worker']} ({row['queue']}) seen {row['seen_at']}"
            + ("" if row["alive"] else " (stale)") for row in check["workers"])
    else:
        return "" if check["detail"] == "ok" else check["detail"]
    return f"{found}: {check['detail']}" if check.get("detail") else found


@sync_app.command("run")
def sync_run(
    connector: Annotated[str, typer.Argument(metavar="CONNECTOR", help="hubspot or salesforce")],
    output: FormatOption = Output.text,
) -> None:
    """One sync pass now, paused or not (exit 1 when it fails or cannot run)."""
    from core import worker
    from core.connectors.base import SyncError
    from core.secret_box import SecretKeyMissing
    from core.services.sync import CONNECTORS

    if connector not in CONNECTORS:
        raise typer.BadParameter(f"use one of: {', '.join(CONNECTORS)}", param_hint="CONNECTOR")
    try:
        result = worker.sync_now(connector)
    except (SyncError, InvalidInput, NotFound, SecretKeyMissing) as error:
        fail(str(error))
    if output == Output.json:
        echo_json(result.as_json())
    else:
        typer.echo(f"{connector}: {result.state}, read {result.read}, inserted "
                   f"{result.inserted}, updated {result.updated}, unchanged {result.unchanged}, "
                   f"rejected {result.rejected}")
    if result.state != "ok":
        fail(result.reason)


@alerts_app.command("run")
def alerts_run(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Run as if it were this instant (ISO 8601; naive: the agreement's "
                        "zone): the versions in force then, each lead's state then.")] = None,
    output: FormatOption = Output.text,
) -> None:
    """One alerts pass: fire the escalation rules due, then send the notices due."""
    from core import worker

    try:
        result = worker.alerts_now(as_of)
    except InvalidInput as error:
        fail(str(error))
    if output == Output.json:
        echo_json(result.as_json())
        return
    for fired in result.fired:
        moved = f", reassigned to {fired.reassigned_to}" if fired.reassigned_to else ""
        typer.echo(f"{fired.lead} {fired.commitment} {fired.trigger}: rule {fired.rule}, told "
                   f"{', '.join(fired.notified) or 'nobody'}{moved}")
    for kind, people in result.digests.items():
        if people:
            typer.echo(f"{kind} digest: {', '.join(people)}")
    sent = dict(result.dispatch or {})
    notes = sent.pop("notes", [])
    typer.echo(f"{len(result.fired)} rule(s) fired as of {result.as_json()['as_of']}; "
               + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in sent.items()))
    for note in notes:
        typer.echo(f"note: {note}")


def main() -> None:
    """Entry point for `python -m core.cli`; its audit events say they came from the cli."""
    from core.services.audit import acting_through

    with acting_through("cli"):
        app()


if __name__ == "__main__":
    main()
