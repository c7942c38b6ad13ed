"""ui.text: user text for Streamlit markdown. What Chromium then shows is checked by
tests/browser/test_safe_rendering.py; here, the markdown source itself."""

import re

import pytest

from ui.text import JOINER, NBSP, code, literal

PLAIN = ["They booked a demo.", "Lead rejected: no_budget.", "Welcome, Kim", "Q3 (so far)",
         "ana.smith's lead, 50% done!", "Marketing can deliver"]


def visible(markdown: str) -> str:
    """The text CommonMark shows for escapes and hard breaks (not a renderer: enough here)."""
    text = markdown.replace("  \n", "\n").replace(JOINER, "").replace(NBSP, " ")
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


@pytest.mark.parametrize("text", PLAIN)
def test_plain_words_and_sentences_are_unchanged(text):
    assert literal(text) == text


@pytest.mark.parametrize("text", [
    "![x](http://127.0.0.1:9/pixel.png)", '<img src="http://127.0.0.1:9/raw.png">',
    "[click](http://127.0.0.1:9/link)", "# heading", "- item", "1. one", "> quote",
    "**bold** _it_ ~~gone~~ `code` | a | b |", ":red[x] :material/home: :smile: $x^2$",
    "=HYPERLINK(\"x\") +SUM(1,1)", "a -> b -- c", "back\\slash", "&amp;",
])
def test_markup_is_escaped_and_reads_as_written(text):
    shown = literal(text)
    assert shown != text
    assert visible(shown) == text


def test_no_image_link_or_html_syntax_survives():
    shown = literal("![x](http://h/p.png) [c](http://h/l) [r][ref] [ref]: http://h/d "
                    "<img src=x> <http://h/a>")
    assert not re.search(r"(?<!\\)(\][(\[:]|<)", shown)


def test_brackets_that_cannot_make_a_link_are_left_alone():
    assert literal("commitments[1].within: must be a number") == \
        "commitments[1].within: must be a number"


def test_urls_emails_and_shortcodes_are_broken_by_an_invisible_joiner():
    shown = literal("http://h/x www.example.com x@example.com :smile: :material/home:")
    assert "://" not in shown and "www." not in shown and "@e" not in shown
    assert ":s" not in shown and ":material/" not in shown


@pytest.mark.parametrize("text", [":red[x]", "status:red", ":37[x]", ":x{a=1}", "::leaf[x]"])
def test_a_colon_that_would_start_a_directive_is_escaped(text):
    assert "\\:" in literal(text)


@pytest.mark.parametrize("text", ["YAML:37: bad", "at 10:30", "a:[x]", ":100:"])
def test_other_colons_are_only_joined_and_keep_their_text(text):
    shown = literal(text)
    assert "\\:" not in shown and shown.replace(JOINER, "") == text


def test_line_breaks_stay_line_breaks_in_one_paragraph():
    assert literal("one\ntwo\r\n\r\nthree") == f"one  \ntwo  \n{NBSP}  \nthree"


def test_indentation_cannot_start_a_code_block():
    assert literal("    indented") == f"{NBSP * 4}indented"


def test_a_code_span_cannot_be_closed_by_the_text_in_it():
    assert code("no_budget") == "`no_budget`"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert code(":material/home:") == f"`:{JOINER}material/home:`"
