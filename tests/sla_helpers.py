"""Test helper: take an SLA document through the whole workflow to `active`."""

from core import agreement as sla
from core.services import agreements

SIGN_OFF_STEPS = (("submit", "marco"), ("approve", "marco"), ("approve", "sofia"),
                  ("sign", "erin"))


def activate(session, people, document: sla.Document,
             agreement_id: int | None = None) -> agreements.VersionView:
    """Marco drafts (a new agreement, or an amendment of `agreement_id`) and submits, both heads
    approve, Erin signs: the version is active."""
    if agreement_id is None:
        version = agreements.create_agreement(session=session, actor=people["marco"],
                                              document=document)
    else:
        version = agreements.new_version(session=session, actor=people["marco"],
                                         agreement_id=agreement_id, document=document)
    for step, who in SIGN_OFF_STEPS:
        version = getattr(agreements, step)(session=session, actor=people[who],
                                            agreement_id=version.agreement_id)
    return version
