"""The demo company: one user per role, believable deterministic leads, idempotent seeding."""

import hashlib
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine, func, select

from core import passwords, services
from core.demo import DEMO_PASSWORD, DEMO_SOURCE, DEMO_TIMEZONE, DEMO_USERS, seed_demo
from core.permissions import Role
from db.models import Lead, Touch, User

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 16, tzinfo=UTC)  # the end of TODAY, long past
LEADS = 1500
REPS = {"ana", "ben", "chloe", "dev", "eli", "farah"}
FAST_REPS, SLOW_REPS = ["ana", "dev"], ["chloe", "farah"]
STAGES = [
    "created_at", "mql_at", "accepted_at", "rejected_at", "sql_at", "opportunity_at", "won_at",
    "lost_at",
]


def seed(session, **kwargs):
    """Seed a small demo company as of TODAY."""
    return seed_demo(session, **{"leads": LEADS, "today": TODAY, **kwargs})


def load_leads(session) -> pd.DataFrame:
    """The demo leads, one row each, timestamps as pandas UTC times."""
    rows = session.exec(select(Lead).where(Lead.source == DEMO_SOURCE).order_by(Lead.id)).all()
    return pd.DataFrame([row.model_dump() for row in rows])


def load_touches(session) -> pd.DataFrame:
    """The touches with their lead's owner and MQL time."""
    rows = session.exec(
        select(Touch.lead_id, Touch.at, Touch.kind, Touch.rep, Touch.automated, Lead.owner,
               Lead.mql_at, Lead.external_id)
        .join(Lead, Lead.id == Touch.lead_id)
        .order_by(Lead.external_id, Touch.at, Touch.kind)
    )
    return pd.DataFrame(rows.all(), columns=list(rows.keys()))


def counts(session) -> tuple[int, int, int]:
    """How many users, leads and touches are stored."""
    return tuple(
        session.exec(select(func.count()).select_from(table)).one() for table in (User, Lead, Touch)
    )


def digest(session) -> str:
    """A fingerprint of every demo lead and touch."""
    leads = load_leads(session).drop(columns=["id"]).astype(str)
    touches = load_touches(session).drop(columns=["lead_id"]).astype(str)
    text = leads.to_csv(index=False) + touches.to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()


def fresh_sqlite_digest(seed_value: int, leads: int = LEADS) -> str:
    """Seed a separate in-memory database and fingerprint it."""
    engine = create_engine(
        "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
    )
    SQLModel.metadata.create_all(engine)
    with Session(engine) as other:
        seed(other, seed=seed_value, leads=leads)
        other.flush()
        fingerprint = digest(other)
    engine.dispose()
    return fingerprint


def test_demo_has_every_role_two_teams_of_reps_and_the_documented_password(session):
    summary = seed(session)

    users = {user.username: user for user in session.exec(select(User)).all()}
    roles = pd.Series([user.role for user in users.values()]).value_counts()
    assert summary.users_added == len(DEMO_USERS) == len(users)
    assert roles.to_dict() == {
        Role.SALES_REP: 6, Role.MARKETER: 2, Role.ADMIN: 1, Role.SALES_HEAD: 1,
        Role.MARKETING_HEAD: 1, Role.EXEC: 1,
    }
    assert users["sofia"].display_name == "Sofia Ramos"
    assert users["marco"].role == Role.MARKETING_HEAD
    assert {users[rep].team for rep in REPS} == {"Inbound East", "Inbound West"}
    assert users["ana"].email == "ana@handoff.demo"
    assert users["ana"].password_hash.startswith("$2b$")
    assert passwords.verify(DEMO_PASSWORD, users["ana"].password_hash)
    login = services.authenticate(session=session, username="sofia", password=DEMO_PASSWORD)
    assert login.ok and login.actor.role == Role.SALES_HEAD


def test_seeding_twice_adds_nothing_the_second_time(session):
    first = seed(session)
    before = counts(session)
    second = seed(session)

    assert not first.already_seeded
    assert (first.leads_added, first.touches_added) == before[1:]
    assert first.leads_added == LEADS
    assert second.already_seeded
    assert (second.users_added, second.leads_added, second.touches_added) == (0, 0, 0)
    assert counts(session) == before


def test_an_existing_user_is_kept_and_the_rest_are_added(session):
    services.add_user(
        session=session, actor=services.OPERATOR, username="admin", display_name="Real Admin",
        email="it@example.com", role=Role.ADMIN, password="a real secret",
    )
    summary = seed(session)

    admin = session.exec(select(User).where(User.username == "admin")).one()
    assert summary.users_added == len(DEMO_USERS) - 1
    assert summary.leads_added == LEADS
    assert admin.display_name == "Real Admin"


def test_same_seed_gives_the_same_company_and_another_seed_a_different_one(session):
    seed(session)
    session.flush()

    same_seed = fresh_sqlite_digest(7)

    assert digest(session) == same_seed
    assert fresh_sqlite_digest(8, leads=100) != fresh_sqlite_digest(7, leads=100)


def test_stage_timestamps_are_aware_ordered_and_never_in_the_future(session):
    seed(session)
    stored = session.exec(select(Lead).where(Lead.source == DEMO_SOURCE)).all()
    instants = [getattr(lead, stage) for lead in stored for stage in STAGES]
    assert all(at.tzinfo is not None for at in instants if at is not None)
    leads = load_leads(session)

    def ordered(earlier, later):
        both = leads[earlier].notna() & leads[later].notna()
        return bool(both.any() and (leads.loc[both, earlier] <= leads.loc[both, later]).all())

    assert ordered("created_at", "mql_at")
    assert ordered("mql_at", "accepted_at") and ordered("mql_at", "rejected_at")
    assert ordered("accepted_at", "sql_at") and ordered("sql_at", "opportunity_at")
    assert ordered("opportunity_at", "won_at") and ordered("opportunity_at", "lost_at")
    assert not (leads["accepted_at"].notna() & leads["rejected_at"].notna()).any()
    assert not (leads["won_at"].notna() & leads["lost_at"].notna()).any()
    assert leads.loc[leads["sql_at"].notna(), "accepted_at"].notna().all()
    assert (leads[STAGES].max() <= pd.Timestamp(NOW)).all()
    assert load_touches(session)["at"].max() <= NOW


def test_leads_fill_the_previous_and_the_current_quarter(session):
    seed(session)
    leads = load_leads(session)
    local_mql = leads["mql_at"].dt.tz_convert(DEMO_TIMEZONE)
    quarters = local_mql.dt.quarter.value_counts()

    assert local_mql.min() >= pd.Timestamp("2024-01-01", tz=DEMO_TIMEZONE)
    assert set(quarters.index) == {1, 2}
    assert quarters[1] >= 0.45 * LEADS and quarters[2] >= 0.25 * LEADS
    assert (local_mql.dt.day_of_week < 5).mean() > 0.8
    assert set(leads["owner"]) == REPS
    assert leads["external_id"].str.fullmatch(r"D-\d{6}").all()
    profile = ["channel", "segment", "region", "country", "company", "name", "email"]
    assert leads[profile].notna().all().all()
    assert leads["score"].between(0, 100).all() and (leads["score"] >= 60).mean() > 0.6
    assert all({"landing_page", "utm_campaign"} <= set(row) for row in leads["attributes"])


def test_touches_are_automated_emails_and_human_work_in_business_hours(session):
    seed(session)
    touches = load_touches(session)
    human = touches[~touches["automated"]]
    local = human["at"].dt.tz_convert(DEMO_TIMEZONE)
    minutes = local.dt.hour * 60 + local.dt.minute

    assert (touches.loc[touches["automated"], "kind"] == "email").all()
    assert touches["automated"].sum() > 0.8 * LEADS
    assert len(human) > LEADS
    assert set(human["kind"]) == {"call", "email", "meeting"}
    assert (touches["rep"] == touches["owner"]).all()
    assert (touches["at"] >= touches["mql_at"]).all()
    assert (local.dt.day_of_week < 5).all()
    assert minutes.between(9 * 60, 18 * 60).all()


def test_decisions_carry_reasons_and_deals_carry_amounts(session):
    seed(session)
    leads = load_leads(session)
    accepted, rejected = leads["accepted_at"].notna(), leads["rejected_at"].notna()
    acceptance = accepted.sum() / (accepted.sum() + rejected.sum())

    assert 0.7 <= acceptance <= 0.88
    assert leads.loc[rejected, "rejection_reason"].notna().all()
    assert leads.loc[~rejected, "rejection_reason"].isna().all()
    assert leads.loc[rejected, "rejection_reason"].nunique() >= 4
    assert leads.loc[leads["opportunity_at"].notna(), "amount"].gt(0).all()
    assert leads["won_at"].notna().sum() > 0
    assert leads.loc[leads["won_at"].notna(), "amount"].gt(0).all()
    assert leads.loc[leads["opportunity_at"].isna(), "amount"].isna().all()


def test_slow_reps_answer_much_later_than_fast_reps(session):
    seed(session)
    touches = load_touches(session)
    human = touches[~touches["automated"]]
    first = human.groupby("external_id").agg(owner=("owner", "first"), at=("at", "min"),
                                             mql_at=("mql_at", "first"))
    delay = (first["at"] - first["mql_at"]).dt.total_seconds().groupby(first["owner"]).median()

    assert delay[SLOW_REPS].min() > 3 * delay[FAST_REPS].max()


def test_a_few_mqls_are_recycled_within_ninety_days(session):
    seed(session)
    leads = load_leads(session).sort_values("mql_at")
    previous = leads.groupby("email")["mql_at"].shift()
    recycled = (leads["mql_at"] - previous) <= pd.Timedelta(days=90)

    assert 0.01 * LEADS <= recycled.sum() <= 0.1 * LEADS
    reasons = leads.loc[recycled & leads["rejected_at"].notna(), "rejection_reason"]
    assert reasons.isin(["recycled", "duplicate"]).mean() > 0.8


def test_demo_seeds_an_active_sla_and_an_amendment_under_negotiation(session):
    from core.services import OPERATOR, agreements

    seed_demo(session, leads=200, seed=3, today=date(2026, 11, 22))
    rows = agreements.list_agreements(session=session, actor=OPERATOR)
    assert [(r.latest_number, r.latest_state, r.active_number) for r in rows] == [(2, "draft", 1)]
    signed = agreements.get_version(session=session, actor=OPERATOR, agreement_id=rows[0].id,
                                    number=1)
    assert signed.document.effective.start == date(2026, 7, 1)
    assert signed.document.effective.end == date(2027, 7, 1)
    assert signed.document.calendar.timezone == "America/New_York"
    assert {a.side for a in signed.approvals} == {"sales", "marketing", "exec"}
    changes = agreements.compare_versions(session=session, actor=OPERATOR,
                                          agreement_id=rows[0].id, old=1, new=2)
    assert {c.clause for c in changes} == {
        "effective.start", "commitments[first-touch].within", "commitments[mql-volume].target"
    }
    comments = agreements.list_comments(session=session, actor=OPERATOR,
                                        agreement_id=rows[0].id)
    assert [(c.version_number, c.author, c.clause) for c in comments] == [
        (1, "marco", None), (1, "sofia", None), (1, "erin", None),  # the signing steps' comments
        (2, "sofia", "commitments[first-touch]"), (2, "marco", "commitments[mql-volume]"),
        (2, "erin", None),
    ]
    again = seed_demo(session, leads=200, seed=3, today=date(2026, 11, 22))
    assert again.already_seeded and again.agreements_added == 0


def test_demo_seeds_open_disputes_for_the_heads(session):
    from core.services import OPERATOR
    from core.services import leads as lead_work

    seed_demo(session, leads=1500, seed=3, today=date(2026, 11, 22))
    disputes = lead_work.list_disputes(session=session, actor=OPERATOR)
    assert len(disputes) == 3
    assert {d.opened_by for d in disputes} == {"mia", "noah"}
    assert {d.rejection_reason for d in disputes} == {"not_a_fit"}


def test_demo_flags_recycled_mqls(session):
    seed_demo(session, leads=1500, seed=3, today=date(2026, 11, 22))
    recycled = session.exec(select(func.count()).where(Lead.recycled)).one()
    assert 0 < recycled < 1500 * 0.1
