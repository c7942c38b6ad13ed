"""Compliance reports: load the period's leads and touches, then measure them (core.compliance)."""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session, col, select

from core import agreement as sla
from core import clock, compliance, limits
from core.errors import InvalidInput
from core.permissions import Action, require
from core.services.accounts import Actor
from core.services.agreements import SIGNED_STATES
from db.bulk import fetch_frame
from db.models import AgreementVersion, Dispute, Lead, Touch

LEAD_COLUMNS = [
    "id", "source", "external_id", "created_at", "mql_at", "accepted_at", "rejected_at",
    "rejection_reason", "sql_at", "opportunity_at", "won_at", "lost_at", "owner", "channel",
    "segment", "region", "country", "company", "name", "email", "score", "amount", "recycled",
    "attributes",
]
STAGE_COLUMNS = ["created_at", "mql_at", "accepted_at", "rejected_at", "sql_at",
                 "opportunity_at", "won_at"]


class AmbiguousAgreement(ValueError):
    """Several agreements have signed versions and none was named (a usage error)."""


@dataclass(frozen=True)
class ReportScope:
    """What a report measures: the agreement and its version in force at the period's start
    (commitments, targets, calendar), every signed version in signing order (each clock is
    measured against the one in force at its own start), the period and as_of."""

    agreement_id: int
    version: int
    document: sla.Document
    period: compliance.Period
    as_of: pd.Timestamp
    versions: tuple[compliance.InForce, ...] = ()
    timezone: str = "UTC"  # periods are read in the latest signed version's zone

    @property
    def agreement(self) -> dict:
        """The report's `agreement` object."""
        return {"id": self.agreement_id, "version": self.version, "title": self.document.title}


def report_scope(
    *, session: Session, actor: Actor, period: str | None = None,
    agreement_id: int | None = None, as_of: str | datetime | None = None,
    trailing_days: int | None = None,
) -> ReportScope:
    """Resolve the agreement (the only signed one by default), the period (text such as
    "2018-03", or else the `trailing_days` up to as_of) and as_of."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    signed = session.exec(
        select(AgreementVersion).where(col(AgreementVersion.state).in_(SIGNED_STATES))
        .order_by(col(AgreementVersion.signed_at), col(AgreementVersion.number))
    ).all()
    if agreement_id is None:
        agreement_ids = {v.agreement_id for v in signed}
        if len(agreement_ids) > 1:
            listed = ", ".join(str(i) for i in sorted(agreement_ids))
            raise AmbiguousAgreement(
                f"several agreements have signed versions ({listed}): pass --agreement ID")
        if not agreement_ids:
            raise InvalidInput("agreement", "no agreement has a signed version yet")
        agreement_id = agreement_ids.pop()
    versions = [v for v in signed if v.agreement_id == agreement_id]
    if not versions:
        raise InvalidInput("agreement", f"agreement {agreement_id} has no signed version")
    zone = versions[-1].document["calendar"]["timezone"]  # the latest signed version's zone
    instant = _as_of(as_of, zone)
    if period is None and trailing_days is not None:
        window = compliance.Period(instant - pd.Timedelta(days=trailing_days),
                                   instant + pd.Timedelta(seconds=1))
    else:
        try:
            window = compliance.parse_period(period, zone)
        except ValueError as error:
            raise InvalidInput("period", str(error)) from None
    in_force = _in_force(versions, window.start, zone)
    governing = tuple(compliance.InForce(v.number, sla.from_dict(v.document)) for v in versions)
    return ReportScope(agreement_id, in_force.number, sla.from_dict(in_force.document), window,
                       instant, governing, zone)


def current_month(*, session: Session, actor: Actor, as_of: str | datetime | None = None,
                  agreement_id: int | None = None) -> str:
    """The month ("2026-11") holding as_of in the agreement's calendar zone."""
    scope = report_scope(session=session, actor=actor, as_of=as_of, agreement_id=agreement_id,
                         trailing_days=0)
    return f"{scope.as_of.tz_convert(scope.timezone):%Y-%m}"


def report(
    *, session: Session, actor: Actor, scope: ReportScope, by: str | None = None
) -> dict:
    """The DESIGN §6 report object for a scope."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    leads, touches = load_frames(session, scope)
    return compliance.report(scope.document, leads, touches, scope.period, scope.as_of, by=by,
                             agreement=scope.agreement, versions=list(scope.versions))


def clock_detail(*, session: Session, actor: Actor, scope: ReportScope) -> pd.DataFrame:
    """One row per lead and clock commitment, with the version each clock was measured against."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    leads, touches = load_frames(session, scope)
    return compliance.clock_detail(scope.document, leads, touches, scope.period, scope.as_of,
                                   agreement_version=scope.version, versions=list(scope.versions))


def what_if(*, session: Session, actor: Actor, scope: ReportScope, version: int,
            by: str | None = None) -> dict:
    """The report the scope's period would have had if version `version` of the agreement (a
    draft, typically) had governed every lead. The object is the `report` one, its `agreement`
    naming that version, plus `what_if: {"version", "state"}`."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    candidate = _version(session, scope.agreement_id, version)
    leads, touches = load_frames(session, scope)
    result = what_if_evaluation(scope, leads, touches, sla.from_dict(candidate.document),
                                version).report(by)
    return {**result, "what_if": {"version": version, "state": candidate.state}}


def what_if_evaluation(scope: ReportScope, leads: pd.DataFrame, touches: pd.DataFrame,
                       document: sla.Document, number: int) -> compliance.Evaluation:
    """The scope's leads measured against one version's document (numbered `number`)."""
    return compliance.evaluate(
        document, leads, touches, scope.period, scope.as_of,
        agreement={"id": scope.agreement_id, "version": number, "title": document.title})


def version_document(*, session: Session, actor: Actor, agreement_id: int,
                     number: int) -> sla.Document:
    """The document of any version of an agreement (a draft for what-if, say)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return sla.from_dict(_version(session, agreement_id, number).document)


def _version(session: Session, agreement_id: int, number: int) -> AgreementVersion:
    version = session.exec(select(AgreementVersion).where(
        AgreementVersion.agreement_id == agreement_id, AgreementVersion.number == number)).first()
    if version is None:
        raise InvalidInput("version", f"agreement {agreement_id} has no version {number}")
    return version


def load_frames(session: Session, scope: ReportScope, owner: str | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads with any stage inside the period (only `owner`'s when given), and their touches
    up to as_of, as the frames core.compliance reads."""
    start, end = scope.period.start.to_pydatetime(), scope.period.end.to_pydatetime()
    in_period = [(Lead.__table__.c[name] >= start) & (Lead.__table__.c[name] < end)
                 for name in STAGE_COLUMNS]
    condition = in_period[0]
    for clause in in_period[1:]:
        condition = condition | clause
    if owner is not None:
        condition = condition & (Lead.__table__.c.owner == owner)
    leads = fetch_frame(session, Lead.__table__, LEAD_COLUMNS, condition)  # timestamps: UTC
    for name in ("score", "amount"):
        leads[name] = pd.to_numeric(leads[name], errors="coerce").astype("float64")
    leads["recycled"] = leads["recycled"].astype(bool)
    disputed = set(session.exec(select(Dispute.lead_id).where(Dispute.state == "open")).all())
    leads["disputed"] = leads["id"].isin(disputed)
    ids = leads["id"].astype(int).tolist()
    chunks = [fetch_frame(session, Touch.__table__, ["lead_id", "at", "kind", "rep",
                                                     "automated"],
                          col(Touch.lead_id).in_(ids[i:i + 5000]),
                          Touch.at <= scope.as_of.to_pydatetime())
              for i in range(0, len(ids), 5000)]
    touches = pd.concat(chunks) if chunks else fetch_frame(
        session, Touch.__table__, ["lead_id", "at", "kind", "rep", "automated"],
        Touch.id.is_(None))
    touches["automated"] = touches["automated"].astype(bool)
    return leads, touches


def _in_force(versions: list[AgreementVersion], instant: pd.Timestamp,
              zone: str) -> AgreementVersion:
    """The latest-signed version whose effective range contains the instant's local date."""
    day = instant.tz_convert(zone).date()
    covering = [v for v in versions if v.effective_start <= day < v.effective_end]
    return (covering or versions)[-1]


def _as_of(value: str | datetime | None, zone: str) -> pd.Timestamp:
    """as_of in UTC; a naive or date-only value is read in the calendar zone."""
    if value is None:
        return pd.Timestamp(clock.now())
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise InvalidInput("as_of", f"'{value}' is not an ISO 8601 instant or date") from None
    if not limits.DATE_FIRST_YEAR <= stamp.year <= limits.DATE_LAST_YEAR:
        raise InvalidInput("as_of", f"'{value}' is not within the years "
                           f"{limits.DATE_FIRST_YEAR} to {limits.DATE_LAST_YEAR}")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(ZoneInfo(zone), nonexistent="shift_forward",
                                  ambiguous=True)
    return stamp.tz_convert("UTC")
