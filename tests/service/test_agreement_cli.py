"""`python -m core.cli agreement ...`: from a YAML file to an active agreement."""

import json
from datetime import date

import pytest

from core import agreement as sla
from tests.service.test_cli import cli

HEADS = [("sofia", "sales_head"), ("marco", "marketing_head"), ("erin", "exec"),
         ("ana", "sales_rep")]


@pytest.fixture
def database_url(tmp_path) -> str:
    """A migrated SQLite file with a head of each side, an exec and a rep."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli(url, "db", "upgrade").returncode == 0
    for username, role in HEADS:
        result = cli(url, "users", "add", username, "--role", role, "--name", username.title(),
                     "--email", f"{username}@example.com", stdin="long enough password\n")
        assert result.returncode == 0, result.stderr
    return url


@pytest.fixture
def sla_file(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text(sla.dump_yaml(sla.template(title="CLI SLA", start=date(2026, 1, 1),
                                               end=date(2099, 1, 1))), encoding="utf-8")
    return path


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_from_a_yaml_file_to_active_through_the_cli(database_url, sla_file):
    assert ok(cli(database_url, "agreement", "import", str(sla_file), "--as", "marco")) \
        == "agreement 1 version 1"
    assert ok(cli(database_url, "agreement", "submit", "1", "--as", "marco")) \
        == "agreement 1 version 1: in_review"
    assert ok(cli(database_url, "agreement", "approve", "1", "--as", "marco")) \
        == "agreement 1 version 1: in_review"
    assert ok(cli(database_url, "agreement", "approve", "1", "--as", "sofia",
                  "--comment", "Sales agrees")) == "agreement 1 version 1: agreed"
    assert ok(cli(database_url, "agreement", "sign", "1", "--as", "erin")) \
        == "agreement 1 version 1: active"
    listed = json.loads(ok(cli(database_url, "agreement", "list", "--format", "json")))
    contract = {"id": 1, "title": "CLI SLA", "latest_version": 1, "latest_state": "active",
                "active_version": 1, "effective": {"start": "2026-01-01", "end": "2099-01-01"}}
    assert [{key: row[key] for key in contract} for row in listed] == [contract]
    # Added keys: what an approval of the latest version would name.
    assert listed[0]["latest_revision"] == 1
    assert len(listed[0]["latest_sha256"]) == 64
    assert ok(cli(database_url, "agreement", "export", "1")) + "\n" == sla_file.read_text()


def test_an_amendment_through_the_cli_supersedes_the_active_version(database_url, sla_file):
    ok(cli(database_url, "agreement", "import", str(sla_file), "--as", "marco"))
    for step, user in (("submit", "marco"), ("approve", "marco"), ("approve", "sofia"),
                       ("sign", "erin")):
        ok(cli(database_url, "agreement", step, "1", "--as", user))
    amended = sla_file.read_text().replace("within: 4h", "within: 2h")
    sla_file.write_text(amended)
    assert ok(cli(database_url, "agreement", "import", str(sla_file), "--as", "sofia",
                  "--agreement", "1")) == "agreement 1 version 2"
    for step, user in (("submit", "sofia"), ("approve", "marco"), ("approve", "sofia"),
                       ("sign", "erin")):
        ok(cli(database_url, "agreement", step, "1", "--as", user))
    assert ok(cli(database_url, "agreement", "export", "1", "--version", "2")) + "\n" == amended
    assert "latest v2 active" in ok(cli(database_url, "agreement", "list"))


def test_a_signed_version_cannot_be_changed_through_the_cli(database_url, sla_file):
    ok(cli(database_url, "agreement", "import", str(sla_file), "--as", "marco"))
    for step, user in (("submit", "marco"), ("approve", "marco"), ("approve", "sofia"),
                       ("sign", "erin")):
        ok(cli(database_url, "agreement", step, "1", "--as", user))
    again = cli(database_url, "agreement", "submit", "1", "--as", "sofia")
    assert again.returncode == 1
    assert "only a draft can be submitted" in again.stderr
    assert cli(database_url, "agreement", "sign", "1", "--as", "erin").returncode == 1


def test_an_invalid_file_exits_1_naming_file_line_and_key(database_url, tmp_path, sla_file):
    bad = tmp_path / "bad.yaml"
    bad.write_text(sla_file.read_text().replace("within: 24h", "within: 24 hours"))
    result = cli(database_url, "agreement", "import", str(bad), "--as", "marco")
    assert result.returncode == 1
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "24 hours" in text)
    assert f"{bad}:{line}:" in result.stderr
    assert "commitments[2].within" in result.stderr
    assert "no agreements yet" in ok(cli(database_url, "agreement", "list"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "SLA", "--as", "ana"], "may not draft, edit, submit an agreement"),
        (["import", "SLA", "--as", "nobody"], "no active user named 'nobody'"),
    ],
)
def test_refusals_exit_1(database_url, sla_file, args, message):
    args = [str(sla_file) if a == "SLA" else a for a in args]
    result = cli(database_url, "agreement", *args)
    assert result.returncode == 1
    assert message in result.stderr


def test_a_rep_cannot_approve_or_sign_through_the_cli(database_url, sla_file):
    ok(cli(database_url, "agreement", "import", str(sla_file), "--as", "marco"))
    ok(cli(database_url, "agreement", "submit", "1", "--as", "marco"))
    for step in ("approve", "sign"):
        result = cli(database_url, "agreement", step, "1", "--as", "ana")
        assert result.returncode == 1
        assert "A sales rep may not" in result.stderr


def test_usage_errors_exit_2(database_url):
    assert cli(database_url, "agreement", "submit", "1").returncode == 2
    assert cli(database_url, "agreement", "import", "/no/such/file.yaml", "--as",
               "marco").returncode == 2


def test_a_version_signed_before_its_start_is_scheduled_through_the_cli(database_url, sla_file,
                                                                         monkeypatch):
    monkeypatch.setenv("HANDOFF_NOW", "2026-12-03T15:00:00Z")
    ok(cli(database_url, "agreement", "import", str(sla_file), "--as", "marco"))
    for step, user in (("submit", "marco"), ("approve", "marco"), ("approve", "sofia"),
                       ("sign", "erin")):
        ok(cli(database_url, "agreement", step, "1", "--as", user))
    sla_file.write_text(sla_file.read_text().replace("start: '2026-01-01'", "start: '2027-01-01'")
                        .replace("start: 2026-01-01", "start: 2027-01-01"))
    assert "2027-01-01" in sla_file.read_text()
    ok(cli(database_url, "agreement", "import", str(sla_file), "--as", "sofia", "--agreement", "1"))
    for step, user in (("submit", "sofia"), ("approve", "marco"), ("approve", "sofia")):
        ok(cli(database_url, "agreement", step, "1", "--as", user))
    assert ok(cli(database_url, "agreement", "sign", "1", "--as", "erin")) \
        == "agreement 1 version 2: scheduled"
    assert "latest v2 scheduled, active v1, v2 starts 2027-01-01" in ok(
        cli(database_url, "agreement", "list"))
    listed = json.loads(ok(cli(database_url, "agreement", "list", "--format", "json")))[0]
    assert (listed["latest_state"], listed["active_version"], listed["scheduled_version"],
            listed["scheduled_start"]) == ("scheduled", 1, 2, "2027-01-01")
    for period, as_of, number in (("2026-12", "2026-12-03T15:00:00Z", 1),
                                  ("2027-01", "2027-01-20T12:00:00Z", 2)):
        report = json.loads(ok(cli(database_url, "report", "--period", period, "--as-of", as_of)))
        assert report["agreement"]["version"] == number, period

    monkeypatch.setenv("HANDOFF_NOW", "2027-01-04T15:00:00Z")
    listed = json.loads(ok(cli(database_url, "agreement", "list", "--format", "json")))[0]
    assert (listed["latest_state"], listed["active_version"], listed["scheduled_version"]) \
        == ("active", 2, None)
