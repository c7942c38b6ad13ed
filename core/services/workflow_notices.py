"""Who hears of a workflow step (kind `workflow`): a version submitted or changed while in
review, a comment that mentions someone (`@username`), a dispute opened or resolved, a review
sent back. The person who acted is never told of their own step."""

import re
from collections.abc import Iterable

from sqlmodel import Session, col, select

from core.permissions import Role
from core.services.accounts import Actor
from core.services.notifications import Notice, tell
from db.models import User

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]{1,64})")
HEADS = (Role.SALES_HEAD, Role.MARKETING_HEAD)


def version_submitted(session: Session, actor: Actor, agreement_id: int, number: int,
                      title: str) -> None:
    """Both heads (but the submitter): a version waits for their approval."""
    _tell(session, actor, _with_roles(session, HEADS), Notice(
        kind="workflow", title=f"{actor.display_name} submitted version {number} of "
                               f"“{title}” for approval",
        body="Read it and approve it for your side, or comment on what should change.",
        cause="agreement.submit", link=_agreement_link(agreement_id, number)))


def version_changed_in_review(session: Session, actor: Actor, agreement_id: int, number: int,
                              title: str, what: str) -> None:
    """Both heads (but the editor): a version in review changed under them."""
    _tell(session, actor, _with_roles(session, HEADS), Notice(
        kind="workflow", title=f"{actor.display_name} changed version {number} of “{title}” "
                               "while it is in review",
        body=f"What changed: {what}. An approval names the revision it read: read it again.",
        cause="agreement.edit_in_review", link=_agreement_link(agreement_id, number)))


def mentions(session: Session, actor: Actor, body: str, where: str, link: str) -> None:
    """Everyone a comment mentions by `@username`."""
    named = {name.lower() for name in MENTION.findall(body)}
    if not named:
        return
    users = session.exec(select(User.username).where(User.active)).all()
    mentioned = [username for username in users if username.lower() in named]
    excerpt = body if len(body) <= 300 else body[:297] + "…"
    _tell(session, actor, mentioned, Notice(
        kind="workflow", title=f"{actor.display_name} mentioned you in {where}", body=excerpt,
        cause="comment.mention", link=link))


def dispute_opened(session: Session, actor: Actor, lead_id: int, lead_ref: str,
                   owner: str | None, comment: str) -> None:
    """The heads who resolve disputes, and the rep whose rejection it is."""
    _tell(session, actor, [*_with_roles(session, HEADS), *([owner] if owner else [])], Notice(
        kind="workflow", title=f"{actor.display_name} disputes the rejection of {lead_ref}",
        body=comment, cause="dispute.open", link="/disputes", lead_id=lead_id))


def dispute_resolved(session: Session, actor: Actor, lead_id: int, lead_ref: str,
                     opened_by: str, owner: str | None, outcome: str,
                     resolution: str | None) -> None:
    """Whoever opened the dispute, and the rep whose rejection it was."""
    verdict = "overturned the rejection" if outcome == "overturned" else "upheld the rejection"
    _tell(session, actor, [opened_by, *([owner] if owner else [])], Notice(
        kind="workflow", title=f"{actor.display_name} {verdict} of {lead_ref}",
        body=resolution or "", cause=f"dispute.{outcome}", link=f"/lead?lead={lead_id}",
        lead_id=lead_id))


def review_sent_back(session: Session, actor: Actor, quarter: str, comment: str) -> None:
    """Both heads: the exec wants something looked at before signing the quarter off."""
    _tell(session, actor, _with_roles(session, HEADS), Notice(
        kind="workflow", title=f"{actor.display_name} sent the {quarter} review back",
        body=comment, cause="review.send_back", link="/review"))


def _tell(session: Session, actor: Actor, usernames: Iterable[str], notice: Notice) -> None:
    tell(session, {name for name in usernames if name and name != actor.username}, notice)


def _with_roles(session: Session, roles: Iterable[str]) -> list[str]:
    return list(session.exec(select(User.username).where(
        col(User.role).in_([str(role) for role in roles]), User.active)).all())


def _agreement_link(agreement_id: int, number: int) -> str:
    del agreement_id, number  # the Agreements page opens on the version in review
    return "/agreements"
