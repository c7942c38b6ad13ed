"""Quarterly reviews (DESIGN §2 QuarterReview, §6 `review`): a quarter's scorecard, its
discussion, and an exec's sign-off on a frozen snapshot of the quarter's report.

A review row is created lazily (state `open`) by the first write on a quarter: a comment, a
sign-off or a send-back. Signing freezes the live `report` object as it is at that instant; later
imports never change what was signed, and `show` lists the figures that have moved since.
"""

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from core import compliance, csv_safe, dashboard, periods
from core.errors import InvalidInput
from core.json_values import plain_json
from core.permissions import Action, require
from core.services import measurement, workflow_notices, workspace
from core.services.accounts import Actor, display_names
from core.services.agreements import WorkflowError
from core.services.audit import record
from core.services.measurement import Scope
from core.services.validation import bounded_text
from core.wording import DEFAULT_CURRENCY
from db import locks
from db.models import QuarterlyReview, ReviewComment, utcnow

STATES = ("open", "signed", "sent_back")
STATE_WORDS = {"open": "Open", "signed": "Signed off", "sent_back": "Sent back"}
TREND_QUARTERS = 3
TOP_CAUSES = 5
CAUSES_WORDS = {True: "as signed off", False: "live"}
CLOCK_KINDS = ("response", "attempts")
# Fields that describe a commitment rather than measure it: never listed as "moved".
DESCRIPTIVE = {"id", "owner", "kind", "stage", "per", "metric", "within", "within_seconds",
               "attempts"}
# The key a pseudo report item needs for `dashboard.score_value` to read a trend value back.
SCORE_KEY = {"response": "compliance_pct", "attempts": "compliance_pct",
             "acceptance_rate": "acceptance_pct"}


# --- reading ----------------------------------------------------------------------------------


def show(*, session: Session, actor: Actor, quarter: str, agreement_id: int | None = None,
         as_of: str | datetime | None = None) -> dict:
    """The review of a quarter, as `review show --format json` prints it:

    `quarter`, `agreement` ({id, version, title}), `state` (open | signed | sent_back),
    `scorecard` (the report object: the snapshot once signed, else live as of `as_of`),
    `live` (the live report when signed, else None), `comments` (oldest first: author,
    author_name, role, at, body, kind), `signed_by`, `signed_by_name`, `signed_at`,
    `changed_since_signoff` ([{figure, signed, now}]), `trend` (the three quarters before:
    [{quarter, id, kind, value_pct, status, signed}]), `causes` (the reps and channels with the
    most breached clocks per response/attempts commitment, and the rejection reasons: frozen
    with the snapshot once signed, else live) and `causes_signed` (whether they are the frozen
    ones; reviews signed before causes were frozen show live causes), `names` (the display
    name of each username above), `currency` (the workspace's, for amounts). Timestamps are
    ISO 8601 UTC strings.
    """
    require(actor.role, Action.VIEW_DASHBOARDS)
    quarter = _quarter(quarter)
    scope = measurement.scope(session=session, actor=actor, period=quarter,
                              agreement_id=agreement_id, as_of=as_of)
    evaluation = measurement.measure(session=session, actor=actor, scope=scope)
    live = plain_json(evaluation.report())
    review = _find(session, scope.agreement_id, quarter)
    signed = review is not None and review.state == "signed" and review.snapshot is not None
    scorecard = review.snapshot if signed else live
    causes_signed = signed and review.causes is not None
    comments = _comments(session, review)
    causes = review.causes if causes_signed else _causes(evaluation, live)
    names = display_names(session, {c.author for c in comments} |
                          {row["rep"] for row in causes["reps"]} |
                          ({review.signed_by} if review and review.signed_by else set()))
    return {
        "quarter": quarter,
        "agreement": scorecard["agreement"],
        "state": review.state if review else "open",
        "scorecard": scorecard,
        "live": live if signed else None,
        "comments": [_comment_view(c, names) for c in comments],
        "signed_by": review.signed_by if signed else None,
        "signed_by_name": names.get(review.signed_by) if signed else None,
        "signed_at": _iso(review.signed_at) if signed else None,
        "changed_since_signoff": changed_figures(scorecard, live) if signed else [],
        "trend": _trend(session, actor, scope, quarter),
        "causes": causes,
        "causes_signed": causes_signed,
        "names": names,
        "currency": workspace.currency(session=session, actor=actor),
    }


def quarters(*, session: Session, actor: Actor, agreement_id: int | None = None,
             as_of: str | datetime | None = None, limit: int = 12) -> list[str]:
    """The agreement's quarters, newest first: from the one holding as_of (in the calendar
    zone) back to the first one its signed versions cover, at most `limit`."""
    agreement = measurement.context(session=session, actor=actor, agreement_id=agreement_id,
                                    as_of=as_of)
    listed = [periods.quarter_of(agreement.local(agreement.as_of))]
    while len(listed) < limit:
        before = periods.previous_period(listed[-1])
        if not _covered(agreement.versions, agreement.timezone, before):
            break
        listed.append(before)
    return listed


def last_finished_quarter(*, session: Session, actor: Actor, agreement_id: int | None = None,
                          as_of: str | datetime | None = None) -> str:
    """The quarter before the one holding as_of, in the agreement's calendar zone."""
    current = quarters(session=session, actor=actor, agreement_id=agreement_id, as_of=as_of,
                       limit=1)[0]
    return periods.previous_period(current)


def scorecard_rows(review: dict) -> pd.DataFrame:
    """The review's scorecard as `core.dashboard.scorecard` rows, trends against the quarter
    before (its signed figures when it was signed)."""
    return dashboard.scorecard(review["scorecard"], _previous_report(review),
                               review.get("currency", DEFAULT_CURRENCY))


def text_summary(review: dict) -> str:
    """The review as `review show --format text` prints it: state, scorecard, drift, comments."""
    report = review["scorecard"]
    agreement = report["agreement"]
    lines = [f"Quarterly review {review['quarter']} — {agreement['title']} "
             f"(agreement {agreement['id']}, version {agreement['version']})"]
    if review["state"] == "signed":
        lines.append(f"State: signed off by {review['signed_by']} at {review['signed_at']}; "
                     f"the scorecard is frozen as of {report['as_of']}")
    else:
        lines.append(f"State: {STATE_WORDS[review['state']].lower()}; live figures as of "
                     f"{report['as_of']}")
    lines.append("Scorecard:")
    rows = scorecard_rows(review)
    width = max([len(name) for name in rows["id"]] + [0])
    lines += [f"  {row.id:<{width}}  {row.status_words:<11}  {row.headline}"
              for row in rows.itertuples()]
    if changes := review["changed_since_signoff"]:
        lines.append(f"Changed since sign-off ({len(changes)}):")
        lines += [f"  {c['figure']}: {c['signed']} -> {c['now']}" for c in changes]
    causes = dashboard.cause_lines(review["causes"])
    lines.append(f"Causes of the misses ({CAUSES_WORDS[review['causes_signed']]}):")
    lines += [f"  {line}" for line in causes] or ["  none"]
    lines.append(f"Comments ({len(review['comments'])}):")
    kinds = {"comment": "", "sign": " [sign-off]", "send_back": " [sent back]"}
    lines += [f"  {c['at']} {c['author']} ({c['role']}){kinds.get(c['kind'], '')}: {c['body']}"
              for c in review["comments"]]
    return "\n".join(lines)


def trend_frame(review: dict) -> pd.DataFrame:
    """Each commitment's and goal's figure per quarter: the earlier quarters, then the reviewed
    one (its scorecard). Columns: quarter, id, value_pct."""
    report = review["scorecard"]
    rows = [{"quarter": row["quarter"], "id": row["id"], "value_pct": row["value_pct"]}
            for row in review["trend"]]
    rows += [{"quarter": review["quarter"], "id": item["id"],
              "value_pct": dashboard.judged_value(item)[0]}  # a running quarter: its pace
             for item in report["commitments"] + report["shared_goals"]]
    return pd.DataFrame(rows, columns=["quarter", "id", "value_pct"])


def trend_table(review: dict) -> pd.DataFrame:
    """The trend as a table: one row per commitment and goal, one column per quarter."""
    frame = trend_frame(review)
    order = list(dict.fromkeys(frame.loc[frame["quarter"] == review["quarter"], "id"]))
    order += [name for name in dict.fromkeys(frame["id"]) if name not in order]
    table = frame.pivot_table(index="id", columns="quarter", values="value_pct",
                              aggfunc="first", dropna=False)
    return table.reindex(order).rename_axis(columns=None).reset_index()


def quarter_over(review: dict) -> bool:
    """Whether the reviewed quarter had ended at the scorecard's as_of."""
    report = review["scorecard"]
    return report["as_of"] >= report["period"]["end"]


def scorecard_csv(review: dict) -> str:
    """The scorecard rows as CSV, one row per commitment and shared goal."""
    frame = scorecard_rows(review)
    frame.insert(0, "quarter", review["quarter"])
    frame.insert(1, "state", review["state"])
    return csv_safe.frame_csv(frame)


def csv(*, session: Session, actor: Actor, quarter: str,
        agreement_id: int | None = None) -> str:
    """The quarter's scorecard rows (signed snapshot, else live) as CSV."""
    return scorecard_csv(show(session=session, actor=actor, quarter=quarter,
                              agreement_id=agreement_id))


def pdf(*, session: Session, actor: Actor, quarter: str,
        agreement_id: int | None = None) -> bytes:
    """The signed review as a PDF; a quarter not signed off yet has none (WorkflowError)."""
    from core.review_pdf import build_pdf  # fpdf2 and vl-convert load only when needed

    review = show(session=session, actor=actor, quarter=quarter, agreement_id=agreement_id)
    if review["state"] != "signed":
        raise WorkflowError(f"{review['quarter']} is not signed off yet: only a signed review "
                            "has a PDF")
    return build_pdf(review)


def changed_figures(signed: dict, now: dict) -> list[dict]:
    """The figures of two report objects that differ: [{figure, signed, now}], where figure
    reads like "commitments.first-touch.compliance_pct" or "quality.rejection_reasons.duplicate".
    """
    before, after = _figures(signed), _figures(now)
    names = list(before) + [name for name in after if name not in before]
    return [{"figure": name, "signed": before.get(name), "now": after.get(name)}
            for name in names if before.get(name) != after.get(name)]


# --- writing ----------------------------------------------------------------------------------


def comment(*, session: Session, actor: Actor, quarter: str, body: str,
            agreement_id: int | None = None) -> dict:
    """Add a comment to a quarter's review (created, open, on the first write); a signed
    review's discussion is closed."""
    require(actor.role, Action.COMMENT)
    quarter = _quarter(quarter)
    text = bounded_text("comment", body, "a comment needs some text")
    scope = _write_scope(session, actor, quarter, agreement_id)
    review = _unsigned_review(session, scope, quarter, "its discussion closed then")
    entry = _add_entry(session, review, actor, text, "comment")
    record(session, actor=actor.username, action="review.comment",
           object_type="quarterly_review", object_id=_object_id(review),
           after={"body": text})
    workflow_notices.mentions(session, actor, text, f"the {quarter} review", "/review")
    return _comment_view(entry, {actor.username: actor.display_name})


def sign(*, session: Session, actor: Actor, quarter: str, comment: str | None = None,
         agreement_id: int | None = None) -> dict:
    """An exec signs a finished quarter off: the live report is frozen as the snapshot."""
    require(actor.role, Action.SIGN_OFF)
    quarter = _quarter(quarter)
    scope = _write_scope(session, actor, quarter, agreement_id)
    if scope.as_of < scope.period.end:
        last_day = (scope.period.end.tz_convert(scope.timezone) - pd.Timedelta(days=1)).date()
        raise WorkflowError(f"{quarter} is not over yet (its last day is {last_day:%d %b %Y}): "
                            "a quarter can be signed off once it has ended")
    text = bounded_text("comment", comment, required=None)
    review = _unsigned_review(session, scope, quarter, "it is signed once")
    before = {"state": review.state}
    evaluation = measurement.measure(session=session, actor=actor, scope=scope)
    review.snapshot = plain_json(evaluation.report())
    review.causes = _causes(evaluation, review.snapshot)
    review.state = "signed"
    review.signed_by = actor.username
    review.signed_at = utcnow()
    session.add(review)
    if text:
        _add_entry(session, review, actor, text, "sign")
    session.flush()
    after: dict[str, Any] = {"state": "signed", "as_of": review.snapshot["as_of"]}
    if text:
        after["comment"] = text
    record(session, actor=actor.username, action="review.sign", object_type="quarterly_review",
           object_id=_object_id(review), before=before, after=after)
    return _summary(review)


def _unsigned_review(session: Session, scope: Scope, quarter: str,
                     refusal: str) -> QuarterlyReview:
    """The quarter's review (created on first use), refused once it is signed."""
    review = _get_or_create(session, scope.agreement_id, quarter)
    if review.state == "signed":
        signer = display_names(session, {review.signed_by}).get(review.signed_by, review.signed_by)
        raise WorkflowError(f"{quarter} was already signed off by {signer} on "
                            f"{review.signed_at:%d %b %Y}: {refusal}")
    return review


def send_back(*, session: Session, actor: Actor, quarter: str, comment: str,
              agreement_id: int | None = None) -> dict:
    """An exec sends a quarter's review back to the heads, saying why; it can be signed later."""
    require(actor.role, Action.SIGN_OFF)
    quarter = _quarter(quarter)
    text = bounded_text("comment", comment, "say what the heads should look at before sign-off")
    scope = _write_scope(session, actor, quarter, agreement_id)
    review = _unsigned_review(session, scope, quarter, "a signed review cannot be sent back")
    before = {"state": review.state}
    review.state = "sent_back"
    session.add(review)
    _add_entry(session, review, actor, text, "send_back")
    record(session, actor=actor.username, action="review.send_back",
           object_type="quarterly_review", object_id=_object_id(review), before=before,
           after={"state": "sent_back", "comment": text})
    workflow_notices.review_sent_back(session, actor, quarter, text)
    return _summary(review)


# --- helpers ----------------------------------------------------------------------------------


def _quarter(text: str) -> str:
    """A quarter written "2026-Q3", else InvalidInput."""
    try:
        return periods.normal_quarter(text)
    except ValueError:
        raise InvalidInput("quarter", f"'{text}' is not a quarter such as 2026-Q3") from None


def _write_scope(session: Session, actor: Actor, quarter: str,
                 agreement_id: int | None) -> Scope:
    """The agreement (the only signed one by default) and the quarter, as of now."""
    return measurement.scope(session=session, actor=actor, period=quarter,
                             agreement_id=agreement_id)


def _find(session: Session, agreement_id: int, quarter: str,
          for_update: bool = False) -> QuarterlyReview | None:
    query = select(QuarterlyReview).where(QuarterlyReview.agreement_id == agreement_id,
                                          QuarterlyReview.quarter == quarter)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def _get_or_create(session: Session, agreement_id: int, quarter: str) -> QuarterlyReview:
    """The quarter's review, locked for the write; a new open one on the first write."""
    locks.hold(session, f"review:{agreement_id}:{quarter}")
    review = _find(session, agreement_id, quarter, for_update=True)
    if review is None:
        review = QuarterlyReview(agreement_id=agreement_id, quarter=quarter, state="open")
        session.add(review)
        session.flush()
    return review


def _add_entry(session: Session, review: QuarterlyReview, actor: Actor, body: str,
               kind: str) -> ReviewComment:
    entry = ReviewComment(review_id=review.id, author=actor.username, role=str(actor.role),
                          body=body, kind=kind)
    session.add(entry)
    session.flush()
    return entry


def _comments(session: Session, review: QuarterlyReview | None) -> list[ReviewComment]:
    if review is None:
        return []
    return list(session.exec(
        select(ReviewComment).where(ReviewComment.review_id == review.id)
        .order_by(col(ReviewComment.at), col(ReviewComment.id))
    ).all())


def _comment_view(entry: ReviewComment, names: dict[str, str]) -> dict:
    return {"author": entry.author, "author_name": names.get(entry.author, entry.author),
            "role": entry.role, "at": _iso(entry.at), "body": entry.body, "kind": entry.kind}


def _summary(review: QuarterlyReview) -> dict:
    return {"agreement_id": review.agreement_id, "quarter": review.quarter,
            "state": review.state, "signed_by": review.signed_by,
            "signed_at": _iso(review.signed_at)}


def _object_id(review: QuarterlyReview) -> str:
    return f"{review.agreement_id}/{review.quarter}"


def _iso(value: datetime | None) -> str | None:
    """An instant as ISO 8601 UTC ("2026-10-05T14:03:00Z")."""
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back what was stored: UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _covered(versions, timezone: str, quarter: str) -> bool:
    """Whether a signed version covers any of the quarter."""
    return bool(periods.covering(periods.parse_period(quarter, timezone), list(versions)))


def _trend(session: Session, actor: Actor, scope: Scope, quarter: str) -> list[dict]:
    """Each commitment's and goal's figure over the quarters before (oldest first): the signed
    snapshot of a signed quarter, else the live report as of the same instant."""
    earlier = [quarter]
    for _ in range(TREND_QUARTERS):
        earlier.insert(0, periods.previous_period(earlier[0]))
    rows = []
    for before in earlier[:-1]:
        if not _covered(scope.versions, scope.timezone, before):
            continue
        review = _find(session, scope.agreement_id, before)
        signed = review is not None and review.state == "signed" and review.snapshot is not None
        if signed:
            report = review.snapshot
        else:
            before_scope = measurement.scope(session=session, actor=actor, period=before,
                                             agreement_id=scope.agreement_id, as_of=scope.as_of)
            report = plain_json(measurement.report(session=session, actor=actor,
                                                  scope=before_scope))
        for item in report["commitments"] + report["shared_goals"]:
            rows.append({"quarter": before, "id": item["id"], "kind": item.get("kind", "goal"),
                         "value_pct": dashboard.score_value(item), "status": item["status"],
                         "signed": signed})
    return rows


def _previous_report(review: dict) -> dict | None:
    """The quarter before's figures, shaped as a report for `dashboard.scorecard`."""
    before = periods.previous_period(review["quarter"])
    items = [row for row in review["trend"] if row["quarter"] == before]
    if not items:
        return None

    def item(row: dict) -> dict:
        return {"id": row["id"], "kind": row["kind"],
                SCORE_KEY.get(row["kind"], "attainment_pct"): row["value_pct"]}

    return {"commitments": [item(row) for row in items if row["kind"] != "goal"],
            "shared_goals": [{"id": row["id"], "attainment_pct": row["value_pct"]}
                             for row in items if row["kind"] == "goal"]}


def _causes(evaluation: compliance.Evaluation, live: dict) -> dict:
    """The largest contributors to misses: per response/attempts commitment, the reps and the
    channels with the most breached clocks (top five each), and the rejection reasons."""
    clocks = {item["id"]: item for item in live["commitments"] if item["kind"] in CLOCK_KINDS}
    causes: dict[str, list[dict]] = {}
    for by, key in (("rep", "reps"), ("channel", "channels")):
        groups = plain_json(evaluation.breakdown(by)) if clocks else []
        rows = []
        for commitment_id, total in clocks.items():
            ranked = sorted(
                ((group[by], next(c for c in group["commitments"] if c["id"] == commitment_id))
                 for group in groups),
                key=lambda pair: (-pair[1]["breached"], str(pair[0])))
            for value, item in ranked[:TOP_CAUSES]:
                if not item["breached"]:
                    break
                rows.append({by: value, "commitment": commitment_id,
                             "breached": item["breached"],
                             "clocks": item["met"] + item["breached"],
                             "compliance_pct": item["compliance_pct"],
                             "share_pct": round(item["breached"] / total["breached"] * 100, 2)})
        causes[key] = rows
    reasons = live["quality"]["rejection_reasons"]
    rejected = sum(reasons.values())
    causes["rejection_reasons"] = [
        {"reason": reason, "rejected": count, "share_pct": round(count / rejected * 100, 2)}
        for reason, count in sorted(reasons.items(), key=lambda pair: (-pair[1], pair[0]))]
    return causes


def _figures(report: dict) -> dict[str, Any]:
    """Every measured figure of a report by name, in report order."""
    flat: dict[str, Any] = {}
    for section in ("commitments", "shared_goals"):
        for item in report.get(section, []):
            for key, value in item.items():
                if key not in DESCRIPTIVE and not isinstance(value, dict | list):
                    flat[f"{section}.{item['id']}.{key}"] = value

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif not isinstance(value, list):
            flat[prefix] = value

    for section in ("funnel", "quality"):
        walk(section, report.get(section, {}))
    return flat
