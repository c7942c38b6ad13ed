"""Hostile SLA YAML documents, made by code: each case is what to feed `parse_yaml` and the
fragments (a line, a key path, a limit) its refusal must name.

`CASES` lists them all. `AMPLIFICATION` maps the few that try to make the server work hard to a
builder of their content, for benchmarks.
"""

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from core import limits
from core.agreement import dump_yaml, from_dict, template, to_dict

SOURCE = "sla.yaml"


@dataclass(frozen=True)
class YamlCase:
    """One hostile document: its name, its text or bytes, and what its error must name."""

    name: str
    content: str | bytes
    names: tuple[str, ...]


def _base_text() -> str:
    """A valid SLA to break one thing at a time: the template, with US holidays."""
    data = to_dict(template(title="Hostile base", start=date(2026, 1, 1), end=date(2027, 1, 1)))
    data["calendar"]["holidays"] = {"country": "US"}
    return dump_yaml(from_dict(data))


BASE = _base_text()


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line of `text` holding `fragment`."""
    return next(number for number, line in enumerate(text.split("\n"), 1) if fragment in line)


def _at(text: str, fragment: str, path: str = "") -> str:
    """The start of an error located at the line of `fragment`: `sla.yaml:<line>: <path>: `."""
    return f"{SOURCE}:{line_of(text, fragment)}: " + (f"{path}: " if path else "")


def _edit(old: str, new: str, text: str = BASE) -> str:
    """`text` with `old`, which occurs exactly once, replaced by `new`."""
    if text.count(old) != 1:
        raise ValueError(f"{old!r} occurs {text.count(old)} times in the base document")
    return text.replace(old, new)


def _edited(name: str, old: str, new: str, path: str, *names: str) -> YamlCase:
    """A case that breaks one place of the base: its error names that line and key path."""
    text = _edit(old, new)
    return YamlCase(name, text, (_at(text, new.strip().split("\n")[0], path), *names))


def _appended(name: str, tail: str, *names: str) -> YamlCase:
    """A case that adds lines at the end of the base; its error names the first added line."""
    text = BASE + tail
    return YamlCase(name, text, (f"{SOURCE}:{BASE.count(chr(10)) + 1}: ", *names))


# --- the cases that try to make the server work hard -------------------------------------------


def billion_laughs(levels: int) -> str:
    """Ten aliases of the level below on each of `levels` levels: 10**levels strings."""
    lines = ['lol0: &lol0 "lol"']
    lines += [f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 10) + "]"
              for level in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def billion_laughs_nodes(levels: int) -> int:
    """The nodes of `billion_laughs(levels)` with every alias expanded: the root, its keys, and
    level k's list of 10 copies of level k - 1 (1 + 10 + ... + 10**k nodes)."""
    return 1 + (levels + 1) + sum((10 ** (level + 1) - 1) // 9 for level in range(levels + 1))


def deep_nesting(levels: int = 10_000) -> str:
    """A value nested in `levels` lists (the composer recursed into each: RecursionError)."""
    return BASE + "extra: " + "[" * levels + "]" * levels + "\n"


def long_integer(digits: int = 5_000) -> str:
    """The volume target written with `digits` digits (int() refuses more than 4,300)."""
    return _edit("    target: 1000\n", f"    target: 1{'0' * (digits - 1)}\n")


def just_over_the_size_limit() -> str:
    """The base document padded with a comment to one byte over YAML_MAX_BYTES."""
    padding = limits.YAML_MAX_BYTES + 1 - len(BASE.encode("utf-8")) - 2
    return BASE + "#" + "x" * padding + "\n"


def many_aliases() -> str:
    """As many aliases as fit in the size limit (about 65,000)."""
    count = (limits.YAML_MAX_BYTES - len(BASE) - 100) // 4
    return BASE + "extra: &a x\nmore: [" + ", ".join(["*a"] * count) + "]\n"


def many_rejection_reasons(count: int = 100_000) -> str:
    """`count` rejection reasons in one flow list, just under the size limit."""
    return _edit_reasons("[" + ",".join(["r"] * count) + "]")


def distinct_reasons_then_a_repeat(count: int = 19_000) -> str:
    """`count` distinct rejection reasons, then the first again (a pairwise check took 6 s)."""
    return _edit_reasons("[" + ",".join([f"r{index}" for index in range(count)] + ["r0"]) + "]")


def a_day_of_minute_windows() -> str:
    """Monday cut into 1,440 one-minute windows, then 5,000 that overlap two of them."""
    minutes = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440)] + ["24:00"]
    windows = [f'["{start}", "{end}"]' for start, end in zip(minutes, minutes[1:], strict=False)]
    windows += ['["23:57", "23:59"]'] * 5_000
    return _edit('    mon: [["09:00", "17:00"]]', f"    mon: [{', '.join(windows)}]")


def long_key_over_many_errors(key_chars: int = 130_000, windows: int = 6_000) -> str:
    """A weekday key of `key_chars` characters over `windows` bad windows: every error repeated
    the key (12,000 errors took 45 s and 12 GB)."""
    bad = ", ".join(['["25:00", "x"]'] * windows)
    return _edit('    mon: [["09:00", "17:00"]]', f"    ? {'k' * key_chars}\n    : [{bad}]")


def aliased_long_text() -> str:
    """One string of 11,000 characters aliased 99 times: 1.1 million characters expanded."""
    return BASE + "extra: &a " + "x" * 11_000 + "\nmore: [" + ", ".join(["*a"] * 99) + "]\n"


def _edit_reasons(reasons: str) -> str:
    """The base with its rejection reasons written as `reasons`."""
    line = next(line for line in BASE.split("\n") if line.startswith("rejection_reasons:"))
    return _edit(line, f"rejection_reasons: {reasons}")


AMPLIFICATION: dict[str, Callable[[], str | bytes]] = {
    "billion-laughs-8": lambda: billion_laughs(8),
    "billion-laughs-9": lambda: billion_laughs(9),
    "deep-nesting": deep_nesting,
    "integer-5000-digits": long_integer,
    "just-over-the-size-limit": just_over_the_size_limit,
    "many-aliases": many_aliases,
    "100000-rejection-reasons": many_rejection_reasons,
    "aliased-long-text": aliased_long_text,
    "19000-distinct-rejection-reasons": distinct_reasons_then_a_repeat,
    "a-day-of-minute-windows": a_day_of_minute_windows,
    "long-key-over-many-errors": long_key_over_many_errors,
}


def _amplification_cases() -> list[YamlCase]:
    """The amplification cases with what their refusals name."""
    deep = deep_nesting()
    reasons = many_rejection_reasons()
    aliases = many_aliases()
    expanded = "with its aliases expanded, the document has"
    return [
        *(YamlCase(f"billion-laughs-{levels}", billion_laughs(levels),
                   (f"{SOURCE}: {expanded} {billion_laughs_nodes(levels):,} ", "YAML_MAX_NODES"))
          for levels in (8, 9)),
        YamlCase("deep-nesting", deep, (_at(deep, "extra: [["), "21 levels deep",
                                        "YAML_MAX_DEPTH")),
        YamlCase("integer-5000-digits", long_integer(),
                 (_at(long_integer(), "target: 1000", "commitments[0].target"), "5,000 digits",
                  "YAML_MAX_INTEGER_DIGITS")),
        YamlCase("just-over-the-size-limit", just_over_the_size_limit(),
                 (f"{SOURCE}: the document is {limits.YAML_MAX_BYTES + 1:,} bytes",
                  "256 KB", "YAML_MAX_BYTES")),
        YamlCase("many-aliases", aliases, (_at(aliases, "more: ["), "more than 100 aliases",
                                           "YAML_MAX_ALIASES")),
        YamlCase("100000-rejection-reasons", reasons,
                 (_at(reasons, "rejection_reasons: [r,"), "more than 20,000",
                  "YAML_MAX_NODES")),
        YamlCase("19000-distinct-rejection-reasons", distinct_reasons_then_a_repeat(),
                 (_at(BASE, "rejection_reasons:", "rejection_reasons[19000]"),
                  "duplicate 'r0'")),
        YamlCase("a-day-of-minute-windows", a_day_of_minute_windows(),
                 (_at(BASE, "    mon: ", "calendar.hours.mon[1440]"),
                  "overlaps the window 23:57–23:58")),
        YamlCase("long-key-over-many-errors", long_key_over_many_errors(),
                 (_at(BASE, "    mon: "), "calendar.hours.kkkk", "130,000 characters",
                  "KEY_MAX_CHARS")),
        YamlCase("aliased-long-text", aliased_long_text(),
                 (f"{SOURCE}: with its aliases expanded, the document holds 1,1",
                  "characters of keys and values", "YAML_MAX_EXPANDED_CHARS")),
    ]


# --- everything else -----------------------------------------------------------------------------


def _without_section(key: str) -> str:
    """The base without one top-level key and the lines below it (finding the line of the
    missing key's parent, the root, used to loop forever)."""
    lines = BASE.split("\n")
    start = lines.index(next(line for line in lines if line.startswith(f"{key}:")))
    end = next(index for index in range(start + 1, len(lines)) if not lines[index].startswith(" "))
    return "\n".join(lines[:start] + lines[end:])


def _syntax_cases() -> list[YamlCase]:
    """Documents that are not one YAML mapping, or not YAML at all."""
    two = BASE + "---\n" + BASE
    tabs = _edit("  timezone: America/New_York", "\ttimezone: America/New_York")
    return [
        YamlCase("empty document", "", (f"{SOURCE}: the agreement is empty",)),
        YamlCase("only comments", "# an SLA\n# to be written\n",
                 (f"{SOURCE}: the agreement is empty",)),
        YamlCase("top-level list", "- handoff: 1\n- title: x\n",
                 (f"{SOURCE}: the agreement must be a mapping of keys, not a list",)),
        YamlCase("top-level scalar", "handoff\n",
                 (f"{SOURCE}: the agreement must be a mapping of keys, not text",)),
        YamlCase("two documents", two, (f"{SOURCE}:{BASE.count(chr(10)) + 1}: ",
                                        "expected a single document")),
        YamlCase("tab indentation", tabs, (_at(tabs, "\ttimezone"), "invalid YAML", "'\\t'")),
        YamlCase("unclosed quote", _edit("title: Hostile base", 'title: "Hostile base'),
                 (_at(BASE, "    mon: "), "invalid YAML: while parsing a block mapping")),
        YamlCase("missing top-level key", _without_section("calendar"),
                 (f"{SOURCE}: calendar: required key is missing",)),
        YamlCase("undefined alias", _edit("title: Hostile base", "title: *nowhere"),
                 (f"{SOURCE}:2: invalid YAML: found undefined alias 'nowhere'",)),
    ]


def _encoding_cases() -> list[YamlCase]:
    """Bytes that are not UTF-8 text, and text holding characters YAML refuses."""
    broken = _edit("    within: 4h", "    within: 4 hours")
    located = (_at(broken, "within: 4 hours", "commitments[1].within"), "'4 hours'")
    latin1 = _edit("title: Hostile base", "title: Hostile bäse").encode("latin-1")
    return [
        YamlCase("UTF-8 BOM, error located", codecs.BOM_UTF8 + broken.encode(), located),
        YamlCase("UTF-16 with BOM, error located", broken.encode("utf-16"), located),
        YamlCase("UTF-16 without BOM", BASE.encode("utf-16-le"),
                 (f"{SOURCE}:1: ", "U+0000", "UTF-16 without a byte order mark")),
        YamlCase("UTF-32", BASE.encode("utf-32"), (f"{SOURCE}: the file is UTF-32",)),
        YamlCase("latin-1 byte", latin1,
                 (f"{SOURCE}:2: the file is not valid UTF-8: byte 0xE4 at line 2, column 17",)),
        YamlCase("NUL byte", _edit("title: Hostile base", "title: Hostile\x00base"),
                 (f"{SOURCE}:2: ", "U+0000 at column 15")),
        YamlCase("control characters", _edit("title: Hostile base", "title: \x1b[31mred\x07"),
                 (f"{SOURCE}:2: ", "U+001B at column 8")),
    ]


def _tag_and_key_cases() -> list[YamlCase]:
    """Tags, anchors and keys an SLA never has."""
    title = "title: Hostile base"
    recursive = _edit_reasons("&reasons [not_a_fit, *reasons]")
    return [
        _edited("python/object tag", title, "title: !!python/object/apply:os.system [echo hi]",
                "title", "!!python/object/apply:os.system is not allowed"),
        _edited("unknown tag", title, "title: !vault abc", "title", "!vault is not allowed"),
        _edited("!!binary", title, "title: !!binary SG9zdGlsZQ==", "title",
                "!!binary is not allowed"),
        _edited("!!set", title, "title: !!set {a, b}", "title", "!!set is not allowed"),
        _edited("escaped NUL in the title", title, 'title: "Hostile\\0base"', "title",
                "NUL character"),
        _edited("tag that does not fit", title, "title: !!bool maybe", "title",
                "cannot be tagged !!bool"),
        _edited("!!int on text", "    target: 1000", "    target: !!int many",
                "commitments[0].target", "cannot be tagged !!int"),
        _edited("integer int() cannot read", "    target: 1000", "    target: 0x_",
                "", "'0x_' is not a number"),
        _edited("= as a value", "op: '>='", "op: =", "stages.mql.criteria[0].op",
                "!!value is not allowed"),
        _appended("merge keys", "more: {<<: {a: 1}}\n", "more.<<: merge keys (<<) are not "
                  "supported"),
        YamlCase("recursive alias", recursive,
                 (_at(recursive, "rejection_reasons:", "rejection_reasons[1]"),
                  "recursive alias")),
        YamlCase("anchors on keys", _edit(title, "&key title: Hostile base") + "*key: again\n",
                 (f"{SOURCE}:2: title: duplicate key",)),
        _edited("number as a key", '    mon: [["09:00", "17:00"]]',
                '    1: [["09:00", "17:00"]]', "calendar.hours.1", "reads as a number"),
        _edited("boolean as a key", '    mon: [["09:00", "17:00"]]',
                '    on: [["09:00", "17:00"]]', "calendar.hours.on", "reads as a boolean"),
        _appended("list as a key", "? [a, b]\n: c\n", "a key must be text, not a list"),
        _appended("duplicate key", "title: Again\n", "title: duplicate key"),
        _appended("unknown key", "colour: red\n", "colour: unknown key"),
    ]


def _calendar_cases() -> list[YamlCase]:
    """Hours, zones, holidays and dates."""
    monday = '    mon: [["09:00", "17:00"]]'
    return [
        _edited("unquoted time", monday, '    mon: [[09:30, 17:00]]', "calendar.hours.mon[0][1]",
                "times must be quoted"),
        _edited("25:00", monday, '    mon: [["09:00", "25:00"]]', "calendar.hours.mon[0][1]",
                '"HH:MM"'),
        _edited("window end before start", monday, '    mon: [["17:00", "09:00"]]',
                "calendar.hours.mon[0]", "must be after the start"),
        _edited("overnight as one window", monday, '    mon: [["22:00", "06:00"]]',
                "calendar.hours.mon[0]", "an overnight shift is two windows"),
        _edited("hours of the wrong type", monday, '    mon: "9 to 5"', "calendar.hours.mon",
                "must be a list"),
        _edited("invalid IANA zone", "  timezone: America/New_York", "  timezone: Mars/Olympus",
                "calendar.timezone", "unknown time zone"),
        _edited("zone as a file path", "  timezone: America/New_York",
                "  timezone: ../../../etc/passwd", "calendar.timezone", "unknown time zone"),
        _edited("invalid holiday country", "    country: US", "    country: XX",
                "calendar.holidays.country", "unknown holidays country code 'XX'"),
        _edited("2018-02-30", "start: 2026-01-01", "start: 2018-02-30", "effective.start",
                "not a real date"),
        _edited("effective end before start", "end: 2027-01-01", "end: 2025-01-01",
                "effective.end", "must be after effective.start"),
        _edited("year 9999", "end: 2027-01-01", "end: 9999-12-31", "effective.end",
                "DATE_LAST_YEAR"),
    ]


def _commitment_cases() -> list[YamlCase]:
    """Budgets, targets, ids and stages of commitments and goals."""
    within = "    within: 4h"
    pct = "    target_pct: 90"
    target = "    target: 1000\n"
    goal = "    target: 500000"
    duplicate_id = _edit("  - id: attempts", "  - id: first-touch")
    count_goal = _edit("    metric: won_amount\n    target: 500000",
                       "    metric: won_count\n    target: 5000000000")
    return [
        _edited("within negative", within, "    within: -4h", "commitments[1].within",
                "m, h or d"),
        _edited("within zero", within, "    within: 0h", "commitments[1].within", "above 0"),
        _edited("within fractional", within, "    within: 1.5h", "commitments[1].within",
                "m, h or d"),
        _edited("within 10^8 hours", within, "    within: 100000000h", "commitments[1].within",
                "a year of business time", "WITHIN_MAX_SECONDS"),
        _edited("within 5,000 digits", within, f"    within: {'9' * 5000}m",
                "commitments[1].within", "WITHIN_MAX_SECONDS"),
        _edited("within 100,000 days", "    within: 5d", "    within: 100000d",
                "commitments[3].within", "WITHIN_MAX_DAYS"),
        _edited("target_pct 150", pct, "    target_pct: 150", "commitments[1].target_pct",
                "at most 100"),
        _edited("target_pct -5", pct, "    target_pct: -5", "commitments[1].target_pct",
                "above 0"),
        _edited("target_pct .nan", pct, "    target_pct: .nan", "commitments[1].target_pct",
                "finite"),
        _edited("huge float target", target, "    target: 1.0e+308\n", "commitments[0].target",
                "COUNT_TARGET_MAX"),
        _edited("infinite target", target, "    target: .inf\n", "commitments[0].target",
                "finite"),
        _edited("quoted target", target, '    target: "1000"\n', "commitments[0].target",
                "remove the quotes"),
        _edited("400-digit target", target, f"    target: {'7' * 400}\n",
                "commitments[0].target", "400 digits", "YAML_MAX_INTEGER_DIGITS"),
        _edited("long base-60 integer", target, f"    target: {'1:' * 45}1\n",
                "commitments[0].target", "46 digits", "YAML_MAX_INTEGER_DIGITS"),
        _edited("huge money goal", goal, "    target: 1.0e+308", "shared_goals[0].target",
                "MONEY_MAX"),
        YamlCase("huge count goal", count_goal, (
            _at(count_goal, "target: 5000000000", "shared_goals[0].target"), "COUNT_TARGET_MAX")),
        _edited("per: decade", "    per: month", "    per: decade", "commitments[0].per",
                "must be week, month or quarter"),
        _edited("unknown volume stage", "    stage: mql", "    stage: lead",
                "commitments[0].stage", "must be created, mql, sal, sql"),
        _edited("unknown stage", "  sal:\n", "  lead:\n    description: x\n  sal:\n",
                "stages.lead", "allowed keys: mql, sal, sql"),
        _edited("unknown criteria operator", "op: '>='", "op: '=~'", "stages.mql.criteria[0].op",
                "must be ==, !=, in"),
        YamlCase("duplicate commitment ids", duplicate_id, (
            f"{SOURCE}:{line_of(BASE, '  - id: attempts')}: commitments[3].id: ",
            "duplicate id 'first-touch', already used by commitments[1]")),
        _edited("handoff: 2", "handoff: 1", "handoff: 2", "handoff",
                "unsupported format version 2"),
        _edited("handoff as text", "handoff: 1", 'handoff: "1"', "handoff",
                "unsupported format version '1'"),
        _edited("null title", "title: Hostile base", "title:", "title", "must not be empty"),
        _edited("null stage", "    stage: mql", "    stage:", "commitments[0].stage",
                "must be created, mql"),
    ]


def _size_cases() -> list[YamlCase]:
    """Texts too long for their columns and limits."""
    alias_depth = BASE + "".join(
        f"extra{level}: &level{level} [[[[[{f'*level{level - 1}' if level else 1}]]]]]\n"
        for level in range(5))
    return [
        _edited("title over 200 characters", "title: Hostile base", f"title: {'T' * 201}",
                "title", "201 characters", "TITLE_MAX_CHARS"),
        _edited("description over the text limit", "    description: A lead that",
                f"    description: {'d' * 10_001} A lead that", "stages.mql.description",
                "TEXT_MAX_CHARS"),
        _edited("rejection reason over 64 characters", "student_or_job_seeker]",
                f"student_or_job_seeker, {'r' * 65}]", "rejection_reasons[6]",
                "LEAD_FIELD_MAX_CHARS"),
        _edited("id over 64 characters", "  - id: mql-volume", f"  - id: {'m' * 65}",
                "commitments[0].id", "ID_MAX_CHARS"),
        YamlCase("aliases nesting too deep", alias_depth,
                 (_at(alias_depth, "extra2:", "extra3[0][0][0][0][0]"), "YAML_MAX_DEPTH")),
    ]


CASES: list[YamlCase] = [
    *_amplification_cases(), *_syntax_cases(), *_encoding_cases(), *_tag_and_key_cases(),
    *_calendar_cases(), *_commitment_cases(), *_size_cases(),
]
