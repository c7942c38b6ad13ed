"""The agreement's negotiation through the services, on a real database."""

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core import agreement as sla
from core.permissions import PermissionDenied, Role
from core.services import agreements, measurement
from core.services.agreements import StaleVersion, WorkflowError
from db.models import AgreementVersion, AuditEvent
from tests.service.conftest import BY_ROLE


def document(title="Q1 2026 SLA", start=date(2026, 1, 1), end=date(2099, 1, 1)) -> sla.Document:
    return sla.template(title=title, start=start, end=end)


def with_within(doc: sla.Document, commitment_id: str, within: str) -> sla.Document:
    """A copy of the document with one response commitment's budget changed."""
    data = sla.to_dict(doc)
    for commitment in data["commitments"]:
        if commitment["id"] == commitment_id:
            commitment["within"] = within
    return sla.from_dict(data)


def draft(session, people, **kwargs) -> agreements.VersionView:
    return agreements.create_agreement(session=session, actor=people["marco"],
                                       document=document(**kwargs))


def agree(session, people, version) -> agreements.VersionView:
    """Submit, then approve for both sides."""
    args = dict(session=session, agreement_id=version.agreement_id)
    agreements.submit(actor=people["marco"], **args)
    read = agreements.get_version(actor=people["ana"], **args).revision
    agreements.approve(revision=read, actor=people["marco"], **args)
    return agreements.approve(revision=read, actor=people["sofia"], **args)


def activate(session, people, version) -> agreements.VersionView:
    agreed = agree(session, people, version)
    return agreements.sign(revision=agreed.revision, session=session, actor=people["erin"],
                           agreement_id=version.agreement_id, comment="Signed for Q1.")


def test_the_whole_negotiation_from_draft_to_active(session, people):
    v1 = draft(session, people)
    assert (v1.number, v1.state, v1.revision) == (1, "draft", 1)
    aid = v1.agreement_id
    assert agreements.submit(session=session, actor=people["marco"], agreement_id=aid).state \
        == "in_review"
    approved = agreements.approve(revision=1, session=session, actor=people["marco"],
                                  agreement_id=aid, comment="Marketing can deliver this.")
    assert approved.approval("marketing").username == "marco"
    assert approved.state == "in_review"

    agreements.add_comment(session=session, actor=people["sofia"], agreement_id=aid, number=1,
                           clause="first-touch", body="4h is too loose for inbound demos.")
    v2 = agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid,
                               number=1, document=with_within(v1.document, "first-touch", "2h"),
                               expected_revision=v1.revision)
    assert (v2.number, v2.state, v2.based_on, v2.approvals) == (2, "draft", 1, ())
    assert agreements.get_version(session=session, actor=people["ana"], agreement_id=aid,
                                  number=1).approval("marketing") is not None

    agreements.submit(session=session, actor=people["sofia"], agreement_id=aid)
    agreements.approve(revision=1, session=session, actor=people["sofia"], agreement_id=aid)
    agreed = agreements.approve(
        revision=1, session=session, actor=people["marco"], agreement_id=aid)
    assert agreed.state == "agreed"
    active = agreements.sign(revision=1, session=session, actor=people["erin"], agreement_id=aid,
                             comment="Go.")
    assert active.state == "active" and active.signed_at is not None
    assert {a.side for a in active.approvals} == {"sales", "marketing", "exec"}
    # A step's comment is kept with the discussion too, under its author's name
    assert [(c.version_number, c.clause, c.author_name, c.body) for c in agreements.list_comments(
        session=session, actor=people["ana"], agreement_id=aid)] == [
        (1, None, "Marco", "Marketing can deliver this."),
        (1, "first-touch", "Sofia", "4h is too loose for inbound demos."),
        (2, None, "Erin", "Go.")]
    summary = agreements.list_agreements(session=session, actor=people["mia"])[0]
    assert (summary.latest_number, summary.latest_state, summary.active_number) == (2, "active", 2)


def test_an_edit_without_approvals_saves_in_place_and_bumps_the_revision(session, people):
    v1 = draft(session, people)
    saved = agreements.save_draft(session=session, actor=people["sofia"],
                                  agreement_id=v1.agreement_id, number=1,
                                  document=with_within(v1.document, "first-touch", "3h"),
                                  expected_revision=1)
    assert (saved.number, saved.revision, saved.updated_by) == (1, 2, "sofia")
    within = {c.id: getattr(c, "within", None) for c in saved.document.commitments}
    assert within["first-touch"] == "3h"


def test_a_stale_save_is_refused_names_who_changed_what_and_loses_nothing(session, people):
    v1 = draft(session, people)
    aid = v1.agreement_id
    agreements.save_draft(session=session, actor=people["marco"], agreement_id=aid, number=1,
                          document=with_within(v1.document, "first-touch", "2h"),
                          expected_revision=1)
    mine = with_within(v1.document, "accept-or-reject", "16h")
    with pytest.raises(StaleVersion) as refused:
        agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid,
                              number=1, document=mine, expected_revision=1)
    message = str(refused.value)
    assert "Marco saved it" in message
    assert "commitments[first-touch].within: 4h → 2h" in message
    assert [c.clause for c in refused.value.changes] == ["commitments[first-touch].within"]
    current = agreements.get_version(session=session, actor=people["sofia"], agreement_id=aid)
    assert current.revision == 2
    assert {c.id: getattr(c, "within", None) for c in current.document.commitments}[
        "first-touch"] == "2h"
    # Reload and reapply: the same edit on the current revision goes through.
    reapplied = with_within(current.document, "accept-or-reject", "16h")
    saved = agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid,
                                  number=1, document=reapplied, expected_revision=2)
    assert saved.revision == 3


def test_an_edit_of_an_older_version_is_refused_as_stale(session, people):
    v1 = draft(session, people)
    aid = v1.agreement_id
    agreements.submit(session=session, actor=people["marco"], agreement_id=aid)
    agreements.approve(revision=1, session=session, actor=people["marco"], agreement_id=aid)
    agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid, number=1,
                          document=with_within(v1.document, "first-touch", "2h"),
                          expected_revision=1)
    with pytest.raises(StaleVersion, match="no longer the latest: Sofia created version 2"):
        agreements.save_draft(session=session, actor=people["marco"], agreement_id=aid,
                              number=1, document=with_within(v1.document, "first-touch", "3h"),
                              expected_revision=1)


def test_a_signed_version_cannot_change_by_any_path(session, people):
    active = activate(session, people, draft(session, people))
    aid = active.agreement_id
    edited = with_within(active.document, "first-touch", "1h")
    with pytest.raises(WorkflowError, match="active and cannot be edited"):
        agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid,
                              number=active.number, document=edited,
                              expected_revision=active.revision)
    for step, actor, read in ((agreements.submit, "sofia", {}),
                              (agreements.approve, "marco", {"revision": active.revision}),
                              (agreements.sign, "erin", {"revision": active.revision})):
        with pytest.raises(WorkflowError):
            step(session=session, actor=people[actor], agreement_id=aid, **read)
    row = session.exec(select(AgreementVersion)).one()
    with pytest.raises(IntegrityError, match="handoff guard: an agreed or signed agreement "
                       "version never changes"), session.begin_nested():
        row.document = sla.to_dict(edited)
        session.add(row)
        session.flush()
    stored = agreements.get_version(session=session, actor=people["ana"], agreement_id=aid)
    assert stored.document == active.document


def test_a_signed_amendment_supersedes_the_version_it_replaces(session, people):
    v1 = activate(session, people, draft(session, people))
    aid = v1.agreement_id
    amendment = agreements.amend(session=session, actor=people["sofia"], agreement_id=aid)
    assert (amendment.number, amendment.state, amendment.based_on) == (2, "draft", 1)
    assert amendment.document == v1.document
    data = sla.to_dict(amendment.document)
    data["effective"]["start"] = "2026-02-15"
    agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid, number=2,
                          document=sla.from_dict(data), expected_revision=1)
    v2 = activate(session, people, amendment)
    assert v2.state == "active"
    assert v2.document.effective.start == date(2026, 2, 15)
    old = agreements.get_version(session=session, actor=people["ana"], agreement_id=aid, number=1)
    assert old.state == "superseded"
    assert old.document == v1.document


def test_a_version_whose_effective_end_has_passed_expires(session, people):
    past = activate(session, people, draft(session, people, start=date(2020, 1, 1),
                                           end=date(2020, 4, 1)))
    assert past.state == "expired"
    assert agreements.list_agreements(session=session, actor=people["ana"])[0].latest_state \
        == "expired"


@pytest.mark.parametrize(
    ("step", "state", "message"),
    [
        ("approve", "draft", "only a version in review can be approved"),
        ("sign", "draft", "only a version both heads approved can be signed off"),
        ("submit", "in_review", "only a draft can be submitted"),
    ],
)
def test_steps_out_of_order_are_refused(session, people, step, state, message):
    v1 = draft(session, people)
    if state == "in_review":
        agreements.submit(session=session, actor=people["marco"], agreement_id=v1.agreement_id)
    actor = {"approve": "sofia", "sign": "erin", "submit": "marco"}[step]
    with pytest.raises(WorkflowError, match=message):
        read = {} if step == "submit" else {"revision": 1}
        getattr(agreements, step)(session=session, actor=people[actor],
                                  agreement_id=v1.agreement_id, **read)


def test_a_side_cannot_approve_twice(session, people):
    v1 = draft(session, people)
    agreements.submit(session=session, actor=people["marco"], agreement_id=v1.agreement_id)
    agreements.approve(
        revision=1, session=session, actor=people["sofia"], agreement_id=v1.agreement_id)
    with pytest.raises(WorkflowError, match="sales already approved version 1"):
        agreements.approve(
            revision=1, session=session, actor=people["sofia"], agreement_id=v1.agreement_id)


def test_every_edit_and_state_change_is_audited_with_before_and_after(session, people):
    v1 = draft(session, people)
    aid = v1.agreement_id
    agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid, number=1,
                          document=with_within(v1.document, "first-touch", "2h"),
                          expected_revision=1)
    activate(session, people, v1)
    history = agreements.agreement_history(session=session, actor=people["ana"], agreement_id=aid)
    assert [(h.action, h.actor, h.version_number) for h in history] == [
        ("agreement.create", "marco", None),
        ("version.create", "marco", 1),
        ("version.edit", "sofia", 1),
        ("version.submit", "marco", 1),
        ("version.approve.marketing", "marco", 1),
        ("version.approve.sales", "sofia", 1),
        ("version.agree", "sofia", 1),
        ("comment.add", "erin", 1),  # the sign-off's comment, kept with the discussion too
        ("version.approve.exec", "erin", 1),
        ("version.sign", "erin", 1),
    ]
    edit = history[2]
    assert edit.at.tzinfo is not None
    assert (edit.before["revision"], edit.after["revision"]) == (1, 2)
    assert edit.before["document"]["commitments"] != edit.after["document"]["commitments"]
    assert [(c.clause, c.old, c.new) for c in edit.changes] == [
        ("commitments[first-touch].within", "4h", "2h")
    ]
    sign = history[-1]
    assert (sign.before, sign.after) == ({"state": "agreed"},
                                         {"state": "active", "comment": "Signed for Q1."})
    assert len(session.exec(select(AuditEvent)).all()) >= len(history)


def test_compare_versions_lists_the_changed_clauses(session, people):
    v1 = draft(session, people)
    aid = v1.agreement_id
    agreements.new_version(session=session, actor=people["sofia"], agreement_id=aid,
                           document=with_within(v1.document, "attempts", "3d"))
    changes = agreements.compare_versions(session=session, actor=people["erin"],
                                          agreement_id=aid, old=1, new=2)
    assert [(c.clause, c.change, c.old, c.new) for c in changes] == [
        ("commitments[attempts].within", "changed", "5d", "3d")
    ]


def test_import_and_export_yaml_round_trip(session, people):
    text = sla.dump_yaml(document())
    version = agreements.import_yaml(session=session, actor=people["sofia"], text=text,
                                     source="sla.yaml")
    assert agreements.export_yaml(session=session, actor=people["ana"],
                                  agreement_id=version.agreement_id) == text
    second = agreements.import_yaml(session=session, actor=people["sofia"], text=text,
                                    agreement_id=version.agreement_id)
    assert (second.agreement_id, second.number) == (version.agreement_id, 2)


def test_invalid_yaml_is_refused_and_nothing_is_stored(session, people):
    text = sla.dump_yaml(document()).replace("within: 4h", "within: 4 hours")
    with pytest.raises(sla.InvalidAgreement, match=r"commitments\[\d\]\.within"):
        agreements.import_yaml(session=session, actor=people["sofia"], text=text,
                               source="sla.yaml")
    assert session.exec(select(AgreementVersion)).all() == []


# Every "no" of DESIGN §7 that concerns agreements.
NOT_EDITORS = [Role.ADMIN, Role.EXEC, Role.SALES_REP, Role.MARKETER]
NOT_COMMENTERS = [Role.SALES_REP, Role.MARKETER]
NOT_SALES_APPROVERS = [Role.ADMIN, Role.EXEC, Role.SALES_REP, Role.MARKETER]
NOT_SIGNERS = [Role.ADMIN, Role.SALES_HEAD, Role.MARKETING_HEAD, Role.SALES_REP, Role.MARKETER]


def _calls(session, aid: int, doc: sla.Document) -> dict:
    return {
        "create": lambda a: agreements.create_agreement(session=session, actor=a, document=doc),
        "import": lambda a: agreements.import_yaml(session=session, actor=a,
                                                   text=sla.dump_yaml(doc)),
        "new_version": lambda a: agreements.new_version(session=session, actor=a,
                                                        agreement_id=aid, document=doc),
        "amend": lambda a: agreements.amend(session=session, actor=a, agreement_id=aid),
        "edit": lambda a: agreements.save_draft(session=session, actor=a, agreement_id=aid,
                                                number=1, document=doc, expected_revision=1),
        "submit": lambda a: agreements.submit(session=session, actor=a, agreement_id=aid),
        "approve": lambda a: agreements.approve(
            revision=1, session=session, actor=a, agreement_id=aid),
        "sign": lambda a: agreements.sign(revision=1, session=session, actor=a, agreement_id=aid),
        "comment": lambda a: agreements.add_comment(session=session, actor=a, agreement_id=aid,
                                                    number=1, body="No."),
    }


CASES = (
    [(call, role) for call in ("create", "import", "new_version", "amend", "edit", "submit")
     for role in NOT_EDITORS]
    + [("approve", role) for role in NOT_SALES_APPROVERS]
    + [("sign", role) for role in NOT_SIGNERS]
    + [("comment", role) for role in NOT_COMMENTERS]
)


@pytest.mark.parametrize(("call", "role"), CASES, ids=[f"{c}-{r}" for c, r in CASES])
def test_every_no_of_the_permission_table_is_enforced(session, people, call, role):
    v1 = draft(session, people)
    if call in ("approve", "sign"):
        agreements.submit(session=session, actor=people["marco"], agreement_id=v1.agreement_id)
    if call == "sign":
        agree_rest = dict(session=session, agreement_id=v1.agreement_id)
        agreements.approve(revision=1, actor=people["marco"], **agree_rest)
        agreements.approve(revision=1, actor=people["sofia"], **agree_rest)
    events_before = len(session.exec(select(AuditEvent)).all())
    with pytest.raises(PermissionDenied):
        _calls(session, v1.agreement_id, v1.document)[call](people[BY_ROLE[role]])
    assert len(session.exec(select(AuditEvent)).all()) == events_before


def test_each_head_approves_only_for_their_own_side(session, people):
    v1 = draft(session, people)
    agreements.submit(session=session, actor=people["marco"], agreement_id=v1.agreement_id)
    after = agreements.approve(revision=1, session=session, actor=people["sofia"],
                               agreement_id=v1.agreement_id)
    assert [a.side for a in after.approvals] == ["sales"]


def test_a_rep_and_a_marketer_can_read_agreements(session, people):
    v1 = draft(session, people)
    for reader in ("ana", "mia"):
        view = agreements.get_version(session=session, actor=people[reader],
                                      agreement_id=v1.agreement_id)
        assert view.title == "Q1 2026 SLA"


def amended_to_start(session, people, aid: int, start: str) -> agreements.VersionView:
    """A signed amendment of the agreement's active version, starting on `start`."""
    amendment = agreements.amend(session=session, actor=people["sofia"], agreement_id=aid)
    data = sla.to_dict(amendment.document)
    data["effective"]["start"] = start
    agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid,
                          number=amendment.number, document=sla.from_dict(data),
                          expected_revision=amendment.revision)
    return activate(session, people, amendment)


def version_states(session, people, aid: int) -> list[tuple[int, str]]:
    return [(v.number, v.state) for v in agreements.list_versions(
        session=session, actor=people["ana"], agreement_id=aid)]


def test_a_version_signed_before_its_start_is_scheduled_and_the_one_before_governs_until_then(
        session, people, monkeypatch):
    monkeypatch.setenv("HANDOFF_NOW", "2026-12-03T15:00:00Z")
    aid = activate(session, people, draft(session, people)).agreement_id
    v2 = amended_to_start(session, people, aid, "2027-01-01")
    assert v2.state == "scheduled" and v2.signed_at is not None
    assert version_states(session, people, aid) == [(1, "active"), (2, "scheduled")]
    summary = agreements.list_agreements(session=session, actor=people["ana"])[0]
    assert (summary.active_number, summary.latest_state, summary.scheduled_number,
            summary.scheduled_start) == (1, "scheduled", 2, date(2027, 1, 1))
    assert agreements.signed_document(session).effective.start == date(2026, 1, 1)
    for period, as_of, number in (("2026-12", "2026-12-03T15:00:00Z", 1),
                                  ("2027-01", "2027-01-20T12:00:00Z", 2)):
        scope = measurement.scope(session=session, actor=people["sofia"], period=period,
                                  as_of=as_of)
        assert scope.version == number, period

    monkeypatch.setenv("HANDOFF_NOW", "2026-12-31T15:00:00Z")  # still December in the zone
    assert version_states(session, people, aid) == [(1, "active"), (2, "scheduled")]
    monkeypatch.setenv("HANDOFF_NOW", "2027-01-01T15:00:00Z")
    assert version_states(session, people, aid) == [(1, "superseded"), (2, "active")]
    changes = session.exec(select(AuditEvent.action, AuditEvent.actor, AuditEvent.object_id)
                           .where(AuditEvent.action.in_(("version.activate",
                                                         "version.supersede")))
                           .order_by(AuditEvent.id)).all()
    assert [tuple(change) for change in changes] == [
        ("version.supersede", "system", f"{aid}/1"), ("version.activate", "system", f"{aid}/2")]
    assert agreements.signed_document(session).effective.start == date(2027, 1, 1)


def test_a_version_signed_after_its_start_is_active_at_once(session, people, monkeypatch):
    monkeypatch.setenv("HANDOFF_NOW", "2026-12-03T15:00:00Z")
    aid = activate(session, people, draft(session, people)).agreement_id
    assert amended_to_start(session, people, aid, "2026-12-03").state == "active"
    assert version_states(session, people, aid) == [(1, "superseded"), (2, "active")]


def test_a_scheduled_version_whose_whole_span_passed_unseen_ends_expired(session, people,
                                                                          monkeypatch):
    monkeypatch.setenv("HANDOFF_NOW", "2026-12-03T15:00:00Z")
    aid = activate(session, people, draft(session, people, end=date(2099, 1, 1))).agreement_id
    amendment = agreements.amend(session=session, actor=people["sofia"], agreement_id=aid)
    data = sla.to_dict(amendment.document)
    data["effective"].update(start="2027-01-01", end="2027-02-01")
    agreements.save_draft(session=session, actor=people["sofia"], agreement_id=aid,
                          number=2, document=sla.from_dict(data), expected_revision=1)
    assert activate(session, people, amendment).state == "scheduled"
    monkeypatch.setenv("HANDOFF_NOW", "2027-03-01T15:00:00Z")
    assert version_states(session, people, aid) == [(1, "superseded"), (2, "expired")]
