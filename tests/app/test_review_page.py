"""Quarterly review page: the scorecard for everyone, comments for the heads, sign-off and
send-back for the exec, and the drift banner once leads arrive after the sign-off."""

from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from sqlmodel import Session

from core.permissions import Role
from core.services import reviews
from db.engine import get_engine
from db.models import Lead, Touch
from tests.app.conftest import opened
from tests.sla_helpers import activate, around_the_clock

PAGE = "app_pages/review.py"
USERS = {"ana": Role.SALES_REP, "sofia": Role.SALES_HEAD, "marco": Role.MARKETING_HEAD,
         "erin": Role.EXEC, "mia": Role.MARKETER}
AS_OF = "2026-11-20T12:00:00+00:00"  # in 2026-Q4: the page opens on 2026-Q3
QUARTER = "2026-Q3"
JULY = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test has its own database, but data versions repeat across them: start clean."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def add_leads(prefix: str, count: int) -> None:
    with Session(get_engine()) as session:
        leads = [Lead(source="crm", external_id=f"{prefix}{index}", created_at=JULY,
                      mql_at=JULY + timedelta(days=index), owner="ana", channel="social",
                      score=75) for index in range(count)]
        session.add_all(leads)
        session.flush()
        session.add(Touch(lead_id=leads[0].id, at=leads[0].mql_at + timedelta(hours=1),
                          kind="call", rep="ana"))
        session.commit()


@pytest.fixture
def world(app_db):
    people = {name: app_db(name, role) for name, role in USERS.items()}
    with Session(get_engine()) as session:
        activate(session, people, around_the_clock())
        session.commit()
    add_leads("Q3-", 4)
    return people


def opened_review(actor):
    return opened(actor, PAGE, AS_OF)


def texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def keys(at, kind: str) -> set[str]:
    return {element.key for element in at.get(kind) if getattr(element, "key", None)}


def test_the_exec_sees_the_last_finished_quarter_and_can_sign_it_off(world):
    at = opened_review(world["erin"])

    assert at.selectbox(key="review_quarter").value == QUARTER
    assert ":blue-badge[Open]" in texts(at)
    assert {metric.label for metric in at.metric} >= {"MQL volume", "First touch"}
    assert "review_sign" in keys(at, "button") and "review_send_back" in keys(at, "button")
    assert "review_comment_body" in keys(at, "text_area")

    at.text_area(key="review_decision_comment").set_value("Signed on these figures.")
    at.button(key="review_sign").click().run()
    assert not at.exception, at.exception
    assert ":green-badge[Signed off]" in texts(at)
    assert "review_sign" not in keys(at, "button")
    assert "Signed on these figures." in texts(at) + "\n".join(m.value for m in at.markdown)
    assert [b.label for b in at.get("download_button")] == ["Scorecard CSV",
                                                            "Signed review PDF"]


def test_a_head_comments_but_cannot_sign(world):
    at = opened_review(world["marco"])
    assert "review_sign" not in keys(at, "button")
    at.text_area(key="review_comment_body").set_value("Social leads were thin in July.")
    at.button(key="review_comment_submit").click().run()
    assert not at.exception, at.exception
    assert any("Social leads were thin in July." in m.value for m in at.markdown)
    assert [s.value for s in at.success] == ["Comment added."]


@pytest.mark.parametrize("who", ["ana", "mia"])
def test_reps_and_marketers_see_the_review_without_comment_box_or_sign_off(world, who):
    at = opened_review(world[who])
    assert at.metric  # the scorecard
    assert "review_sign" not in keys(at, "button")
    assert "review_send_back" not in keys(at, "button")
    assert "review_comment_body" not in keys(at, "text_area")
    assert "review_comment_submit" not in keys(at, "button")


def test_leads_imported_after_the_sign_off_raise_the_drift_banner(world):
    with Session(get_engine()) as session:
        reviews.sign(session=session, actor=world["erin"], quarter=QUARTER)
        session.commit()
    at = opened_review(world["sofia"])
    assert ":green-badge[Signed off]" in texts(at)
    assert not at.warning

    add_leads("late-", 3)
    at = opened_review(world["sofia"])
    banner = "\n".join(w.value for w in at.warning)
    assert "changed since sign-off" in banner
    assert "`commitments.mql-volume.actual`: 4 → 7" in banner
    assert "why leads were rejected — as signed off." in texts(at)


def test_the_exec_sends_a_review_back_with_a_reason(world):
    at = opened_review(world["erin"])
    at.button(key="review_send_back").click().run()  # no reason given: refused
    assert not at.exception, at.exception
    assert at.error and "comment" in at.error[0].value
    at.text_area(key="review_decision_comment").set_value("Explain the social breaches.")
    at.button(key="review_send_back").click().run()
    assert not at.exception, at.exception
    assert ":orange-badge[Sent back]" in texts(at)
    assert "review_sign" in keys(at, "button")  # a sent-back review can still be signed


def test_the_current_quarter_cannot_be_signed_yet(world):
    at = opened_review(world["erin"])
    at.selectbox(key="review_quarter").set_value("2026-Q4").run()
    assert not at.exception, at.exception
    assert at.button(key="review_sign").disabled
    assert any("still running" in i.value for i in at.info)
    trend = next(d.value for d in at.dataframe if "2026-Q3" in d.value.columns)
    assert list(trend.columns) == ["id", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert trend.loc[trend["id"] == "MQL volume", "2026-Q3"].item() > 0
    assert len(at.get("vega_lite_chart")) == 1  # the trend chart
