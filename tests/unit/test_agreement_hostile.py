"""Every hostile YAML document is refused with an InvalidAgreement that names where and why."""

import pytest

from core import limits
from core.agreement import InvalidAgreement, dump_yaml, from_dict, parse_yaml, to_dict
from tests.hostile.yaml_cases import AMPLIFICATION, BASE, CASES, SOURCE, YamlCase


def test_the_corpus_has_forty_distinct_kinds_and_its_amplification_builders():
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names) >= 40
    assert set(AMPLIFICATION) <= set(names)
    assert {case.name: case.content for case in CASES if case.name in AMPLIFICATION} == {
        name: build() for name, build in AMPLIFICATION.items()}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_document_is_refused_naming_its_line_path_or_limit(case: YamlCase):
    with pytest.raises(InvalidAgreement) as caught:
        parse_yaml(case.content, source=SOURCE)
    message = str(caught.value)
    assert caught.value.source == SOURCE
    for fragment in case.names:
        assert fragment in message, message[:2000]


@pytest.mark.parametrize("encode", [
    str.encode, lambda text: b"\xef\xbb\xbf" + text.encode(), lambda text: text.encode("utf-16"),
    lambda text: text.encode("utf-16-be").join([b"\xfe\xff", b""]),
], ids=["utf-8", "utf-8 with BOM", "utf-16 LE with BOM", "utf-16 BE with BOM"])
def test_the_base_document_reads_the_same_from_text_and_every_accepted_encoding(encode):
    assert parse_yaml(encode(BASE)) == parse_yaml(BASE)


def _base_with(change) -> dict:
    """The base document as plain data, edited by `change`."""
    data = to_dict(parse_yaml(BASE))
    change(data)
    return data


AT_THE_LIMITS = [
    ("title of 200 characters", lambda d: d.update(title="T" * limits.TITLE_MAX_CHARS)),
    ("description of TEXT_MAX_CHARS", lambda d: d["stages"]["mql"].update(
        description="d" * limits.TEXT_MAX_CHARS)),
    ("reason of 64 characters", lambda d: d["rejection_reasons"].append("r" * 64)),
    ("id of ID_MAX_CHARS", lambda d: d["commitments"][0].update(id="m" * limits.ID_MAX_CHARS)),
    ("within of a year in hours", lambda d: d["commitments"][1].update(within="8760h")),
    ("within of a year in minutes", lambda d: d["commitments"][1].update(within="525600m")),
    ("within of 365 days", lambda d: d["commitments"][3].update(within="365d")),
    ("volume target at its maximum", lambda d: d["commitments"][0].update(
        target=limits.COUNT_TARGET_MAX)),
    ("attempts at the maximum", lambda d: d["commitments"][3].update(
        attempts=limits.COUNT_TARGET_MAX)),
    ("money goal at its maximum", lambda d: d["shared_goals"][0].update(
        target=float(limits.MONEY_MAX))),
    ("dates at both ends of the range", lambda d: d["effective"].update(
        start=f"{limits.DATE_FIRST_YEAR}-01-01", end=f"{limits.DATE_LAST_YEAR}-12-31")),
    ("filter key of KEY_MAX_CHARS", lambda d: d["commitments"][0].update(
        filter={"f" * limits.KEY_MAX_CHARS: "x"})),
    ("criterion with a 40-digit integer", lambda d: d["stages"]["mql"]["criteria"].append(
        {"field": "score", "op": "<", "value": 10 ** 39})),
]


@pytest.mark.parametrize("change", [case[1] for case in AT_THE_LIMITS],
                         ids=[case[0] for case in AT_THE_LIMITS])
def test_values_at_their_limits_stay_valid_from_dict_and_yaml(change):
    document = from_dict(_base_with(change))
    assert parse_yaml(dump_yaml(document)) == document


OVER_THE_LIMITS = [
    ("title of 201 characters", lambda d: d.update(title="T" * 201), "title", "TITLE_MAX_CHARS"),
    ("within one minute over a year", lambda d: d["commitments"][1].update(within="525601m"),
     "commitments[1].within", "WITHIN_MAX_SECONDS"),
    ("within of 366 days", lambda d: d["commitments"][3].update(within="366d"),
     "commitments[3].within", "WITHIN_MAX_DAYS"),
    ("a 400-digit target", lambda d: d["commitments"][0].update(target=10 ** 400),
     "commitments[0].target", "COUNT_TARGET_MAX"),
    ("attempts over the maximum", lambda d: d["commitments"][3].update(attempts=10 ** 10),
     "commitments[3].attempts", "COUNT_TARGET_MAX"),
    ("money goal over its maximum", lambda d: d["shared_goals"][0].update(target=1e13),
     "shared_goals[0].target", "MONEY_MAX"),
    ("criterion field over KEY_MAX_CHARS", lambda d: d["stages"]["mql"]["criteria"][0].update(
        field="f" * 201), "stages.mql.criteria[0].field", "KEY_MAX_CHARS"),
    ("a date in 1899", lambda d: d["effective"].update(start="1899-12-31"), "effective.start",
     "DATE_FIRST_YEAR"),
]


@pytest.mark.parametrize(("change", "path", "limit"), [case[1:] for case in OVER_THE_LIMITS],
                         ids=[case[0] for case in OVER_THE_LIMITS])
def test_from_dict_refuses_values_over_their_limits_naming_path_and_limit(change, path, limit):
    with pytest.raises(InvalidAgreement) as caught:
        from_dict(_base_with(change))
    [error] = caught.value.errors
    assert error.path == path and limit in error.message


def test_a_criterion_may_compare_with_an_integer_too_large_for_a_float():
    criterion = {"field": "score", "op": "<", "value": 10 ** 400}  # math.isfinite overflowed
    document = from_dict(_base_with(lambda d: d["stages"]["mql"]["criteria"].append(criterion)))
    assert document.stages.mql.criteria[-1].value == 10 ** 400


def test_a_long_value_is_cut_short_in_its_error():
    with pytest.raises(InvalidAgreement) as caught:
        from_dict(_base_with(lambda d: d["commitments"][0].update(per="x" * 100_000)))
    assert len(str(caught.value)) < 300
