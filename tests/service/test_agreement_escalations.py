"""Escalations name teams, which live in the workspace: a version whose rules name a team no
active user is in (or reassign leads to a team without a sales rep) is never stored."""

from datetime import date

import pytest
from sqlmodel import func, select

from core import agreement as sla
from core import services
from core.permissions import Role
from core.services import agreements
from db.models import Agreement, AgreementVersion, AuditEvent
from tests.service.test_agreement_cli import HEADS, ok
from tests.service.test_cli import cli

# name: (role, team, active)
TEAM_MEMBERS = {
    "cara": (Role.SALES_REP, "Inbound East", True),
    "dana": (Role.MARKETER, "Demand Gen", True),
    "olga": (Role.SALES_REP, "Old Team", False),
}
TEAMS = "Demand Gen, Inbound East"  # the teams of active users, as a refusal lists them


@pytest.fixture
def teams(session, people) -> dict[str, services.Actor]:
    """The service fixtures' people, and users of two teams (and a deactivated rep of a
    third)."""
    for username, (role, team, active) in TEAM_MEMBERS.items():
        services.add_user(session=session, actor=services.OPERATOR, username=username,
                          display_name=username.title(), email=f"{username}@example.com",
                          role=role, password="long enough password", team=team)
        if not active:
            services.set_active(session=session, actor=services.OPERATOR, username=username,
                                active=False)
    return people


def _document(*rules: dict) -> sla.Document:
    """The template with these escalation rules."""
    data = sla.to_dict(sla.template(title="Escalating SLA", start=date(2026, 1, 1),
                                    end=date(2099, 1, 1)))
    data["escalations"] = list(rules)
    return sla.from_dict(data)


def _rule(rule_id: str = "tell", notify: tuple[str, ...] = ("owner",),
          reassign: str | None = None) -> dict:
    """A breached first-touch rule."""
    rule = {"id": rule_id, "commitment": "first-touch", "trigger": "breached",
            "notify": list(notify)}
    if reassign:
        rule["action"] = {"reassign": reassign}
    return rule


def _refusal(session, people, document: sla.Document) -> list[sla.DocumentError]:
    """The errors of a refused new agreement."""
    with pytest.raises(sla.InvalidAgreement) as caught:
        agreements.create_agreement(session=session, actor=people["marco"], document=document)
    return caught.value.errors


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_an_unknown_team_is_refused_with_its_path_and_the_teams_and_nothing_is_stored(
        session, teams):
    document = _document(_rule("tell", notify=("owner", "team:Inbound Eest")),
                         _rule("pool", reassign="team:Old Team"))
    assert _refusal(session, teams, document) == [
        sla.DocumentError("escalations[0].notify[1]", f"no team 'Inbound Eest'; teams: {TEAMS}"),
        sla.DocumentError("escalations[1].action.reassign", f"no team 'Old Team'; teams: {TEAMS}"),
    ]
    assert _count(session, Agreement) == _count(session, AgreementVersion) == 0
    assert not session.exec(select(AuditEvent).where(
        AuditEvent.object_type.in_(("agreement", "agreement_version")))).all()


def test_a_team_without_sales_reps_is_told_but_never_given_leads(session, teams):
    refused = _document(_rule("pool", notify=("team:Demand Gen",), reassign="team:Demand Gen"))
    assert _refusal(session, teams, refused) == [sla.DocumentError(
        "escalations[0].action.reassign", "team 'Demand Gen' has no active sales rep to "
                                          "reassign leads to; teams with sales reps: Inbound East")]
    told = _document(_rule("pool", notify=("team:Demand Gen",), reassign="team:Inbound East"))
    version = agreements.create_agreement(session=session, actor=teams["marco"], document=told)
    assert version.document.escalations[0].notify == ["team:Demand Gen"]


def test_a_valid_ladder_is_stored_and_exported_with_its_rules(session, teams):
    document = _document(
        {"id": "warn", "commitment": "first-touch", "trigger": "at_risk", "notify": ["owner"]},
        {**_rule("pool", notify=("owner", "sales_head", "team:Demand Gen"),
                 reassign="team:Inbound East"), "after": "2d", "urgent": True},
        _rule("back", notify=("role:sales_head",), reassign="owner_team"),
    )
    version = agreements.create_agreement(session=session, actor=teams["marco"],
                                          document=document)
    exported = agreements.export_yaml(session=session, actor=teams["marco"],
                                      agreement_id=version.agreement_id)
    assert exported == sla.dump_yaml(document)
    assert "    action: {reassign: 'team:Inbound East'}\n" in exported
    assert sla.parse_yaml(exported).escalations == document.escalations


def test_saving_a_draft_that_names_an_unknown_team_is_refused_and_keeps_the_version(
        session, teams):
    version = agreements.create_agreement(session=session, actor=teams["marco"],
                                          document=_document(_rule()))
    with pytest.raises(sla.InvalidAgreement) as caught:
        agreements.save_draft(session=session, actor=teams["sofia"],
                              agreement_id=version.agreement_id, number=version.number,
                              document=_document(_rule(reassign="team:Nowhere")),
                              expected_revision=version.revision)
    assert [error.path for error in caught.value.errors] == ["escalations[0].action.reassign"]
    kept = agreements.get_version(session=session, actor=teams["sofia"],
                                  agreement_id=version.agreement_id)
    assert (kept.revision, kept.document) == (version.revision, version.document)


def test_an_amendment_to_an_approved_version_is_checked_too(session, teams):
    version = agreements.create_agreement(session=session, actor=teams["marco"],
                                          document=_document(_rule()))
    agreements.submit(session=session, actor=teams["marco"], agreement_id=version.agreement_id)
    agreements.approve(session=session, actor=teams["marco"], agreement_id=version.agreement_id,
                       revision=version.revision)
    with pytest.raises(sla.InvalidAgreement, match="no team 'Nowhere'"):
        agreements.save_draft(session=session, actor=teams["sofia"],
                              agreement_id=version.agreement_id, number=version.number,
                              document=_document(_rule(notify=("team:Nowhere",))),
                              expected_revision=version.revision)
    assert _count(session, AgreementVersion) == 1


def test_an_imported_file_is_refused_with_its_name_and_line(session, teams):
    text = sla.dump_yaml(_document(_rule(), _rule("pool", reassign="team:Inbound Eest")))
    line = text.splitlines().index("    action: {reassign: 'team:Inbound Eest'}") + 1
    with pytest.raises(sla.InvalidAgreement) as caught:
        agreements.import_yaml(session=session, actor=teams["marco"], text=text,
                               source="sla.yaml")
    assert str(caught.value) == (f"sla.yaml:{line}: escalations[1].action.reassign: no team "
                                 f"'Inbound Eest'; teams: {TEAMS}")


def test_the_cli_import_names_the_file_line_and_team(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ok(cli(url, "db", "upgrade"))
    for username, role in HEADS:
        team = ("--team", "Inbound East") if role == "sales_rep" else ()
        ok(cli(url, "users", "add", username, "--role", role, "--name", username.title(),
               "--email", f"{username}@example.com", *team, stdin="long enough password\n"))
    path = tmp_path / "sla.yaml"
    path.write_text(sla.dump_yaml(_document(_rule(notify=("team:Inbound West",)))))
    line = path.read_text().splitlines().index("    notify: ['team:Inbound West']") + 1
    result = cli(url, "agreement", "import", str(path), "--as", "marco")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"{path}:{line}: escalations[0].notify[0]: no team "
                                     "'Inbound West'; teams: Inbound East")
    assert "no agreements yet" in ok(cli(url, "agreement", "list"))
    path.write_text(path.read_text().replace("Inbound West", "Inbound East"))
    assert ok(cli(url, "agreement", "import", str(path), "--as", "marco")) \
        == "agreement 1 version 1"
    assert ok(cli(url, "agreement", "export", "1")) + "\n" == path.read_text()
