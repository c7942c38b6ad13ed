"""A believable demo company: users, two quarters of leads and touches, from a seeded generator.

Everything is generated with vectorized numpy on epoch seconds (NaN = "has not happened"), then
bulk-inserted. Human activity follows the demo company's business hours, so SLA clocks tell a
story: fast, average and slow reps, channels of different quality, a few recycled leads.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from core import agreement as sla
from core import clock
from core.errors import InvalidInput
from core.permissions import Role
from core.services import OPERATOR, add_user, agreements, get_actor, reviews
from core.services import leads as lead_work
from core.services.imports import flag_recycled
from core.services.measurement import AmbiguousAgreement
from db.bulk import insert_frame
from db.models import Agreement, Lead, QuarterlyReview, Touch, User

DEMO_PASSWORD = "handoff-demo"
DEMO_SOURCE = "demo"
DEMO_TIMEZONE = "America/New_York"
DEMO_EMAIL_DOMAIN = "handoff.demo"

Rng = np.random.Generator


@dataclass(frozen=True)
class DemoUser:
    """One person of the demo company."""

    username: str
    display_name: str
    role: str
    team: str | None
    email: str


@dataclass(frozen=True)
class DemoSummary:
    """What seed_demo added; already_seeded when the demo was already there and nothing was."""

    users_added: int
    leads_added: int
    touches_added: int
    already_seeded: bool
    agreements_added: int = 0
    reviews_added: int = 0


@dataclass(frozen=True)
class RepPace:
    """A rep's habits in business hours: median first touch (with its spread) and decision."""

    first_touch_hours: float
    spread: float
    decision_hours: float


def _user(username: str, display_name: str, role: Role, team: str | None = None) -> DemoUser:
    return DemoUser(username, display_name, str(role), team, f"{username}@{DEMO_EMAIL_DOMAIN}")


DEMO_USERS: list[DemoUser] = [
    _user("admin", "Alex Admin", Role.ADMIN),
    _user("sofia", "Sofia Ramos", Role.SALES_HEAD, "Sales"),
    _user("marco", "Marco Bianchi", Role.MARKETING_HEAD, "Marketing"),
    _user("erin", "Erin Walsh", Role.EXEC),
    _user("ana", "Ana Souza", Role.SALES_REP, "Inbound East"),
    _user("ben", "Ben Carter", Role.SALES_REP, "Inbound East"),
    _user("chloe", "Chloe Martin", Role.SALES_REP, "Inbound East"),
    _user("dev", "Dev Patel", Role.SALES_REP, "Inbound West"),
    _user("eli", "Eli Brooks", Role.SALES_REP, "Inbound West"),
    _user("farah", "Farah Haddad", Role.SALES_REP, "Inbound West"),
    _user("mia", "Mia Jensen", Role.MARKETER, "Demand Gen"),
    _user("noah", "Noah Kim", Role.MARKETER, "Demand Gen"),
]

# Each team has a fast, an average and a slow rep, so team and rep breakdowns both differ.
REP_PACE: dict[str, RepPace] = {
    "ana": RepPace(first_touch_hours=0.6, spread=0.7, decision_hours=2.0),
    "dev": RepPace(first_touch_hours=1.0, spread=0.7, decision_hours=2.5),
    "ben": RepPace(first_touch_hours=2.2, spread=0.8, decision_hours=4.0),
    "eli": RepPace(first_touch_hours=3.0, spread=0.8, decision_hours=5.0),
    "chloe": RepPace(first_touch_hours=6.5, spread=1.0, decision_hours=10.0),
    "farah": RepPace(first_touch_hours=9.0, spread=1.1, decision_hours=14.0),
}
REPS = [user.username for user in DEMO_USERS if user.role == Role.SALES_REP]

# name: (share of MQLs, quality); quality scales score, acceptance, SQL and win rates.
CHANNELS = {
    "organic_search": (0.24, 1.0),
    "paid_search": (0.22, 0.9),
    "social": (0.14, 0.6),
    "email": (0.14, 0.85),
    "events": (0.08, 1.4),
    "referral": (0.08, 1.3),
    "partner": (0.10, 1.45),
}
# name: (share, median deal size, median business days from opportunity to close)
SEGMENTS = {
    "SMB": (0.58, 5_000, 12),
    "Mid-Market": (0.30, 20_000, 25),
    "Enterprise": (0.12, 80_000, 45),
}
REGIONS = {
    "North America": (0.55, ["United States", "United States", "United States", "Canada"]),
    "EMEA": (0.25, ["United Kingdom", "Germany", "France", "Netherlands", "Spain", "Sweden"]),
    "LATAM": (0.08, ["Brazil", "Mexico", "Argentina", "Chile", "Colombia"]),
    "APAC": (0.12, ["Australia", "Japan", "Singapore", "India", "New Zealand"]),
}
REJECTION_REASONS = [
    "not_a_fit", "no_budget", "duplicate", "recycled", "bad_contact_data", "student_or_job_seeker",
]
FIRST_NAMES = [
    "James", "Maria", "Liam", "Olivia", "Noah", "Emma", "Lucas", "Sophia", "Mateo", "Isabella",
    "Ethan", "Amelia", "Hiro", "Yuki", "Arjun", "Priya", "Lars", "Ingrid", "Pierre", "Camille",
    "Jonas", "Lena", "Diego", "Valentina", "Omar", "Aisha", "Chen", "Mei", "Daniel", "Grace",
    "Samuel", "Chloe", "Thomas", "Hannah", "Rafael", "Beatriz", "Kwame", "Zara", "Oscar", "Elena",
]
LAST_NAMES = [
    "Smith", "Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Jackson", "Lee", "Harris", "Clark", "Lewis", "Walker", "Young",
    "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Nelson", "Schmidt",
    "Müller", "Dubois", "Rossi", "Silva", "Santos", "Tanaka", "Sato", "Kumar", "Singh", "Nowak",
    "Larsen",
]
COMPANY_PREFIXES = [
    "North", "Blue", "Bright", "Silver", "Red", "Green", "Iron", "Clear", "Swift", "True", "Open",
    "High", "Cedar", "Maple", "Stone", "Summit", "Harbor", "River", "Sun", "Star", "Pine", "Oak",
    "Golden", "Peak", "Nova", "Apex", "Urban", "Atlas", "Lumen", "Vista",
]
COMPANY_ROOTS = [
    "wave", "path", "field", "point", "stack", "line", "bridge", "works", "ridge", "gate", "leaf",
    "shore", "forge", "light", "core", "mark", "wind", "bay", "view", "spring", "rock", "dale",
    "grid", "loop", "base",
]
COMPANY_KINDS = [
    "Labs", "Systems", "Logistics", "Health", "Analytics", "Foods", "Robotics", "Software",
    "Consulting", "Manufacturing", "Retail", "Energy", "Media", "Finance",
]
PERSONAL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com"]
LANDING_PAGES = ["/demo", "/pricing", "/contact", "/ebook/sla-playbook", "/webinar/handoff-101"]
CAMPAIGNS = ["always_on", "q_launch", "sla_playbook", "webinar_series", "retargeting"]

# Local MQL arrival weights: most on weekdays in office hours, few at night and at weekends.
WEEKDAY_WEIGHT = np.array([1.05, 1.1, 1.05, 1.0, 0.8, 0.25, 0.2])
HOUR_WEIGHT = np.array(
    [0.04] * 7 + [0.3, 0.75] + [1.0] * 3 + [0.8] + [1.0] * 4 + [0.75, 0.45] + [0.3] * 2 + [0.12] * 3
)
MQL_TREND = 0.35  # the last hour gets 35% more MQLs than the first: marketing is ramping up
BUSINESS_DAY_SECONDS = 9 * 3600
OPENING, CLOSING = time(9), time(18)

RECYCLED_SHARE = 0.04
RECYCLE_WINDOW_SECONDS = 90 * 86400
PERSONAL_EMAIL_SHARE = 0.05
AUTOMATED_EMAIL_SHARE = 0.93
NEVER_TOUCHED_SHARE = 0.03
UNDECIDED_SHARE = 0.04

DEMO_MQL_TARGET = 2_500
# About what the demo wins in a quarter once its pipeline has ramped up (~3.5M a month); the
# first quarter falls short, as a new funnel does.
DEMO_QUARTERLY_REVENUE = 10_000_000
DEMO_DISPUTES = [
    ("mia", "They downloaded the SLA playbook and asked for pricing: this is our ICP."),
    ("noah", "Mid-market logistics is exactly the segment we agreed to target."),
    ("mia", "Score 82 and two demo requests: please give it a call."),
]
DEMO_REVIEW = [
    ("marco", "Volume ramped up through the quarter as the new campaigns landed. Social drew the "
              "most rejections per lead, so we are tightening that audience."),
    ("sofia", "The first-touch misses sit mostly with Chloe and Farah, the slowest rep of each "
              "team; both have a coaching plan and a lighter queue next quarter."),
]
# The signed SLA's escalation ladder, which the worker carries out: warn the owner while the
# first touch can still be made in time, tell the head of sales when it is missed, and two
# business days past due hand the lead to the owner's team (the sales consequence it states).
DEMO_ESCALATIONS = [
    {"id": "warn-owner", "commitment": "first-touch", "trigger": "at_risk", "notify": ["owner"]},
    {"id": "tell-head", "commitment": "first-touch", "trigger": "breached",
     "notify": ["sales_head"]},
    {"id": "back-to-pool", "commitment": "first-touch", "trigger": "breached", "after": "2d",
     "notify": ["owner", "sales_head"], "action": {"reassign": "owner_team"}},
]
DEMO_NEGOTIATION = [
    ("sofia", "commitments[first-touch]",
     "2 business hours is not realistic for Inbound West until we hire. Can we meet at 3h?"),
    ("marco", "commitments[mql-volume]",
     "We can commit to 2,800 MQLs a month if the score threshold for an MQL stays at 60."),
    ("erin", None, "Please converge before the quarterly review."),
]


def seed_demo(
    session: Session, *, leads: int = 12_000, seed: int = 7, today: date | None = None
) -> DemoSummary:
    """Add the demo users, leads and touches that are not there yet; the caller commits."""
    users_added = _add_demo_users(session)
    leads_added = touches_added = 0
    if not _demo_leads_exist(session):
        today = today or clock.today()
        lead_frame, touch_frame = _generate(
            np.random.default_rng(seed), leads, today, _demo_now(today)
        )
        leads_added = _insert_leads(session, lead_frame)
        flag_recycled(session, pd.DataFrame({
            "email": lead_frame["email"], "company": lead_frame["company"],
            "mql_at": pd.to_datetime(lead_frame["mql"], unit="s", utc=True)}))
        touches_added = _insert_touches(session, lead_frame, touch_frame)
    agreements_added = _seed_agreement(session, today or clock.today())
    if leads_added:
        _seed_disputes(session)
    reviews_added = _seed_review(session, today or clock.today())
    nothing_added = (users_added == leads_added == touches_added == agreements_added ==
                     reviews_added == 0)
    return DemoSummary(users_added, leads_added, touches_added, already_seeded=nothing_added,
                       agreements_added=agreements_added, reviews_added=reviews_added)


def _seed_agreement(session: Session, today: date) -> int:
    """The SLA both heads signed for the demo history, and an amendment under negotiation."""
    if session.exec(select(Agreement.id).limit(1)).first() is not None:
        return 0
    people = {u.username: get_actor(session=session, username=u.username) for u in DEMO_USERS}
    marco, sofia, erin = people["marco"], people["sofia"], people["erin"]
    if None in (marco, sofia, erin):  # an operator changed the demo users: leave it to them
        return 0
    start = _period_start(today).astimezone(ZoneInfo(DEMO_TIMEZONE)).date()
    signed = _demo_document(start)
    first = agreements.create_agreement(session=session, actor=marco, document=signed)
    workflow = {"session": session, "agreement_id": first.agreement_id}
    agreements.submit(actor=marco, **workflow)
    read = {**workflow, "revision": first.revision}  # what the heads and the exec read
    agreements.approve(actor=marco, comment="Marketing can deliver this volume.", **read)
    agreements.approve(actor=sofia, comment="Sales will staff to these response times.", **read)
    agreements.sign(actor=erin, comment="Signed for the year.", **read)
    amendment = agreements.new_version(actor=marco, document=_demo_amendment(signed, today),
                                       **workflow)
    for author, clause, body in DEMO_NEGOTIATION:
        agreements.add_comment(actor=people[author], number=amendment.number, clause=clause,
                               body=body, **workflow)
    return 1


def _seed_review(session: Session, today: date) -> int:
    """The first demo quarter (once it is over), discussed by both heads and waiting for the
    exec's sign-off; nothing when any quarterly review exists already."""
    if session.exec(select(QuarterlyReview.id).limit(1)).first() is not None:
        return 0
    if not _demo_leads_exist(session):
        return 0
    people = {name: get_actor(session=session, username=name) for name in ("marco", "sofia")}
    if None in people.values():
        return 0
    first = _period_start(today).astimezone(ZoneInfo(DEMO_TIMEZONE))
    quarter = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    try:
        finished = reviews.last_finished_quarter(session=session, actor=OPERATOR)
    except (InvalidInput, AmbiguousAgreement):  # no signed agreement, or not the demo's alone
        return 0
    if quarter > finished:  # "2026-Q3" > "2026-Q2": the quarter is not over yet
        return 0
    for author, body in DEMO_REVIEW:
        reviews.comment(session=session, actor=people[author], quarter=quarter, body=body)
    return 1


def _seed_disputes(session: Session) -> None:
    """Marketing disputes a few recent rejections, so the heads have something to resolve."""
    rejected = session.exec(
        select(Lead.id).where(Lead.source == DEMO_SOURCE, Lead.rejection_reason == "not_a_fit")
        .order_by(Lead.rejected_at.desc()).limit(len(DEMO_DISPUTES))
    ).all()
    for lead_id, (marketer, comment) in zip(rejected, DEMO_DISPUTES, strict=False):
        lead_work.dispute_rejection(session=session, actor=get_actor(session=session,
                                                                 username=marketer),
                                lead_id=lead_id, comment=comment)


def _demo_document(start: date) -> sla.Document:
    """The signed demo SLA: a year from the start of the demo history, on the demo calendar."""
    data = sla.to_dict(sla.template(
        title=f"Sales–Marketing SLA {start.year}–{start.year + 1}", start=start,
        end=date(start.year + 1, start.month, 1), timezone=DEMO_TIMEZONE,
        mql_target=DEMO_MQL_TARGET,
    ))
    data["calendar"]["hours"] = {day: [["09:00", "18:00"]]
                                 for day in ("mon", "tue", "wed", "thu", "fri")}
    data["calendar"]["holidays"] = {"country": "US"}
    for goal in data["shared_goals"]:
        goal["target"] = DEMO_QUARTERLY_REVENUE
    data["escalations"] = DEMO_ESCALATIONS
    return sla.from_dict(data)


def _demo_amendment(signed: sla.Document, today: date) -> sla.Document:
    """Marketing's proposal: faster first touch in exchange for a higher MQL volume."""
    data = sla.to_dict(signed)
    first_of_next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    data["effective"]["start"] = first_of_next_month.isoformat()
    for commitment in data["commitments"]:
        if commitment["id"] == "first-touch":
            commitment["within"] = "2h"
        if commitment["id"] == "mql-volume":
            commitment["target"] = 2_800
    return sla.from_dict(data)


def _add_demo_users(session: Session) -> int:
    """Create the demo users that do not exist yet (existing ones keep their password)."""
    existing = set(session.exec(select(User.username)).all())
    missing = [user for user in DEMO_USERS if user.username not in existing]
    for user in missing:
        add_user(
            session=session, actor=OPERATOR, username=user.username,
            display_name=user.display_name, email=user.email, role=user.role,
            password=DEMO_PASSWORD, team=user.team,
        )
    return len(missing)


def _demo_leads_exist(session: Session) -> bool:
    """Whether any demo lead is already stored."""
    found = session.exec(select(Lead.id).where(Lead.source == DEMO_SOURCE).limit(1)).first()
    return found is not None


def _demo_now(today: date) -> datetime:
    """The demo's present: the end of `today` (UTC), but never later than the real now."""
    end_of_today = datetime.combine(today + timedelta(days=1), time(0), UTC)
    return min(end_of_today, clock.now())


def _period_start(today: date) -> datetime:
    """Local midnight of the first day of the quarter before today's, as an aware UTC instant."""
    quarter_month = 3 * ((today.month - 1) // 3) + 1
    year, month = (today.year, quarter_month - 3) if quarter_month > 3 else (today.year - 1, 10)
    local = pd.Timestamp(year=year, month=month, day=1).tz_localize(DEMO_TIMEZONE)
    return local.tz_convert(UTC).to_pydatetime()


class _BusinessClock:
    """Mon–Fri 09:00–18:00 in DEMO_TIMEZONE as UTC segments; maps instants to business time."""

    def __init__(self, first_day: date, last_day: date):
        days = pd.date_range(first_day, last_day, freq="D")
        days = days[days.day_of_week < 5]
        self.opens = _local_epoch(days, OPENING)
        self.closes = _local_epoch(days, CLOSING)
        self.lengths = self.closes - self.opens
        self.ends = np.cumsum(self.lengths)
        self.starts = self.ends - self.lengths

    def position(self, instants: np.ndarray) -> np.ndarray:
        """Business seconds since the calendar's start; after-hours instants wait for opening."""
        i = np.searchsorted(self.closes, instants, side="right").clip(max=len(self.closes) - 1)
        return self.starts[i] + np.clip(instants - self.opens[i], 0, self.lengths[i])

    def instant(self, positions: np.ndarray) -> np.ndarray:
        """The instant at which the given business seconds have elapsed."""
        i = np.searchsorted(self.ends, positions, side="left").clip(max=len(self.ends) - 1)
        return self.opens[i] + np.clip(positions - self.starts[i], 0, self.lengths[i])

    def add(self, instants: np.ndarray, business_seconds: np.ndarray) -> np.ndarray:
        """Instants plus business time, in whole seconds."""
        return np.floor(self.instant(self.position(instants) + business_seconds))


def _local_epoch(days: pd.DatetimeIndex, wall_clock: time) -> np.ndarray:
    """Epoch seconds of a local wall-clock time on each day."""
    offset = pd.Timedelta(hours=wall_clock.hour, minutes=wall_clock.minute)
    return _epoch((days + offset).tz_localize(DEMO_TIMEZONE))


def _epoch(index: pd.DatetimeIndex) -> np.ndarray:
    """Epoch seconds of aware timestamps, as floats (NaN marks "not happened")."""
    return index.as_unit("s").asi8.astype(float)


def _generate(
    rng: Rng, count: int, today: date, now: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo leads (stage times in epoch seconds, sorted by MQL) and their touches."""
    start = _period_start(today)
    # Long enough for every generated delay; whatever lands after `now` is dropped anyway.
    clock = _BusinessClock(start.date() - timedelta(days=7), today + timedelta(days=400))
    now_s = now.timestamp()
    leads = pd.DataFrame({"mql": _mql_instants(rng, count, start, now)})
    leads["owner"] = np.resize(np.array(REPS, dtype=object), count)  # round-robin
    _add_profile(rng, leads)
    _add_identity(rng, leads)
    _recycle_identities(rng, leads)
    leads["created"] = leads["mql"] - _created_lead_time(rng, count)
    _add_first_touch(rng, leads, clock, now_s)
    _add_decision(rng, leads, clock, now_s)
    _add_pipeline(rng, leads, clock, now_s)
    leads["attributes"] = _attributes(rng, leads)
    return leads, _touches(rng, leads, clock, now_s)


def _mql_instants(rng: Rng, count: int, start: datetime, now: datetime) -> np.ndarray:
    """Sorted MQL instants, weighted by local weekday and hour, with a mild upward trend."""
    hours = pd.date_range(start, now, freq="h")
    local = hours.tz_convert(DEMO_TIMEZONE)
    begins = _epoch(hours)
    lengths = np.minimum(3600.0, now.timestamp() - begins)  # the last hour may be partial
    progress = (begins - begins[0]) / max(begins[-1] - begins[0], 1.0)
    weights = (
        WEEKDAY_WEIGHT[local.day_of_week.to_numpy()]
        * HOUR_WEIGHT[local.hour.to_numpy()]
        * (1 + MQL_TREND * progress)
        * lengths
    )
    picked = rng.choice(len(hours), size=count, p=weights / weights.sum())
    return np.sort(np.floor(begins[picked] + rng.random(count) * lengths[picked]))


def _pick(rng: Rng, table: dict, count: int) -> np.ndarray:
    """Names drawn from a {name: (share, ...)} table."""
    names = np.array(list(table), dtype=object)
    shares = np.array([row[0] for row in table.values()])
    return rng.choice(names, size=count, p=shares / shares.sum())


def _add_profile(rng: Rng, leads: pd.DataFrame) -> None:
    """Channel, quality, segment, region, country and score."""
    count = len(leads)
    leads["channel"] = _pick(rng, CHANNELS, count)
    leads["quality"] = leads["channel"].map({name: row[1] for name, row in CHANNELS.items()})
    leads["segment"] = _pick(rng, SEGMENTS, count)
    leads["region"] = _pick(rng, REGIONS, count)
    country = np.empty(count, dtype=object)
    for region, (_, countries) in REGIONS.items():
        in_region = (leads["region"] == region).to_numpy()
        country[in_region] = rng.choice(countries, size=in_region.sum())
    leads["country"] = country
    score = rng.beta(5, 2, count) * 100 + (leads["quality"].to_numpy() - 1) * 20
    leads["score"] = np.round(np.clip(score, 0, 100))


def _add_identity(rng: Rng, leads: pd.DataFrame) -> None:
    """Person, company and email; a few people sign up with a personal address."""
    count = len(leads)
    first = rng.choice(FIRST_NAMES, count)
    last = rng.choice(LAST_NAMES, count)
    brand = pd.Series(rng.choice(COMPANY_PREFIXES, count)) + rng.choice(COMPANY_ROOTS, count)
    kind = pd.Series(rng.choice(COMPANY_KINDS, count))
    leads["name"] = pd.Series(first) + " " + last
    leads["company"] = brand + " " + kind
    personal = rng.random(count) < PERSONAL_EMAIL_SHARE
    domain = np.where(
        personal,
        rng.choice(PERSONAL_DOMAINS, count),
        (brand + "-" + kind + ".com").str.lower().to_numpy(dtype=object),
    )
    local_part = (pd.Series(first) + "." + last).str.lower().str.replace("ü", "u")
    leads["email"] = local_part + "@" + domain
    leads["personal_email"] = personal


def _recycle_identities(rng: Rng, leads: pd.DataFrame) -> None:
    """Make a few MQLs repeat an earlier original lead's person within 90 days."""
    mql = leads["mql"].to_numpy()
    chosen = rng.random(len(leads)) < RECYCLED_SHARE
    originals = np.flatnonzero(~chosen)
    repeats = np.flatnonzero(chosen)
    lows = np.searchsorted(mql[originals], mql[repeats] - RECYCLE_WINDOW_SECONDS, side="left")
    highs = np.searchsorted(mql[originals], mql[repeats], side="left")
    picks = lows + np.floor(rng.random(len(repeats)) * (highs - lows)).astype(int)
    has_earlier = highs > lows
    repeats, sources = repeats[has_earlier], originals[picks[has_earlier]]
    copied = ["name", "company", "email", "personal_email", "segment", "region", "country"]
    columns = [leads.columns.get_loc(name) for name in copied]
    leads.iloc[repeats, columns] = leads.iloc[sources, columns].to_numpy()
    recycled = np.zeros(len(leads), dtype=bool)
    recycled[repeats] = True
    leads["recycled"] = recycled


def _created_lead_time(rng: Rng, count: int) -> np.ndarray:
    """Seconds from lead creation to MQL: minutes after a form fill, days after nurturing."""
    nurtured = rng.random(count) < 0.45
    minutes = rng.lognormal(np.log(15), 1.0, count) * 60
    days = rng.lognormal(np.log(3), 1.0, count) * 86400
    return np.floor(np.where(nurtured, days, minutes)) + 1


def _pace(leads: pd.DataFrame, field: str) -> np.ndarray:
    """A RepPace field for each lead's owner."""
    by_rep = {rep: getattr(pace, field) for rep, pace in REP_PACE.items()}
    return leads["owner"].map(by_rep).to_numpy(dtype=float)


def _business_hours(
    rng: Rng, median: np.ndarray | float, spread: np.ndarray | float, count: int
) -> np.ndarray:
    """Lognormal business delays in seconds, at least one minute."""
    hours = np.asarray(median, dtype=float) * np.exp(np.asarray(spread) * rng.normal(size=count))
    return np.maximum(hours * 3600, 60.0)


def _happened(instants: np.ndarray, now: float) -> np.ndarray:
    """The instants that are not in the future; later ones become NaN."""
    return np.where(instants <= now, instants, np.nan)


def _add_first_touch(rng: Rng, leads: pd.DataFrame, clock: _BusinessClock, now: float) -> None:
    """First human touch after each rep's characteristic business-hours delay."""
    count = len(leads)
    delay = _business_hours(
        rng, _pace(leads, "first_touch_hours"), _pace(leads, "spread"), count
    )
    first_touch = clock.add(leads["mql"].to_numpy(), delay)
    first_touch[rng.random(count) < NEVER_TOUCHED_SHARE] = np.nan
    leads["first_touch"] = _happened(first_touch, now)


def _add_decision(rng: Rng, leads: pd.DataFrame, clock: _BusinessClock, now: float) -> None:
    """Accept or reject after the first touch; recycled, junk and low-score leads get rejected."""
    count = len(leads)
    quality = leads["quality"].to_numpy()
    low_score = leads["score"].to_numpy() < 45
    personal = leads["personal_email"].to_numpy(dtype=bool)
    recycled = leads["recycled"].to_numpy()
    reject_chance = np.clip(0.11 / quality**1.5 + 0.25 * low_score + 0.4 * personal, 0, 0.9)
    reject_chance = np.where(recycled, 0.85, reject_chance)
    rejected = rng.random(count) < reject_chance
    undecided = rng.random(count) < UNDECIDED_SHARE
    delay = _business_hours(rng, _pace(leads, "decision_hours"), 0.8, count)
    decided_at = _happened(clock.add(leads["first_touch"].to_numpy(), delay), now)
    decided_at[undecided] = np.nan
    decided = ~np.isnan(decided_at)
    leads["accepted"] = np.where(decided & ~rejected, decided_at, np.nan)
    leads["rejected"] = np.where(decided & rejected, decided_at, np.nan)
    reasons = _rejection_reasons(rng, recycled, low_score, personal)
    leads["rejection_reason"] = np.where(decided & rejected, reasons, None)


def _rejection_reasons(
    rng: Rng, recycled: np.ndarray, low_score: np.ndarray, personal: np.ndarray
) -> np.ndarray:
    """A plausible reason per lead, depending on why it would be rejected."""
    count = len(recycled)
    shares = np.tile([0.3, 0.28, 0.1, 0.05, 0.17, 0.1], (count, 1))
    shares[low_score] = [0.65, 0.15, 0.05, 0.02, 0.08, 0.05]
    shares[personal] = [0.1, 0.05, 0.05, 0.0, 0.4, 0.4]
    shares[recycled] = [0.02, 0.0, 0.3, 0.65, 0.03, 0.0]
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    picks = (rng.random((count, 1)) > cumulative).sum(axis=1).clip(max=len(REJECTION_REASONS) - 1)
    return np.array(REJECTION_REASONS, dtype=object)[picks]


def _add_pipeline(rng: Rng, leads: pd.DataFrame, clock: _BusinessClock, now: float) -> None:
    """SQL, opportunity (with its expected amount), then won or lost weeks later."""
    count = len(leads)
    quality = leads["quality"].to_numpy()
    segment = leads["segment"]
    score = leads["score"].to_numpy()
    becomes_sql = rng.random(count) < np.clip(0.38 * quality * (0.5 + score / 140), 0, 0.9)
    becomes_opportunity = rng.random(count) < 0.82
    won = rng.random(count) < np.clip(0.28 * quality**0.7, 0, 0.7)
    lost = ~won & (rng.random(count) < 0.9)  # the rest stall: open opportunities with no close
    sql_delay = _business_hours(rng, 4 * 9, 0.6, count)
    opportunity_delay = _business_hours(rng, 3 * 9, 0.5, count)
    close_days = segment.map({name: row[2] for name, row in SEGMENTS.items()}).to_numpy()
    close_delay = _business_hours(rng, close_days * 9, 0.4, count)
    median_amount = segment.map({name: row[1] for name, row in SEGMENTS.items()}).to_numpy()
    amount = np.round(median_amount * rng.lognormal(0, 0.55, count), -2)

    sql = _happened(clock.add(leads["accepted"].to_numpy(), sql_delay), now)
    sql[~becomes_sql] = np.nan
    opportunity = _happened(clock.add(sql, opportunity_delay), now)
    opportunity[~becomes_opportunity] = np.nan
    closed = _happened(clock.add(opportunity, close_delay), now)
    leads["sql"] = sql
    leads["opportunity"] = opportunity
    leads["won"] = np.where(won, closed, np.nan)
    leads["lost"] = np.where(lost, closed, np.nan)
    leads["amount"] = np.where(np.isnan(opportunity), np.nan, amount)


def _attributes(rng: Rng, leads: pd.DataFrame) -> list[dict]:
    """Extra columns a CRM export carries: landing page and campaign."""
    pages = rng.choice(LANDING_PAGES, len(leads))
    campaigns = rng.choice(CAMPAIGNS, len(leads))
    return [
        {"landing_page": page, "utm_campaign": f"{channel}_{campaign}"}
        for page, channel, campaign in zip(
            pages.tolist(), leads["channel"], campaigns.tolist(), strict=True
        )
    ]


def _touches(rng: Rng, leads: pd.DataFrame, clock: _BusinessClock, now: float) -> pd.DataFrame:
    """An automated email right after the MQL, then 1–5 human touches over business days."""
    count = len(leads)
    automated = rng.random(count) < AUTOMATED_EMAIL_SHARE
    automated_at = leads["mql"].to_numpy() + rng.integers(20, 300, count)
    attempts = rng.choice([1, 2, 3, 4, 5], size=count, p=[0.25, 0.25, 0.22, 0.16, 0.12])
    gaps = _business_hours(rng, 7.0, 0.6, count * 4).reshape(count, 4)
    offsets = np.concatenate([np.zeros((count, 1)), np.cumsum(gaps, axis=1)], axis=1)
    human_at = clock.add(leads["first_touch"].to_numpy()[:, None], offsets)
    kinds = rng.choice(["call", "email", "meeting"], size=(count, 5), p=[0.5, 0.35, 0.15])
    kinds[:, 0] = np.where(rng.random(count) < 0.65, "call", "email")
    planned = np.arange(5)[None, :] < attempts[:, None]
    after_rejection = human_at > leads["rejected"].to_numpy()[:, None]
    human = planned & ~after_rejection & (human_at <= now)
    human_lead = np.repeat(np.arange(count)[:, None], 5, axis=1)
    automated &= automated_at <= now
    touches = pd.DataFrame({
        "lead": np.concatenate([np.flatnonzero(automated), human_lead[human]]),
        "at": np.concatenate([automated_at[automated], human_at[human]]),
        "kind": np.concatenate([np.full(automated.sum(), "email"), kinds[human]]),
        "automated": np.concatenate([np.ones(automated.sum(), bool), np.zeros(human.sum(), bool)]),
    })
    # (lead, at, kind, rep) is unique in the database, and a lead's touches share one rep.
    return touches.drop_duplicates(["lead", "at", "kind"]).sort_values(["lead", "at"])


STAGE_TIMES = {"created_at": "created", "mql_at": "mql", "accepted_at": "accepted",
               "rejected_at": "rejected", "sql_at": "sql", "opportunity_at": "opportunity",
               "won_at": "won", "lost_at": "lost"}
PROFILE_COLUMNS = ["rejection_reason", "amount", "attributes", "owner", "channel", "segment",
                   "region", "country", "company", "name", "email", "score"]


def _instants(seconds: pd.Series) -> pd.Series:
    """Aware UTC timestamps from epoch seconds (NaN becomes NaT)."""
    return pd.to_datetime(seconds, unit="s", utc=True)


def _insert_leads(session: Session, leads: pd.DataFrame) -> int:
    """Bulk-insert the demo leads."""
    frame = leads[PROFILE_COLUMNS].assign(
        source=DEMO_SOURCE, external_id=_external_ids(len(leads)), recycled=False,
        **{column: _instants(leads[name]) for column, name in STAGE_TIMES.items()})
    return insert_frame(session, Lead.__table__, frame)


def _external_ids(count: int) -> list[str]:
    """D-000001, D-000002, … in MQL order."""
    return [f"D-{number:06d}" for number in range(1, count + 1)]


def _insert_touches(session: Session, leads: pd.DataFrame, touches: pd.DataFrame) -> int:
    """Bulk-insert the touches against the ids the leads got."""
    ids = dict(
        session.exec(
            select(Lead.external_id, Lead.id).where(Lead.source == DEMO_SOURCE)
        ).all()
    )
    lead_ids = np.array([ids[external_id] for external_id in _external_ids(len(leads))])
    positions = touches["lead"].to_numpy()
    frame = pd.DataFrame({
        "lead_id": lead_ids[positions], "at": _instants(touches["at"]),
        "kind": touches["kind"].to_numpy(), "rep": leads["owner"].to_numpy()[positions],
        "automated": touches["automated"].to_numpy(),
    })
    return insert_frame(session, Touch.__table__, frame)
