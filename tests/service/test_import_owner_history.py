"""A lead's owner history from imports: a re-import that moves leads to another owner records
one change per lead, in the batch; `import undo` takes them back with the owners."""

from sqlmodel import select

from core.services import import_undo, imports
from db.models import ImportBatch, Lead, LeadOwnerChange

MAPPING = {"external_id": "id", "created_at": "created", "owner": "owner", "channel": "channel"}


def leads_file(owners: dict[str, str], channel: str = "web") -> bytes:
    rows = [f"{lead},2026-11-0{1 + n} 09:00,{owner},{channel}"
            for n, (lead, owner) in enumerate(owners.items())]
    return ("id,created,owner,channel\n" + "\n".join(rows) + "\n").encode()


def run(session, actor, data: bytes, **options):
    return imports.import_leads(session=session, actor=actor, data=data, filename="leads.csv",
                                overrides={**MAPPING, **options.pop("overrides", {})},
                                source="crm", tz="UTC", **options)


def history(session) -> list[tuple]:
    session.expire_all()
    rows = session.exec(select(LeadOwnerChange, Lead.external_id).join(
        Lead, Lead.id == LeadOwnerChange.lead_id).order_by(Lead.external_id)).all()
    return [(external_id, change.from_owner, change.to_owner, change.changed_by, change.reason,
             change.import_batch_id) for change, external_id in rows]


def owners(session) -> dict[str, str | None]:
    session.expire_all()
    return dict(session.exec(select(Lead.external_id, Lead.owner)).all())


FIRST = {"L1": "ana", "L2": "ana", "L3": "ben", "L4": "ben"}


def test_a_first_import_records_no_owner_history(session, people):
    summary = run(session, people["marco"], leads_file(FIRST))
    assert summary.inserted == 4
    assert history(session) == []


def test_reassigned_leads_get_one_owner_change_each_in_the_batch(session, people):
    run(session, people["marco"], leads_file(FIRST))
    moved = run(session, people["sofia"],
                leads_file({"L1": "ben", "L2": "ana", "L3": "ana", "L4": "ben", "L5": "ana"}))
    assert (moved.inserted, moved.updated, moved.unchanged) == (1, 2, 2)
    reason = f"import #{moved.batch_id}"
    assert history(session) == [("L1", "ana", "ben", "sofia", reason, moved.batch_id),
                                ("L3", "ben", "ana", "sofia", reason, moved.batch_id)]
    batch = session.get(ImportBatch, moved.batch_id)
    assert set(session.exec(select(LeadOwnerChange.at)).all()) == {batch.at}
    assert owners(session)["L1"] == "ben"


def test_an_unchanged_reimport_or_a_change_of_another_field_records_nothing(session, people):
    run(session, people["marco"], leads_file(FIRST))
    assert run(session, people["marco"], leads_file(FIRST)).unchanged == 4
    other = run(session, people["marco"], leads_file(FIRST, channel="events"))
    assert other.updated == 4
    assert history(session) == []


def test_an_empty_owner_cell_is_not_a_reassignment_but_a_first_owner_is(session, people):
    run(session, people["marco"], b"id,created,channel\nL1,2026-11-01 09:00,web\n",
        overrides={"owner": ""})
    run(session, people["marco"], b"id,created,owner\nL1,2026-11-01 09:00,\n",
        overrides={"channel": ""})
    assert history(session) == [] and owners(session) == {"L1": None}
    given = run(session, people["marco"], b"id,created,owner\nL1,2026-11-01 09:00,ana\n",
                overrides={"channel": ""})
    assert history(session) == [("L1", None, "ana", "marco", f"import #{given.batch_id}",
                                 given.batch_id)]


def test_undo_deletes_the_batch_owner_changes_and_puts_the_owners_back(session, people):
    run(session, people["marco"], leads_file(FIRST))
    second = run(session, people["marco"], leads_file({**FIRST, "L1": "ben", "L2": "ben"}))
    third = run(session, people["mia"], leads_file({**FIRST, "L1": "ben", "L2": "ben",
                                                    "L4": "ana"}))
    assert [row[0] for row in history(session)] == ["L1", "L2", "L4"]
    import_undo.undo_batch(session=session, actor=people["marco"], batch_id=third.batch_id)
    assert history(session) == [
        ("L1", "ana", "ben", "marco", f"import #{second.batch_id}", second.batch_id),
        ("L2", "ana", "ben", "marco", f"import #{second.batch_id}", second.batch_id)]
    assert owners(session) == {**FIRST, "L1": "ben", "L2": "ben"}


def test_thousands_of_reassignments_are_recorded_and_undone(session, people):
    count = 3_000
    before = {f"L{n}": f"rep{n % 7}" for n in range(count)}
    after = {lead: f"rep{(n + 1) % 7}" for n, lead in enumerate(before)}

    def file(mapping):
        rows = "\n".join(f"{lead},2026-11-01 09:00,{owner}" for lead, owner in mapping.items())
        return f"id,created,owner\n{rows}\n".encode()

    run(session, people["marco"], file(before), overrides={"channel": ""})
    moved = run(session, people["marco"], file(after), overrides={"channel": ""})
    assert moved.updated == count
    changes = session.exec(select(LeadOwnerChange)).all()
    assert len(changes) == count
    assert {(c.from_owner, c.to_owner) for c in changes} == {
        (f"rep{n}", f"rep{(n + 1) % 7}") for n in range(7)}
    import_undo.undo_batch(session=session, actor=people["marco"], batch_id=moved.batch_id)
    assert history(session) == []
