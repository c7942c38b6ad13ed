"""Test helper: take an SLA document through the whole workflow to `active`."""

from datetime import date

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
        read = {} if step == "submit" else {"revision": version.revision}
        version = getattr(agreements, step)(session=session, actor=people[who],
                                            agreement_id=version.agreement_id, **read)
    return version


def around_the_clock(title: str = "Always-on SLA") -> sla.Document:
    """The template in UTC, open 24 hours every day: business time is real time, so tests can
    place leads relative to now."""
    data = sla.to_dict(sla.template(title=title, start=date(2026, 1, 1), end=date(2099, 1, 1),
                                    timezone="UTC"))
    data["calendar"]["hours"] = {day: [["00:00", "24:00"]] for day in sla.WEEKDAYS}
    return sla.from_dict(data)
