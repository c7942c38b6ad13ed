"""core.csv_safe: no CSV cell a spreadsheet would run as a formula; numbers stay numbers."""

import csv
import io
import math

import pandas as pd
import pytest

from core import csv_safe

DANGEROUS = ['=HYPERLINK("http://127.0.0.1:9/x","x")', "+SUM(1,1)", "-1+2", "@x",
             "\tcmd", "\r=1", "=cmd|' /C calc'!A0"]


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_that_starts_a_formula_gains_a_leading_quote(text):
    assert csv_safe.inert(text) == f"'{text}"


@pytest.mark.parametrize("text", ["Acme", "", "a=b", "x-1", "'quoted", " =padded", "ü=1",
                                  "2026-03-02T09:00:00Z"])
def test_other_text_is_unchanged(text):
    assert csv_safe.inert(text) == text


@pytest.mark.parametrize("value", [-3, -2.5, 0, 7, True, None])
def test_numbers_and_none_are_unchanged(value):
    assert csv_safe.inert(value) is value


def test_nan_and_na_are_unchanged():
    assert math.isnan(csv_safe.inert(float("nan")))
    assert csv_safe.inert(pd.NA) is pd.NA


def test_a_row_has_every_cell_inert():
    assert csv_safe.inert_row({"id": "-x", "met": -1, "name": "ok"}) == {
        "id": "'-x", "met": -1, "name": "ok"}


def test_a_frame_keeps_its_shape_and_numbers_and_quotes_its_text():
    frame = pd.DataFrame({
        "company": ["=HYPERLINK(\"http://x\")", "Acme", None],
        "delta": [-3, 4, 5],
        "share": [-0.5, float("nan"), 1.5],
        "mixed": [-3, "-3", "@x"],
        "at": pd.to_datetime(["2026-03-02", None, "2026-03-04"], utc=True),
        "kind": pd.Categorical(["+a", "b", "+a"]),
        "=header": ["x", "y", "z"],
    })
    written = rows(csv_safe.frame_csv(frame))
    assert written[0] == ["company", "delta", "share", "mixed", "at", "kind", "'=header"]
    assert written[1] == ["'=HYPERLINK(\"http://x\")", "-3", "-0.5", "-3",
                          "2026-03-02 00:00:00+00:00", "'+a", "x"]
    assert written[2] == ["Acme", "4", "", "'-3", "", "b", "y"]
    assert written[3] == ["", "5", "1.5", "'@x", "2026-03-04 00:00:00+00:00", "'+a", "z"]
    assert list(frame["company"])[0].startswith("=")  # the caller's frame is left alone


def test_a_frame_without_dangerous_text_writes_as_to_csv_does():
    frame = pd.DataFrame({"rep": ["ana", "ben"], "mql": [3, -1], "share": [0.25, None]})
    assert csv_safe.frame_csv(frame) == frame.to_csv(index=False)


def test_csv_written_elsewhere_is_rewritten_with_inert_text_and_plain_numbers_kept():
    text = 'id,trend_pct,note\nfirst-touch,-3.5,"=1+1, then ""more"""\n-x,-1e3,-inf\n'
    assert rows(csv_safe.inert_csv(text)) == [
        ["id", "trend_pct", "note"],
        ["first-touch", "-3.5", "'=1+1, then \"more\""],
        ["'-x", "-1e3", "'-inf"],
    ]


def test_csv_without_dangerous_text_is_rewritten_unchanged():
    text = pd.DataFrame({"id": ["a", "b"], "value": [1.5, -2.0]}).to_csv(index=False)
    assert csv_safe.inert_csv(text) == text
