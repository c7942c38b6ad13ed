"""Which file columns feed which canonical field: the synonyms and the HubSpot and Salesforce
presets (of their lead exports, and of their call, meeting and task exports for touches),
`suggest_mapping` (by loose name), `resolve_mapping` (preset or suggestion, then
`--map FIELD=COLUMN` overrides) and `_check_mapping`, which checks a mapping against a table before
its rows are parsed."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from core.ingest.fields import _REQUIRED, _fields_of
from core.ingest.results import FileRefused, Table, UnknownField, UsageError

PRESETS = ("hubspot", "salesforce")
_NO_OVERRIDES: Mapping[str, str] = MappingProxyType({})

# Synonyms in order of preference; compared after `_normalise`, so "Lead ID" matches "lead_id".
_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "leads": {
        "external_id": (
            "external_id", "lead_id", "id", "record_id", "hs_object_id", "mql_id", "prospect_id",
            "contact_id", "lead_number",
        ),
        "created_at": (
            "created_at", "created", "create_date", "created_date", "creation_date",
            "date_created", "created_on",
        ),
        "mql_at": (
            "mql_at", "mql_date", "mql", "first_contact_date", "marketing_qualified_date",
            "became_a_marketing_qualified_lead_date",
            "hs_lifecyclestage_marketingqualifiedlead_date",
        ),
        "accepted_at": (
            "accepted_at", "accepted_date", "accepted", "sal_at", "sal_date",
            "sales_accepted_date",
        ),
        "rejected_at": (
            "rejected_at", "rejected_date", "rejected", "rejection_date", "disqualified_date",
        ),
        "rejection_reason": (
            "rejection_reason", "reject_reason", "rejected_reason", "disqualification_reason",
            "disqualified_reason",
        ),
        "sql_at": (
            "sql_at", "sql_date", "sales_qualified_date", "became_a_sales_qualified_lead_date",
            "hs_lifecyclestage_salesqualifiedlead_date", "converted_date",
        ),
        "opportunity_at": (
            "opportunity_at", "opportunity_date", "opportunity_created_date",
            "became_an_opportunity_date", "hs_lifecyclestage_opportunity_date",
        ),
        "won_at": (
            "won_at", "won_date", "closed_won_date", "close_won_date", "became_a_customer_date",
            "hs_lifecyclestage_customer_date", "customer_date",
        ),
        "lost_at": ("lost_at", "lost_date", "closed_lost_date", "close_lost_date"),
        "owner": (
            "owner", "lead_owner", "contact_owner", "owner_id", "hubspot_owner",
            "hubspot_owner_id", "sdr_id", "sdr", "rep", "sales_rep", "sales_agent", "assigned_to",
        ),
        "channel": (
            "channel", "lead_source", "source", "origin", "original_source",
            "hs_analytics_source", "lead_origin",
        ),
        "segment": ("segment", "business_segment", "industry", "vertical", "market_segment"),
        "region": ("region", "sales_region", "territory", "regional_office"),
        "country": ("country", "country_region", "country_code"),
        "company": (
            "company", "company_name", "account", "account_name", "organization", "organisation",
        ),
        "name": ("name", "full_name", "contact_name", "lead_name"),
        "email": ("email", "email_address", "e_mail", "mail"),
        "score": ("score", "lead_score", "hubspot_score", "mql_score"),
        "amount": (
            "amount", "deal_amount", "recent_deal_amount", "deal_value", "close_value",
            "opportunity_amount", "value",
        ),
    },
    "touches": {
        "lead_external_id": (
            "lead_external_id", "lead_id", "external_id", "mql_id", "associated_contact_ids",
            "associated_contact_id", "record_id", "contact_id", "lead", "who_id", "id",
        ),
        "at": (
            "at", "timestamp", "touched_at", "occurred_at", "activity_date", "activity_time",
            "date", "datetime", "time", "created_at", "created_date", "when", "hs_timestamp",
        ),
        "kind": (
            "kind", "type", "activity_type", "touch_type", "engagement_type", "task_type",
            "channel", "task_subtype", "hs_engagement_type",
        ),
        "rep": (
            "rep", "owner", "sales_rep", "user", "owner_id", "assigned_to", "sdr_id", "agent",
            "created_by", "activity_assigned_to", "hubspot_owner_id",
        ),
        "automated": ("automated", "is_automated", "auto", "automatic", "sequence"),
        "outcome": (
            "outcome", "call_outcome", "disposition", "call_disposition", "hs_call_disposition",
            "call_result", "meeting_outcome", "hs_meeting_outcome", "activity_outcome",
            "result",
        ),
        "note": (
            "note", "notes", "call_notes", "hs_call_body", "activity_notes", "meeting_notes",
            "internal_meeting_notes", "hs_internal_meeting_notes", "meeting_description",
            "hs_meeting_body", "note_body", "hs_note_body", "description", "comments",
            "comment", "body",
        ),
    },
}  # fmt: skip
_FIRST_LAST_NAMES = (("first_name", "last_name"), ("given_name", "family_name"))

# Preset columns: field -> alternatives, each a group of columns (joined, for a name in two parts);
# the first alternative the file has is used. Lead exports (contacts, leads) here; the activity
# exports (calls, meetings, tasks) in _TOUCH_PRESET_COLUMNS.
_PRESET_COLUMNS: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "hubspot": {
        "external_id": (("Record ID",), ("hs_object_id",)),
        "created_at": (("Create Date",), ("createdate",)),
        "mql_at": (
            ("Became a Marketing Qualified Lead Date",),
            ("hs_lifecyclestage_marketingqualifiedlead_date",),
        ),
        "sql_at": (
            ("Became a Sales Qualified Lead Date",),
            ("hs_lifecyclestage_salesqualifiedlead_date",),
        ),
        "opportunity_at": (
            ("Became an Opportunity Date",), ("hs_lifecyclestage_opportunity_date",),
        ),
        "won_at": (("Became a Customer Date",), ("hs_lifecyclestage_customer_date",)),
        "owner": (("Contact owner",), ("hubspot_owner_id",), ("HubSpot Owner",)),
        "channel": (("Original Source",), ("hs_analytics_source",)),
        "country": (("Country/Region",), ("country",)),
        "company": (("Company Name",), ("company",)),
        "name": (("First Name", "Last Name"), ("firstname", "lastname")),
        "email": (("Email",), ("email",)),
        "amount": (("Recent Deal Amount",), ("recent_deal_amount",)),
    },
    "salesforce": {
        "external_id": (("Id",), ("Lead ID",)),
        "created_at": (("CreatedDate",), ("Created Date",)),
        "mql_at": (("MQL Date",), ("mql_at",)),
        "sql_at": (("ConvertedDate",), ("Converted Date",)),
        "owner": (("OwnerId",), ("Lead Owner",), ("Owner ID",)),
        "channel": (("LeadSource",), ("Lead Source",)),
        "segment": (("Industry",),),
        "country": (("Country",),),
        "company": (("Company",),),
        "name": (("Name",), ("FirstName", "LastName"), ("First Name", "Last Name")),
        "email": (("Email",),),
    },
}  # fmt: skip
# HubSpot's calls and meetings exports (labels, else internal names), with the contact's id;
# Salesforce's Task and Event exports (API names, else report labels: "Call Result" is
# CallDisposition, "Comments" is Description), with the lead's id in WhoId.
_TOUCH_PRESET_COLUMNS: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "hubspot": {
        "lead_external_id": (
            ("Associated Contact IDs",), ("Associated Contact ID",), ("Contact ID",),
        ),
        "at": (("Activity date",), ("hs_timestamp",), ("Create date",), ("hs_createdate",)),
        "kind": (("Activity type",), ("hs_engagement_type",), ("Engagement type",)),
        "rep": (("Activity assigned to",), ("hubspot_owner_id",), ("HubSpot Owner",)),
        "outcome": (
            ("Call outcome",), ("hs_call_disposition",), ("Meeting outcome",),
            ("hs_meeting_outcome",),
        ),
        "note": (
            ("Call notes",), ("hs_call_body",), ("Activity notes",), ("Meeting description",),
            ("hs_meeting_body",), ("Note body",), ("hs_note_body",),
        ),
    },
    "salesforce": {
        "lead_external_id": (("WhoId",),),
        "at": (
            ("CompletedDateTime",), ("ActivityDateTime",), ("CreatedDate",), ("Created Date",),
            ("ActivityDate",),
        ),
        "kind": (("TaskSubtype",), ("EventSubtype",), ("Type",)),
        "rep": (("OwnerId",), ("Assigned",)),
        "outcome": (("CallDisposition",), ("Call Result",)),
        "note": (("Description",), ("Comments",)),
    },
}  # fmt: skip


def _normalise(name: str) -> str:
    """A column name compared loosely: case, spaces, punctuation and Salesforce's "__c" ignored."""
    name = name.strip().casefold()
    name = name.removesuffix("__c")
    return re.sub(r"[\W_]+", "", name)


def suggest_mapping(columns: list[str], kind: str = "leads") -> dict[str, str]:
    """Canonical field -> column, by loose name and common synonyms; one field per column."""
    fields = _fields_of(kind)
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(_normalise(column), column)
    suggested: dict[str, str] = {}
    used: set[str] = set()
    for field_name in fields:  # a column named exactly like a field goes to that field first
        column = by_name.get(_normalise(field_name))
        if column is not None:
            suggested[field_name] = column
            used.add(column)
    for field_name in fields:
        if field_name in suggested:
            continue
        for synonym in _SYNONYMS[kind][field_name]:
            column = by_name.get(_normalise(synonym))
            if column is not None and column not in used:
                suggested[field_name] = column
                used.add(column)
                break
    return {name: suggested[name] for name in fields if name in suggested}


def resolve_mapping(
    columns: list[str],
    *,
    kind: str = "leads",
    preset: str | None = None,
    overrides: Mapping[str, str] = _NO_OVERRIDES,
    filename: str = "",
) -> dict[str, list[str]]:
    """Field -> columns: the preset's or the suggested ones, then `--map FIELD=COLUMN` overrides.

    With overrides and no preset, only the overrides are mapped. An override with an empty column
    unmaps its field; "A+B" joins two columns with a space (e.g. first and last name).
    """
    fields = _fields_of(kind)
    chosen = {
        name: _override_columns(name, value, columns, fields, filename)
        for name, value in overrides.items()
    }
    if preset is not None:
        mapping = _preset_mapping(columns, preset, kind)
    elif overrides:
        mapping = {}
    else:
        mapping = _suggested_mapping(columns, kind)
    mapping.update(chosen)
    if (
        preset == "salesforce"
        and kind == "leads"
        and "mql_at" not in mapping
        and "created_at" in mapping
    ):
        mapping["mql_at"] = list(mapping["created_at"])
    return {name: mapping[name] for name in fields if mapping.get(name)}


def _override_columns(
    field_name: str, value: str, columns: list[str], fields: tuple[str, ...], filename: str
) -> list[str]:
    """The columns of one `--map FIELD=COLUMN`: exact name, else one loosely equal, else A+B."""
    if field_name not in fields:
        raise UnknownField(
            f"unknown field '{field_name}' in --map; the fields are: {', '.join(fields)}"
        )
    value = value.strip()
    if not value:
        return []
    found = _find_column(value, columns)
    if found is not None:
        return [found]
    parts = [_find_column(part.strip(), columns) for part in value.split("+")]
    if len(parts) > 1 and all(parts):
        return [part for part in parts if part is not None]
    where = f"{filename}: " if filename else ""
    raise FileRefused(
        f"{where}column '{value}' (from --map {field_name}={value}) is not in the "
        f"file; its columns are: {', '.join(columns)}"
    )


def _find_column(name: str, columns: list[str]) -> str | None:
    """The column called `name`, or the only column whose loose name matches it."""
    if name in columns:
        return name
    loose = [column for column in columns if _normalise(column) == _normalise(name)]
    return loose[0] if len(loose) == 1 else None


def _preset_mapping(columns: list[str], preset: str, kind: str) -> dict[str, list[str]]:
    """The preset's fields whose columns (labels or internal names) the file has."""
    if preset not in _PRESET_COLUMNS:
        raise UsageError(f"unknown preset '{preset}'; use one of: {', '.join(PRESETS)}")
    presets = _PRESET_COLUMNS if kind == "leads" else _TOUCH_PRESET_COLUMNS
    by_name = {_normalise(column): column for column in reversed(columns)}
    mapping: dict[str, list[str]] = {}
    for field_name, alternatives in presets[preset].items():
        for group in alternatives:
            present = [by_name[_normalise(name)] for name in group if _normalise(name) in by_name]
            if present:
                mapping[field_name] = present
                break
    return mapping


def _suggested_mapping(columns: list[str], kind: str) -> dict[str, list[str]]:
    """suggest_mapping as lists, with a name built from first and last name columns if need be."""
    mapping = {name: [column] for name, column in suggest_mapping(columns, kind).items()}
    if kind == "leads" and "name" not in mapping:
        used = {column for group in mapping.values() for column in group}
        free = {_normalise(column): column for column in columns if column not in used}
        for first, last in _FIRST_LAST_NAMES:
            if _normalise(first) in free and _normalise(last) in free:
                mapping["name"] = [free[_normalise(first)], free[_normalise(last)]]
                break
    return mapping


def _check_mapping(
    table: Table, mapping: Mapping[str, Sequence[str]], kind: str
) -> dict[str, list[str]]:
    """The mapping without empty entries; refuse unknown fields and columns not in the file."""
    fields = _fields_of(kind)
    clean: dict[str, list[str]] = {}
    for name, columns in mapping.items():
        if name not in fields:
            raise UnknownField(f"unknown field '{name}'; the fields are: {', '.join(fields)}")
        columns = [columns] if isinstance(columns, str) else list(columns)
        for column in columns:
            if column not in table.columns:
                raise FileRefused(
                    f"{table.filename}: column '{column}' (mapped to {name}) is not "
                    f"in the file; its columns are: {', '.join(table.columns)}"
                )
        if columns:
            clean[name] = columns
    for name in _REQUIRED[kind]:
        if name not in clean:
            raise FileRefused(
                f"{table.filename}: no column is mapped to {name}; pass --map {name}=COLUMN"
            )
    return clean
