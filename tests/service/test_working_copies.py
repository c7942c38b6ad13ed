"""Working copies of drafts kept in the database: what a restarted app replica gives back."""

import re
from datetime import date

import pytest
from sqlmodel import select

from core import agreement as sla
from core.errors import InvalidInput, NotFound
from core.limits import TEXT_MAX_CHARS, WORKING_COPY_MAX_BYTES, YAML_MAX_BYTES
from core.permissions import PermissionDenied, Role
from core.services import agreements, working_copies
from db.engine import session_scope
from db.models import WorkingCopy
from tests.service.conftest import BY_ROLE, add_people
from tests.service.test_races import at_once

# Every role that may not edit an agreement (DESIGN §7), refused by each of the three.
NOT_EDITORS = [Role.ADMIN, Role.EXEC, Role.SALES_REP, Role.MARKETER]
CALLS = ("keep", "find", "drop")
KEEPS_AT_ONCE = 20


def draft(session, people) -> agreements.VersionView:
    """Marco's new agreement: version 1, a draft at revision 1."""
    return agreements.create_agreement(
        session=session, actor=people["marco"],
        document=sla.template(title="Q1 2026 SLA", start=date(2026, 1, 1),
                              end=date(2099, 1, 1)))


def edited(version: agreements.VersionView, title: str) -> dict:
    """The version's document as the editor holds it, with another title."""
    return sla.to_dict(version.document) | {"title": title}


def keep(session, actor, version, data, revision: int | None = None):
    return working_copies.keep(session=session, actor=actor, agreement_id=version.agreement_id,
                               number=version.number, data=data,
                               revision=version.revision if revision is None else revision)


def find(session, actor, version):
    return working_copies.find(session=session, actor=actor, agreement_id=version.agreement_id,
                               number=version.number)


def drop(session, actor, version) -> None:
    working_copies.drop(session=session, actor=actor, agreement_id=version.agreement_id,
                        number=version.number)


def stored(session) -> list[WorkingCopy]:
    return list(session.exec(select(WorkingCopy)).all())


def test_a_copy_is_kept_replaced_found_and_dropped(session, people):
    v1 = draft(session, people)
    keep(session, people["sofia"], v1, edited(v1, "Sales' first idea"))
    kept = keep(session, people["sofia"], v1, edited(v1, "Sales' second idea"))
    found = find(session, people["sofia"], v1)
    assert found == kept
    assert (found.agreement_id, found.number, found.revision) == (v1.agreement_id, 1, 1)
    assert found.data == edited(v1, "Sales' second idea")
    assert found.updated_at.tzinfo is not None
    assert len(stored(session)) == 1  # replaced, not added
    drop(session, people["sofia"], v1)
    assert find(session, people["sofia"], v1) is None
    drop(session, people["sofia"], v1)  # nothing left to drop: no error
    assert stored(session) == []


def test_the_copy_keeps_the_revision_it_was_based_on_so_a_stale_save_is_still_refused(
        session, people):
    v1 = draft(session, people)
    keep(session, people["sofia"], v1, edited(v1, "Sales' title"))
    saved = agreements.save_draft(session=session, actor=people["marco"],
                                  agreement_id=v1.agreement_id, number=1,
                                  document=sla.from_dict(edited(v1, "Marketing's title")),
                                  expected_revision=1)
    assert saved.revision == 2
    mine = find(session, people["sofia"], v1)
    assert (mine.revision, mine.data["title"]) == (1, "Sales' title")
    with pytest.raises(agreements.StaleVersion, match="Marco saved it"):
        agreements.save_draft(session=session, actor=people["sofia"],
                              agreement_id=v1.agreement_id, number=1,
                              document=sla.from_dict(mine.data), expected_revision=mine.revision)
    assert find(session, people["sofia"], v1) == mine  # her edits are still kept
    # Another edit after the refusal still names the revision she started from
    keep(session, people["sofia"], v1, edited(v1, "Sales' title, again"), revision=1)
    assert find(session, people["sofia"], v1).revision == 1


def test_each_person_finds_and_drops_only_their_own_copy(session, people):
    v1 = draft(session, people)
    keep(session, people["sofia"], v1, edited(v1, "Sales' title"))
    assert find(session, people["marco"], v1) is None
    keep(session, people["marco"], v1, edited(v1, "Marketing's title"))
    drop(session, people["marco"], v1)
    assert find(session, people["marco"], v1) is None
    assert find(session, people["sofia"], v1).data["title"] == "Sales' title"
    assert [c.username for c in stored(session)] == ["sofia"]


@pytest.mark.parametrize(("call", "role"), [(c, r) for c in CALLS for r in NOT_EDITORS],
                         ids=[f"{c}-{r}" for c in CALLS for r in NOT_EDITORS])
def test_every_role_that_may_not_edit_is_refused(session, people, call, role):
    v1 = draft(session, people)
    keep(session, people["sofia"], v1, edited(v1, "Sales' title"))
    actor = people[BY_ROLE[role]]
    calls = {"keep": lambda: keep(session, actor, v1, edited(v1, "Not mine to edit")),
             "find": lambda: find(session, actor, v1),
             "drop": lambda: drop(session, actor, v1)}
    with pytest.raises(PermissionDenied, match=f"^{role.starting_a_sentence} may not draft, "
                                               "edit, submit an agreement.$"):
        calls[call]()
    assert [(c.username, c.data["title"]) for c in stored(session)] == [
        ("sofia", "Sales' title")]


def test_a_copy_over_the_size_limit_is_refused_naming_the_limit(session, people):
    v1 = draft(session, people)
    envelope = len('{"title":""}')  # the copy is measured as compact UTF-8 JSON
    keep(session, people["sofia"], v1, {"title": "x" * (WORKING_COPY_MAX_BYTES - envelope)})
    with pytest.raises(InvalidInput) as refused:
        keep(session, people["sofia"], v1,
             {"title": "x" * (WORKING_COPY_MAX_BYTES - envelope + 1)})
    assert refused.value.field == "data"
    assert str(refused.value) == (
        f"data: the working copy is {WORKING_COPY_MAX_BYTES + 1:,} bytes as JSON; at most "
        f"{WORKING_COPY_MAX_BYTES:,} are kept (WORKING_COPY_MAX_BYTES)")
    assert len(find(session, people["sofia"], v1).data["title"]) \
        == WORKING_COPY_MAX_BYTES - envelope  # the one kept before stays


def test_a_document_at_the_yaml_limit_fits_in_a_working_copy(session, people):
    """The worst case: texts of backslashes, one byte each in YAML and two in JSON."""
    v1 = draft(session, people)
    data = sla.to_dict(v1.document)
    padding = dict(data["commitments"][0], description="\\" * TEXT_MAX_CHARS)
    while len(sla.dump_yaml(sla.from_dict(data)).encode()) <= YAML_MAX_BYTES:
        data["commitments"].append(dict(padding, id=f"padding-{len(data['commitments'])}"))
    data["commitments"].pop()
    document = sla.parse_yaml(sla.dump_yaml(sla.from_dict(data)))  # Apply YAML lets it in
    keep(session, people["sofia"], v1, sla.to_dict(document))
    assert len(find(session, people["sofia"], v1).data["commitments"]) \
        == len(data["commitments"])


@pytest.mark.parametrize(("data", "says"), [
    (["title", "a list"], "a working copy is a JSON object (the document as a mapping); "
                          "this is a list"),
    ({"title": "T", "target": float("nan")}, "a working copy holds only JSON values"),
    ({"effective": {"start": date(2026, 1, 1)}}, "a working copy holds only JSON values"),
], ids=["a list", "NaN", "a date object"])
def test_a_copy_that_is_not_a_json_object_is_refused(session, people, data, says):
    v1 = draft(session, people)
    with pytest.raises(InvalidInput, match=f"^data: {re.escape(says)}"):
        keep(session, people["sofia"], v1, data)
    assert stored(session) == []


def test_a_revision_the_version_never_had_is_refused(session, people):
    v1 = draft(session, people)
    for revision in (0, 2):
        with pytest.raises(InvalidInput, match=f"^revision: version 1 has no revision "
                                               f"{revision} \\(its latest is 1\\)$"):
            keep(session, people["sofia"], v1, edited(v1, "T"), revision=revision)


def test_a_version_that_no_longer_changes_gets_no_copy_and_its_copy_is_not_offered(
        session, people):
    v1 = draft(session, people)
    args = dict(session=session, agreement_id=v1.agreement_id)
    keep(session, people["sofia"], v1, edited(v1, "Sales' title"))
    agreements.submit(actor=people["marco"], **args)
    assert find(session, people["sofia"], v1) is not None  # in review: still editable
    agreements.approve(revision=1, actor=people["marco"], **args)
    agreements.approve(revision=1, actor=people["sofia"], **args)
    assert find(session, people["sofia"], v1) is not None  # agreed: an edit makes a new draft
    agreements.sign(revision=1, actor=people["erin"], **args)
    assert find(session, people["sofia"], v1) is None
    assert stored(session) == []  # deleted when found
    with pytest.raises(InvalidInput, match=f"^number: version 1 of agreement {v1.agreement_id} "
                                           "is active and can no longer change; start an "
                                           "amendment"):
        keep(session, people["sofia"], v1, edited(v1, "Too late"))


def test_a_version_replaced_by_a_newer_one_gets_no_copy_and_its_copy_is_not_offered(
        session, people):
    v1 = draft(session, people)
    keep(session, people["sofia"], v1, edited(v1, "Sales' title"))
    agreements.new_version(session=session, actor=people["marco"],
                           agreement_id=v1.agreement_id, document=v1.document)
    assert find(session, people["sofia"], v1) is None
    assert stored(session) == []
    with pytest.raises(InvalidInput, match="is no longer the latest \\(version 2 is\\): only "
                                           "the latest version is edited"):
        keep(session, people["sofia"], v1, edited(v1, "Too late"))


def test_a_version_or_agreement_that_does_not_exist_is_not_found(session, people):
    v1 = draft(session, people)
    for agreement_id, number, says in ((v1.agreement_id, 7, f"agreement {v1.agreement_id} has "
                                        "no version 7"), (999, 1, "no agreement with id 999")):
        with pytest.raises(NotFound, match=f"^{says}$"):
            working_copies.keep(session=session, actor=people["sofia"],
                                agreement_id=agreement_id, number=number, revision=1,
                                data=edited(v1, "T"))


def test_two_sessions_of_one_person_keeping_at_once_leave_one_of_the_two_copies(
        concurrent_engine):
    with session_scope(concurrent_engine) as session:
        people = add_people(session)
        v1 = draft(session, people)
    sofia = people["sofia"]
    for trial in range(KEEPS_AT_ONCE):
        with session_scope(concurrent_engine) as session:
            drop(session, sofia, v1)  # each trial races two inserts of a copy that is not there
        theirs = [edited(v1, f"Tab {tab} of trial {trial}") for tab in ("A", "B")]
        outcomes = at_once(concurrent_engine,
                           *(lambda session, data=data: keep(session, sofia, v1, data)
                             for data in theirs))
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        with session_scope(concurrent_engine) as session:
            rows = stored(session)
        assert len(rows) == 1 and rows[0].data in theirs, (trial, rows)
