"""Agreements page: the negotiation from a template to an active version, through AppTest."""

import re

import pytest
from sqlmodel import Session

from core.limits import WORKING_COPY_MAX_BYTES
from core.permissions import Role
from core.services import working_copies
from db.engine import get_engine
from tests.app.conftest import logged_in

PAGE = "app_pages/agreements.py"
NEGOTIATORS = {"marco": Role.MARKETING_HEAD, "sofia": Role.SALES_HEAD, "erin": Role.EXEC,
               "ana": Role.SALES_REP, "mia": Role.MARKETER, "root": Role.ADMIN}


@pytest.fixture
def people(app_db):
    return {name: app_db(name, role) for name, role in NEGOTIATORS.items()}


def open_page(actor):
    at = logged_in(actor).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def press(at, key):
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def frame_with(at, column: str):
    """The first table on the page that has this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def edit_title(at, title: str):
    """Type a new title in the General section of version 1 and apply it."""
    at.radio(key="sla_edit_1_1_section").set_value("General").run()
    at.text_input(key="sla_edit_1_1_title").input(title)
    return press(at, "FormSubmitter:sla_edit_1_1_general-Apply")


def kept(actor) -> working_copies.WorkingCopyView | None:
    """The working copy of version 1 the database keeps for the actor (what any replica
    gives back)."""
    with Session(get_engine()) as session:
        return working_copies.find(session=session, actor=actor, agreement_id=1, number=1)


RESTORED = re.compile(r"Restored your unsaved changes from \d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+ "
                      r"\(kept for you while you edit\)\.")


def start_from_template(people) -> None:
    at = open_page(people["marco"])
    at.text_input(key="sla_new_title").input("Demo SLA")
    press(at, "FormSubmitter:sla_new_template-Create draft")
    assert at.success[0].value == "Draft created."
    assert at.selectbox(key="sla_version_1").value == 1


def test_the_whole_negotiation_through_the_page(people):
    start_from_template(people)
    marco = open_page(people["marco"])
    press(marco, "sla_step_1_1_submit")
    press(marco, "sla_step_1_1_approve")
    assert "Marketing: ✔ Marco Tester" in texts(marco)

    sofia = open_page(people["sofia"])
    sofia.selectbox(key="sla_comment_1_1_clause").select("commitments[first-touch]")
    sofia.text_area(key="sla_comment_1_1_body").input("4h is too loose for demo requests.")
    press(sofia, "FormSubmitter:sla_comment_1_1-Add comment")
    assert sofia.chat_message[0].markdown[1].value == "4h is too loose for demo requests."
    sofia.radio(key="sla_edit_1_1_section").set_value("YAML").run()
    yaml_area = next(t for t in sofia.text_area if t.key.startswith("sla_edit_1_1_yaml_text"))
    yaml_area.input(yaml_area.value.replace("within: 4h", "within: 2h"))
    press(sofia, "FormSubmitter:sla_edit_1_1_yaml-Apply YAML")
    press(sofia, "sla_edit_1_1_save")
    assert sofia.success[0].value.startswith("Saved as version 2, a new draft")
    assert sofia.selectbox(key="sla_version_1").value == 2
    press(sofia, "sla_step_1_2_submit")
    press(sofia, "sla_step_1_2_approve")

    marco = open_page(people["marco"])
    press(marco, "sla_step_1_2_approve")
    assert ":blue-badge[Agreed by both heads]" in texts(marco)

    erin = open_page(people["erin"])
    press(erin, "sla_step_1_2_sign")
    assert erin.success[0].value == "Signed off: the version is active."
    assert "Exec sign-off: ✔ Erin Tester" in texts(erin)
    assert ":green-badge[Active]" in texts(erin)

    sofia = open_page(people["sofia"])
    assert any("is active and can no longer change" in i.value for i in sofia.info)
    assert not [b for b in sofia.button if b.key == "sla_edit_1_2_save"]
    assert [b.key for b in sofia.button if b.key.startswith("sla_step_")] == ["sla_step_1_2_amend"]


def test_the_redline_shows_every_changed_clause(people):
    start_from_template(people)
    marco = open_page(people["marco"])
    marco.radio(key="sla_edit_1_1_section").set_value("YAML").run()
    area = next(t for t in marco.text_area if t.key.startswith("sla_edit_1_1_yaml_text"))
    area.input(area.value.replace("within: 4h", "within: 2h").replace("target: 1000",
                                                                       "target: 1200"))
    press(marco, "FormSubmitter:sla_edit_1_1_yaml-Apply YAML")
    press(marco, "sla_edit_1_1_save")
    press(marco, "sla_step_1_1_submit")
    press(marco, "sla_step_1_1_approve")
    sofia = open_page(people["sofia"])
    sofia.radio(key="sla_edit_1_1_section").set_value("General").run()
    sofia.text_input(key="sla_edit_1_1_title").input("Demo SLA, sales counter-proposal")
    press(sofia, "FormSubmitter:sla_edit_1_1_general-Apply")
    press(sofia, "sla_edit_1_1_save")
    sofia.selectbox(key="sla_redline_old_1").select(1)
    sofia.selectbox(key="sla_redline_new_1").select(2).run()
    redline = frame_with(sofia, "Clause")
    assert list(redline["Clause"]) == ["Title"]
    assert list(redline["Version 1"]) == ["Demo SLA"]
    assert list(redline["Version 2"]) == ["Demo SLA, sales counter-proposal"]
    history = frame_with(sofia, "What")
    assert "Edited" in list(history["What"])
    assert "marco" not in list(history["Who"]) and "Marco Tester" in list(history["Who"])


def test_a_rep_reads_but_cannot_edit_comment_or_approve(people):
    start_from_template(people)
    ana = open_page(people["ana"])
    assert "Demo SLA" in [s.value for s in ana.subheader]
    assert any("Only the heads of sales and marketing edit" in i.value for i in ana.info)
    assert not [b for b in ana.button if (b.key or "").startswith("sla_step_")]
    assert not [t for t in ana.text_area if (t.key or "").startswith("sla_comment")]
    assert not [e for e in ana.expander if e.label == "Start a new agreement"]


def test_the_document_reads_like_an_sla(people):
    start_from_template(people)
    at = open_page(people["mia"])
    body = texts(at)
    assert "Marketing commits to" in body and "Sales commits to" in body
    assert "First touch within **4 business hours** of MQL, for **90%** of leads." in body
    assert "Deliver **1,000 MQLs** per month." in body
    assert "*If sales misses:*" in body
    assert "Won revenue: **\\$500,000** per quarter" in body  # the workspace's currency


def test_an_invalid_yaml_edit_names_the_key_and_keeps_the_draft(people):
    start_from_template(people)
    marco = open_page(people["marco"])
    marco.radio(key="sla_edit_1_1_section").set_value("YAML").run()
    area = next(t for t in marco.text_area if t.key.startswith("sla_edit_1_1_yaml_text"))
    area.input(area.value.replace("within: 4h", "within: 4 hours"))
    press(marco, "FormSubmitter:sla_edit_1_1_yaml-Apply YAML")
    assert "commitments[1].within" in marco.error[0].value
    assert "YAML:" in marco.error[0].value


def test_a_stale_save_is_refused_on_the_page_and_keeps_the_users_edit(people):
    start_from_template(people)
    marco = open_page(people["marco"])
    sofia = open_page(people["sofia"])
    for at, title in ((marco, "Marketing's title"), (sofia, "Sales' title")):
        at.radio(key="sla_edit_1_1_section").set_value("General").run()
        at.text_input(key="sla_edit_1_1_title").input(title)
        press(at, "FormSubmitter:sla_edit_1_1_general-Apply")
    press(marco, "sla_edit_1_1_save")
    press(sofia, "sla_edit_1_1_save")
    assert "Marco Tester saved it" in sofia.error[0].value
    assert "title: Demo SLA → Marketing's title" in sofia.error[0].value
    assert sofia.session_state["sla_edit_1_1"]["data"]["title"] == "Sales' title"


def test_an_approval_names_the_revision_on_screen_not_one_edited_meanwhile(people):
    """Sofia reads revision 1; Marco edits the version in review; Sofia's click on Approve
    (rendered for revision 1) is refused with what changed, not recorded for revision 2."""
    start_from_template(people)
    marco = open_page(people["marco"])
    press(marco, "sla_step_1_1_submit")
    sofia = open_page(people["sofia"])  # shows revision 1, with its Approve button
    marco.radio(key="sla_edit_1_1_section").set_value("General").run()
    marco.text_input(key="sla_edit_1_1_title").input("Marketing's title")
    press(marco, "FormSubmitter:sla_edit_1_1_general-Apply")
    press(marco, "sla_edit_1_1_save")  # revision 2, in place: nobody approved yet
    press(sofia, "sla_step_1_1_approve")
    assert "changed since you read revision 1" in sofia.error[0].value
    assert "title: Demo SLA → Marketing's title" in sofia.error[0].value
    assert "Sales: waiting" in texts(sofia)
    press(sofia, "sla_step_1_1_approve")  # now she has read revision 2
    assert "Sales: ✔ Sofia Tester" in texts(sofia)


def test_a_commitment_is_edited_in_place_and_the_redline_lists_only_that_change(people):
    start_from_template(people)
    marco = open_page(people["marco"])
    press(marco, "sla_step_1_1_submit")
    press(marco, "sla_step_1_1_approve")
    sofia = open_page(people["sofia"])
    sofia.radio(key="sla_edit_1_1_section").set_value("Commitments").run()
    assert sofia.number_input(key="sla_edit_1_1_commitment_0_mql-volume_target").value == 1000
    sofia.number_input(key="sla_edit_1_1_commitment_0_mql-volume_target").set_value(1200)
    press(sofia, "sla_edit_1_1_commitment_0_mql-volume_apply")
    working = sofia.session_state["sla_edit_1_1"]["data"]["commitments"]
    assert [c["id"] for c in working][0] == "mql-volume" and working[0]["target"] == 1200
    press(sofia, "sla_edit_1_1_save")
    assert sofia.success[0].value.startswith("Saved as version 2, a new draft")
    sofia.selectbox(key="sla_redline_old_1").select(1)
    sofia.selectbox(key="sla_redline_new_1").select(2).run()
    redline = frame_with(sofia, "Clause")
    assert len(redline) == 1, redline
    assert list(redline["Version 1"]) == ["1000"] or list(redline["Version 1"]) == ["1,000"]
    assert "1200" in str(redline["Version 2"].iloc[0]) or "1,200" in str(
        redline["Version 2"].iloc[0])
    assert "MQL volume" in redline["Clause"].iloc[0] or "mql-volume" in redline["Clause"].iloc[0]


LADDER = """escalations:
  - id: warn-owner
    commitment: first-touch
    trigger: at_risk
    notify: [owner]
  - id: back-to-pool
    commitment: first-touch
    trigger: breached
    after: 2d
    notify: [owner, sales_head]
    action: {reassign: owner_team}
    urgent: true
"""


def test_escalations_read_as_sentences_and_survive_a_commitment_edited_in_the_forms(people):
    start_from_template(people)
    marco = open_page(people["marco"])
    marco.radio(key="sla_edit_1_1_section").set_value("YAML").run()
    area = next(t for t in marco.text_area if t.key.startswith("sla_edit_1_1_yaml_text"))
    area.input(area.value + LADDER)
    press(marco, "FormSubmitter:sla_edit_1_1_yaml-Apply YAML")
    press(marco, "sla_edit_1_1_save")
    assert marco.success[0].value == "Saved version 1 (revision 2)."
    ladder = ("- **Warn owner** · First touch at risk → tell the lead's owner\n"
              "- **Back to pool** · First touch overdue by **2 business days** → tell the "
              "lead's owner and the head of sales; reassign round robin within the owner's "
              "team · urgent: ignores working and quiet hours")
    assert "#### Escalations" in texts(marco) and ladder in texts(marco)

    marco.radio(key="sla_edit_1_1_section").set_value("Commitments").run()
    marco.number_input(key="sla_edit_1_1_commitment_0_mql-volume_target").set_value(1200)
    press(marco, "sla_edit_1_1_commitment_0_mql-volume_apply")
    press(marco, "sla_edit_1_1_save")
    assert "Deliver **1,200 MQLs** per month." in texts(marco) and ladder in texts(marco)
    marco.radio(key="sla_edit_1_1_section").set_value("YAML").run()
    area = next(t for t in marco.text_area if t.key.startswith("sla_edit_1_1_yaml_text"))
    assert area.value.endswith(LADDER)

    area.input(area.value.replace("notify: [owner]\n", "notify: [owner, 'team:Nowhere']\n"))
    press(marco, "FormSubmitter:sla_edit_1_1_yaml-Apply YAML")
    press(marco, "sla_edit_1_1_save")
    assert "escalations[0].notify[1]" in marco.error[0].value
    assert "no team 'Nowhere'" in marco.error[0].value
    assert marco.session_state["sla_edit_1_1"]["dirty"]  # the edit stays on screen


def test_an_edit_comes_back_in_a_new_session_and_saving_it_drops_the_kept_copy(people):
    start_from_template(people)
    editing = edit_title(open_page(people["marco"]), "Marketing's title")
    assert not RESTORED.search(texts(editing))  # the session that made the edit has it already
    assert kept(people["marco"]).data["title"] == "Marketing's title"

    marco = open_page(people["marco"])  # a new session: the replica that had the first died
    assert marco.text_input(key="sla_edit_1_1_title").value == "Marketing's title"
    assert RESTORED.search(texts(marco)) and "You have unsaved changes." in texts(marco)
    marco.radio(key="sla_edit_1_1_section").set_value("YAML").run()
    assert not RESTORED.search(texts(marco))  # said once
    press(marco, "sla_edit_1_1_save")
    assert marco.success[0].value == "Saved version 1 (revision 2)."
    assert kept(people["marco"]) is None

    again = open_page(people["marco"])
    assert again.text_input(key="sla_edit_1_1_title").value == "Marketing's title"  # saved
    assert not RESTORED.search(texts(again)) and "You have unsaved changes." not in texts(again)


def test_discarding_drops_the_kept_copy(people):
    start_from_template(people)
    marco = edit_title(open_page(people["marco"]), "Marketing's title")
    press(marco, "sla_edit_1_1_reload")
    assert kept(people["marco"]) is None
    again = open_page(people["marco"])
    assert again.text_input(key="sla_edit_1_1_title").value == "Demo SLA"
    assert not RESTORED.search(texts(again))


def test_each_head_gets_back_only_their_own_copy(people):
    start_from_template(people)
    edit_title(open_page(people["marco"]), "Marketing's title")
    sofia = open_page(people["sofia"])
    assert sofia.text_input(key="sla_edit_1_1_title").value == "Demo SLA"
    assert not RESTORED.search(texts(sofia))


def test_a_stale_copy_restored_in_a_new_session_is_still_refused_and_still_kept(people):
    start_from_template(people)
    edit_title(open_page(people["sofia"]), "Sales' title")
    press(edit_title(open_page(people["marco"]), "Marketing's title"), "sla_edit_1_1_save")
    sofia = open_page(people["sofia"])  # her replica restarted after her edit
    assert sofia.text_input(key="sla_edit_1_1_title").value == "Sales' title"
    assert any("saved version 1 after you started editing" in w.value for w in sofia.warning)
    press(sofia, "sla_edit_1_1_save")
    assert "Marco Tester saved it" in sofia.error[0].value
    assert "title: Demo SLA → Marketing's title" in sofia.error[0].value
    copy = kept(people["sofia"])
    assert (copy.revision, copy.data["title"]) == (1, "Sales' title")


def test_an_edit_too_large_to_keep_is_not_applied_and_says_why(people):
    start_from_template(people)
    marco = open_page(people["marco"])
    marco.text_area(key="sla_edit_1_1_cons_sales").input("x" * (WORKING_COPY_MAX_BYTES + 1))
    press(marco, "FormSubmitter:sla_edit_1_1_general-Apply")
    assert marco.error[0].value.startswith("Your change was not applied: data: the working copy")
    assert marco.error[0].value.endswith(f"at most {WORKING_COPY_MAX_BYTES:,} are kept "
                                         "(WORKING_COPY_MAX_BYTES)")
    assert kept(people["marco"]) is None
    assert not marco.session_state["sla_edit_1_1"]["dirty"]
