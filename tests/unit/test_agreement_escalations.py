"""The escalation ladder of an SLA document: round trips, refusals with their key paths and
lines, the redline, and the helpers the alert engine reads rules with."""

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from core import limits
from core.agreement import (
    RECIPIENTS,
    ClauseChange,
    Escalation,
    EscalationAction,
    InvalidAgreement,
    TeamReference,
    canonical_sha256,
    clause_ids,
    diff,
    dump_yaml,
    from_dict,
    parse_yaml,
    recipient_kind,
    team_references,
    teams_named,
    to_dict,
)
from db.models import User
from tests.unit.test_agreement import _errors, _typed
from ui.sla_document import describe_escalation, describe_recipient

FIXTURES = Path(__file__).parent / "agreements"
DESIGN_TEXT = (FIXTURES / "design_example.yaml").read_text(encoding="utf-8")
LADDER_YAML = """\
escalations:
  - id: warn-owner
    commitment: first-touch
    trigger: at_risk
    notify: [owner]
  - id: tell-head
    commitment: first-touch
    trigger: breached
    notify: [sales_head]
  - id: back-to-pool
    commitment: first-touch
    trigger: breached
    after: 2d
    notify: [owner, sales_head, 'team:Demand Gen', 'role:sales_rep']
    action: {reassign: 'team:Inbound East'}
    urgent: false
  - id: three-calls
    commitment: attempts
    trigger: breached
    notify: [owner_team, marketing_head, exec]
    action: {reassign: owner_team}
    urgent: true
"""
LADDER_TEXT = DESIGN_TEXT + LADDER_YAML
LADDER = parse_yaml(LADDER_TEXT)


def _ladder_with(change: Callable[[dict], object]) -> dict:
    """The ladder document as a plain dict, edited in place by `change`."""
    data = copy.deepcopy(to_dict(LADDER))
    change(data)
    return data


def _rule(index: int, **changes) -> Callable[[dict], None]:
    """An edit of one rule of the ladder (None removes a key)."""
    def edit(data: dict) -> None:
        rule = data["escalations"][index]
        rule.update(changes)
        for key in [key for key, value in changes.items() if value is None]:
            del rule[key]
    return edit


# --- round trips -------------------------------------------------------------------------------


def test_export_import_export_gives_the_same_bytes():
    exported = dump_yaml(LADDER)
    assert dump_yaml(parse_yaml(exported)) == exported
    assert dump_yaml(from_dict(to_dict(LADDER))) == exported


def test_import_export_keeps_every_value_with_its_type():
    exported = yaml.safe_load(dump_yaml(LADDER))
    assert _typed(exported) == _typed(yaml.safe_load(LADDER_TEXT))
    assert parse_yaml(dump_yaml(LADDER)) == LADDER


def test_rules_are_written_in_the_design_style_after_the_shared_goals():
    exported = dump_yaml(LADDER)
    assert exported.endswith(
        "escalations:\n"
        "  - id: warn-owner\n    commitment: first-touch\n    trigger: at_risk\n"
        "    notify: [owner]\n"
        "  - id: tell-head\n    commitment: first-touch\n    trigger: breached\n"
        "    notify: [sales_head]\n"
        "  - id: back-to-pool\n    commitment: first-touch\n    trigger: breached\n"
        "    after: 2d\n    notify: [owner, sales_head, 'team:Demand Gen', 'role:sales_rep']\n"
        "    action: {reassign: 'team:Inbound East'}\n    urgent: false\n"
        "  - id: three-calls\n    commitment: attempts\n    trigger: breached\n"
        "    notify: [owner_team, marketing_head, exec]\n    action: {reassign: owner_team}\n"
        "    urgent: true\n")
    keys = [line.split(":")[0] for line in exported.splitlines() if line[:1].isalpha()]
    assert keys[-2:] == ["shared_goals", "escalations"]


def test_the_rules_read_as_typed_models():
    warn, tell, back, calls = LADDER.escalations
    assert warn == Escalation(id="warn-owner", commitment="first-touch", trigger="at_risk",
                              notify=["owner"])
    assert (warn.after, warn.action, warn.urgent) == (None, None, False)
    assert (tell.trigger, tell.notify) == ("breached", ["sales_head"])
    assert (back.after, back.action) == ("2d", EscalationAction(reassign="team:Inbound East"))
    assert (calls.commitment, calls.urgent, calls.action.reassign) == (
        "attempts", True, "owner_team")


def test_a_document_without_escalations_dumps_the_bytes_it_dumped_before_they_existed():
    """Hashes taken with the code before escalations: stored versions export as they did, and
    an approval of one still names the same canonical SHA-256."""
    document = parse_yaml(DESIGN_TEXT)
    exported = dump_yaml(document)
    assert "escalations" not in exported and "escalations" not in to_dict(document)
    assert hashlib.sha256(exported.encode()).hexdigest() == (
        "b28d16b88d07037ac9bc72f04317c7c4ff23be50964903af0b00c5cad207245a")
    assert canonical_sha256(to_dict(document)) == (
        "64c3323df808f058c9938947267f1483d58ce663d6bd3ded83ee6338ba4c05f2")
    assert document.escalations == []


def test_optional_keys_left_out_of_a_rule_stay_out():
    exported = dump_yaml(LADDER).split("id: tell-head")[1].split("- id:")[0]
    assert "after" not in exported and "action" not in exported and "urgent" not in exported


# --- refusals ----------------------------------------------------------------------------------


REFUSALS = [
    ("unknown commitment", _rule(0, commitment="first-tuch"), "escalations[0].commitment",
     "no commitment 'first-tuch'; commitments: mql-volume, first-touch, accept-or-reject, "
     "attempts, mql-acceptance"),
    ("a volume commitment", _rule(1, commitment="mql-volume"), "escalations[1].commitment",
     "'mql-volume' is a commitment of kind volume, which has no clock per lead to escalate; "
     "name a response or attempts commitment: first-touch, accept-or-reject, attempts"),
    ("an acceptance rate commitment", _rule(1, commitment="mql-acceptance"),
     "escalations[1].commitment", "kind acceptance_rate"),
    ("bad trigger", _rule(1, trigger="late"), "escalations[1].trigger",
     "must be at_risk or breached, not 'late'"),
    ("after with at_risk", _rule(0, after="1h"), "escalations[0].after",
     "only a rule with trigger: breached waits past the due time"),
    ("bad duration", _rule(2, after="2x"), "escalations[2].after",
     "must be a whole number above 0 followed by m, h or d (such as 30m, 4h, 5d), not '2x'"),
    ("after beyond a year", _rule(2, after="366d"), "escalations[2].after",
     "longer than the longest budget allowed"),
    ("bad notify entry", _rule(0, notify=["owner", "boss"]), "escalations[0].notify[1]",
     "'boss' is not a recipient; use owner, owner_team, sales_head, marketing_head, exec, "
     "team:<name> (the users of a team) or role:<role> (the users of a role: admin, "
     "sales_head, marketing_head, exec, sales_rep, marketer)"),
    ("unknown role", _rule(0, notify=["role:king"]), "escalations[0].notify[0]",
     "unknown role 'king' in 'role:king'; roles: admin, sales_head, marketing_head, exec, "
     "sales_rep, marketer"),
    ("a team without a name", _rule(0, notify=["team:"]), "escalations[0].notify[0]",
     "'team:' names no team"),
    ("a team name with spaces around it", _rule(0, notify=["team: Inbound East"]),
     "escalations[0].notify[0]", "without spaces around it: 'team:Inbound East'"),
    ("a team name too long", _rule(0, notify=["team:" + "x" * 65]), "escalations[0].notify[0]",
     "at most 64 are allowed (TEAM_MAX_CHARS)"),
    ("a repeated recipient", _rule(0, notify=["owner", "owner"]), "escalations[0].notify[1]",
     "duplicate 'owner'"),
    ("no recipient", _rule(0, notify=[]), "escalations[0].notify",
     "needs at least one recipient"),
    ("notify left out", _rule(0, notify=None), "escalations[0].notify",
     "required key is missing"),
    ("notify not a list", _rule(0, notify="owner"), "escalations[0].notify",
     "must be a list, not text"),
    ("too many recipients", _rule(0, notify=["owner"] + [f"team:t{n}" for n in range(20)]),
     "escalations[0].notify", "has 21 recipients; at most 20 are allowed "
                              "(ESCALATION_RECIPIENTS_MAX)"),
    ("action with at_risk", _rule(0, action={"reassign": "owner_team"}), "escalations[0].action",
     "only a rule with trigger: breached may act on the lead"),
    ("unknown action key", _rule(2, action={"reassign": "owner_team", "close": True}),
     "escalations[2].action.close", "unknown key; allowed keys: reassign"),
    ("an action without reassign", _rule(2, action={}), "escalations[2].action.reassign",
     "required key is missing"),
    ("reassign to a person", _rule(2, action={"reassign": "owner"}),
     "escalations[2].action.reassign",
     "must be owner_team (the team of the lead's owner) or team:<name>, not 'owner'"),
    ("urgent not a boolean", _rule(2, urgent="yes"), "escalations[2].urgent",
     "must be true or false, not text"),
    ("unknown key in a rule", _rule(1, channel="sms"), "escalations[1].channel",
     "unknown key; allowed keys: id, commitment, trigger, after, notify, action, urgent"),
    ("bad rule id", _rule(1, id="Tell Head"), "escalations[1].id", "is not a valid id"),
    ("duplicate rule id", _rule(1, id="warn-owner"), "escalations[1].id",
     "duplicate id 'warn-owner', already used by escalations[0]"),
    ("too many rules",
     lambda d: d.update(escalations=[{**d["escalations"][1], "id": f"rule-{n}"}
                                     for n in range(limits.ESCALATIONS_MAX + 1)]),
     "escalations", "has 51 rules; at most 50 are allowed (ESCALATIONS_MAX)"),
    ("escalations not a list", lambda d: d.update(escalations=None), "escalations",
     "must be a list"),
]


@pytest.mark.parametrize(("change", "path", "message"), [case[1:] for case in REFUSALS],
                         ids=[case[0] for case in REFUSALS])
def test_a_bad_rule_is_refused_at_its_key_path(change, path, message):
    errors = _errors(_ladder_with(change))
    assert path in errors, errors
    assert message in errors[path]


def test_the_same_id_as_a_commitment_is_allowed_for_a_rule():
    document = from_dict(_ladder_with(_rule(0, id="first-touch")))
    assert clause_ids(document)[-4] == "escalations[first-touch]"


def test_every_mistake_of_a_rule_is_reported_at_once():
    errors = _errors(_ladder_with(_rule(0, after="2x", notify=["boss"], urgent=1)))
    assert set(errors) == {"escalations[0].after", "escalations[0].notify[0]",
                           "escalations[0].urgent"}


def test_parse_yaml_gives_the_line_of_a_bad_rule():
    text = LADDER_TEXT.replace("trigger: breached\n    notify: [sales_head]",
                               "trigger: late\n    notify: [sales_head]")
    line = LADDER_TEXT.count("\n", 0, LADDER_TEXT.index("id: tell-head")) + 3
    assert text.splitlines()[line - 1] == "    trigger: late"
    with pytest.raises(InvalidAgreement) as caught:
        parse_yaml(text, source="sla.yaml")
    assert str(caught.value) == (
        f"sla.yaml:{line}: escalations[1].trigger: must be at_risk or breached, not 'late'")


def test_parse_yaml_gives_the_line_of_a_rule_naming_a_missing_commitment():
    text = LADDER_TEXT.replace("commitment: attempts", "commitment: calls")
    line = next(number for number, written in enumerate(text.splitlines(), 1)
                if written == "    commitment: calls")
    with pytest.raises(InvalidAgreement) as caught:
        parse_yaml(text, source="sla.yaml")
    assert str(caught.value).startswith(
        f"sla.yaml:{line}: escalations[3].commitment: no commitment 'calls'; ")


# --- the redline and comments ------------------------------------------------------------------


def test_the_redline_names_added_removed_and_changed_rules_by_id():
    def edit(data: dict) -> None:
        rules = data["escalations"]
        rules[1]["notify"] = ["sales_head", "exec"]
        rules[2]["after"] = "1d"
        del rules[3]
        rules.append({"id": "late-decision", "commitment": "accept-or-reject",
                      "trigger": "breached", "notify": ["owner"]})

    old_calls = to_dict(LADDER)["escalations"][3]
    assert diff(LADDER, from_dict(_ladder_with(edit))) == [
        ClauseChange("escalations[tell-head].notify", "changed", ["sales_head"],
                     ["sales_head", "exec"]),
        ClauseChange("escalations[back-to-pool].after", "changed", "2d", "1d"),
        ClauseChange("escalations[three-calls]", "removed", old_calls, None),
        ClauseChange("escalations[late-decision]", "added", None,
                     {"id": "late-decision", "commitment": "accept-or-reject",
                      "trigger": "breached", "notify": ["owner"], "urgent": False}),
    ]


def test_the_redline_of_a_first_ladder_and_of_a_reassign_change():
    without = parse_yaml(DESIGN_TEXT)
    added = diff(without, LADDER)
    assert [(change.clause, change.change) for change in added] == [
        ("escalations[warn-owner]", "added"), ("escalations[tell-head]", "added"),
        ("escalations[back-to-pool]", "added"), ("escalations[three-calls]", "added")]
    moved = from_dict(_ladder_with(_rule(2, action={"reassign": "owner_team"})))
    assert diff(LADDER, moved) == [ClauseChange(
        "escalations[back-to-pool].action.reassign", "changed", "team:Inbound East",
        "owner_team")]


def test_writing_urgent_false_out_is_not_a_change():
    assert diff(LADDER, from_dict(_ladder_with(_rule(0, urgent=False)))) == []


def test_reordering_rules_is_reported_once_as_a_new_order():
    ids = [rule.id for rule in LADDER.escalations]
    reordered = from_dict(_ladder_with(lambda d: d["escalations"].reverse()))
    assert diff(LADDER, reordered) == [ClauseChange("escalations", "changed", ids, ids[::-1])]


def test_rules_are_clauses_a_comment_can_point_at():
    assert clause_ids(LADDER)[-5:] == [
        "shared_goals[won-revenue]", "escalations[warn-owner]", "escalations[tell-head]",
        "escalations[back-to-pool]", "escalations[three-calls]"]


# --- helpers for the alert engine and the workspace check ---------------------------------------


@pytest.mark.parametrize(("text", "kind"), [
    ("owner", ("owner", None)), ("owner_team", ("owner_team", None)),
    ("sales_head", ("sales_head", None)), ("marketing_head", ("marketing_head", None)),
    ("exec", ("exec", None)), ("team:Inbound East", ("team", "Inbound East")),
    ("team:a:b", ("team", "a:b")), ("role:sales_rep", ("role", "sales_rep")),
])
def test_recipient_kind_splits_a_notify_entry(text, kind):
    assert recipient_kind(text) == kind


@pytest.mark.parametrize("text", ["boss", "Owner", "role:king", "team:", "team: x", "group:x"])
def test_recipient_kind_refuses_anything_else(text):
    with pytest.raises(ValueError, match="recipient|role|team"):
        recipient_kind(text)


def test_teams_named_in_notify_and_action():
    assert teams_named(LADDER) == {"Demand Gen", "Inbound East"}
    assert teams_named(parse_yaml(DESIGN_TEXT)) == set()
    assert team_references(LADDER) == [
        TeamReference("escalations[2].notify[2]", "Demand Gen", reassign=False),
        TeamReference("escalations[2].action.reassign", "Inbound East", reassign=True)]


def test_a_team_name_may_be_as_long_as_a_users_team():
    assert User.__table__.c["team"].type.length == limits.TEAM_MAX_CHARS
    longest = "team:" + "x" * limits.TEAM_MAX_CHARS
    assert teams_named(from_dict(_ladder_with(_rule(0, notify=[longest])))) == {
        "x" * limits.TEAM_MAX_CHARS, "Demand Gen", "Inbound East"}


def test_every_rule_reads_as_a_sentence_on_the_document_page():
    assert [describe_recipient(recipient) for recipient in RECIPIENTS] == [
        "the lead's owner", "the owner's team", "the head of sales", "the head of marketing",
        "the executives"]
    assert describe_recipient("team:Demand Gen") == "the Demand Gen team"
    assert describe_recipient("role:sales_rep") == "every sales rep"
    assert [describe_escalation(rule) for rule in LADDER.escalations] == [
        "**Warn owner** · First touch at risk → tell the lead's owner",
        "**Tell head** · First touch overdue → tell the head of sales",
        "**Back to pool** · First touch overdue by **2 business days** → tell the lead's owner, "
        "the head of sales, the Demand Gen team and every sales rep; reassign round robin "
        "within the Inbound East team",
        "**Three calls** · Attempts overdue → tell the owner's team, the head of marketing and "
        "the executives; reassign round robin within the owner's team · urgent: ignores "
        "working and quiet hours",
    ]
