"""Ids, figures and amounts as people read them (core.wording)."""

import pytest

from core.wording import figure_label, money, words


@pytest.mark.parametrize(("identifier", "expected"), [
    ("first-touch", "First touch"), ("not_a_fit", "Not a fit"), ("mql-volume", "MQL volume"),
    ("student_or_job_seeker", "Student or job seeker"), ("mql_at", "MQL at"),
])
def test_ids_read_as_words(identifier, expected):
    assert words(identifier) == expected


def test_inside_a_sentence_only_acronyms_keep_capitals():
    assert words("first-touch", capitalized=False) == "first touch"
    assert words("mql-acceptance", capitalized=False) == "MQL acceptance"


def test_figures_read_as_words():
    assert figure_label("commitments.first-touch.compliance_pct") == "First touch › Compliance pct"
    assert figure_label("funnel.mql") == "Funnel › MQL"


@pytest.mark.parametrize(("value", "currency", "expected"), [
    (128300, "USD", "$128,300"), (15774.42, "EUR", "€15,774.42"), (10_000_000, "GBP",
                                                                     "£10,000,000"),
    (2500, "CHF", "CHF 2,500"), (-40, "BRL", "-R$40"), (None, "USD", "–"), (7, "XYZ", "XYZ 7"),
])
def test_amounts_carry_their_currency_and_separators(value, currency, expected):
    assert money(value, currency) == expected
