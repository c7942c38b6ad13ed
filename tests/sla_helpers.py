"""Test helper: take an SLA document through the whole workflow to `active`."""

from core import agreement as sla
from core.services import agreements

SIGN_OFF_STEPS = (("submit", "marco"), ("approve", "marco"), ("approve", "sofia"),
                  ("sign", "erin"))


def activate(session, people, document: sla.Document) -> agreements.VersionView:
    """Marco drafts and submits, both heads approve, Erin signs: the version is active."""
    version = agreements.create_agreement(session=session, actor=people["marco"],
                                          document=document)
    for step, who in SIGN_OFF_STEPS:
        version = getattr(agreements, step)(session=session, actor=people[who],
                                            agreement_id=version.agreement_id)
    return version
