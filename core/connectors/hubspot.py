"""HubSpot: contacts become leads; calls, emails and meetings become their touches (CRM v3
search, v4 associations, v3 owners), each stream read oldest-modified first from its watermark.

- Auth: a private app's access token (a 401 means it was revoked: it cannot be refreshed), or
  an OAuth app whose access token is refreshed with its refresh token on a 401
  (`POST /oauth/v1/token`); a refused refresh means the app's access was revoked.
- Paging: every page is a fresh search from the latest modification time read so far (GTE,
  sorted ascending), `after` only stepping through records that share one time. A search
  never pages near HubSpot's cap of 10,000 results per query, and a record modified while
  the sync pages (it moves to the end) cannot shift an unread one into a page already read.
  Rows at the restart time are read again and change nothing when stored again.
- Owners: `hubspot_owner_id` is looked up in the owners list (active and archived), then by
  email among Handoff's users; an owner no user matches keeps the lowered email (noted).
- Touches: one per (engagement, associated contact); an engagement without a contact is
  skipped (noted). Call outcomes are HubSpot's default dispositions (their ids), meeting
  outcomes its meeting outcomes; a custom disposition is stored without an outcome (noted).
- Automated emails (the `automated_email` setting, rules `property=value`, `*` for any
  value): by default an email sent by a sequence (`hs_sequence_id` set), a reply from the
  contact (`hs_email_direction=INCOMING_EMAIL`) and an email forwarded to the CRM
  (`FORWARDED_EMAIL`) are automated, so they never count as a rep's attempt; an email sent or
  logged by a rep (`EMAIL`, no sequence) is a manual 1:1 touch. Calls and meetings are manual.
"""

import html
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.connectors.base import (
    Chunk,
    HttpError,
    SettingField,
    SyncError,
    TokenRevoked,
    watermark,
)
from core.connectors.http import ApiClient
from core.errors import InvalidInput

LABEL = "HubSpot"
DEFAULT_BASE_URL = "https://api.hubapi.com"
AUTH_MODES = ("private_app", "oauth")
PAGE_SIZE_MAX = 200  # HubSpot's search limit per page
SEARCH_RESULT_CAP = 10_000  # results one search query can page through
OWNERS_PAGE_SIZE = 100
NOTE_MAX_CHARS = 5_000
DEFAULT_AUTOMATED_EMAIL = ("hs_sequence_id=*", "hs_email_direction=INCOMING_EMAIL",
                           "hs_email_direction=FORWARDED_EMAIL")
TOKEN_PATH = "/oauth/v1/token"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SETTINGS = [
    SettingField("base_url", "API address", "HubSpot's API host; change it only for a test "
                 "server.", DEFAULT_BASE_URL),
    SettingField("auth", "Authentication", "private_app: a private app's access token; oauth: "
                 "an OAuth app's client id, client secret and refresh token.", "private_app",
                 choices=(("private_app", "Private app access token"),
                          ("oauth", "OAuth app (refresh token)"))),
    SettingField("page_size", "Records per page", f"1 to {PAGE_SIZE_MAX} records per search "
                 "request.", 100),
    SettingField("automated_email", "Automated emails", "Emails matching any of these "
                 "property=value rules (* for any value) are automated and never count as an "
                 "attempt.", list(DEFAULT_AUTOMATED_EMAIL)),
    SettingField("access_token", "Access token", "The private app's token (pat-...), or the "
                 "OAuth app's current access token.", secret=True),
    SettingField("client_id", "Client id", "The OAuth app's client id.", secret=True),
    SettingField("client_secret", "Client secret", "The OAuth app's client secret.",
                 secret=True),
    SettingField("refresh_token", "Refresh token", "The OAuth app's refresh token.",
                 secret=True),
]
HINTED_CREDENTIAL = "access_token"
_SETTING_KEYS = {f.key for f in SETTINGS if not f.secret} | {"every_minutes"}
_RULE = re.compile(r"^([a-z0-9_]+)=(\S.*)$")

CONTACT_DATES = {
    "created_at": "createdate", "mql_at": "hs_lifecyclestage_marketingqualifiedlead_date",
    "sql_at": "hs_lifecyclestage_salesqualifiedlead_date",
    "opportunity_at": "hs_lifecyclestage_opportunity_date",
    "won_at": "hs_lifecyclestage_customer_date",
}
CONTACT_TEXTS = {"channel": "hs_analytics_source", "email": "email", "company": "company",
                 "country": "country", "lifecyclestage": "lifecyclestage"}
CONTACT_PROPERTIES = (*CONTACT_DATES.values(), *CONTACT_TEXTS.values(), "lastmodifieddate",
                      "hubspot_owner_id", "firstname", "lastname")

# HubSpot's six default call dispositions (custom ones have other ids: no outcome).
CALL_OUTCOMES = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "connected",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "voicemail",  # left voicemail
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "voicemail",  # left live message
    "73a0d17f-1163-4015-bdd5-ec830791da20": "no_answer",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "no_answer",  # busy
    "17b47fee-58de-441e-a44c-c6300d46f273": "no_answer",  # wrong number
}
MEETING_OUTCOMES = {"SCHEDULED": "meeting_booked", "RESCHEDULED": "meeting_booked",
                    "COMPLETED": "meeting_booked", "NO_SHOW": "no_answer", "CANCELED": None}


@dataclass(frozen=True)
class Engagement:
    """One engagement object read as touches."""

    stream: str  # the object type in the API's paths, and the stream's name
    kind: str
    notes: tuple[str, ...]  # properties joined into the touch's note
    outcome: str | None = None  # the property holding the outcome
    outcomes: Mapping[str, str | None] = field(default_factory=dict)
    extra: tuple[str, ...] = ()  # other properties to read
    ruled: bool = False  # automated by the `automated_email` rules

    def properties(self, rules: Sequence[tuple[str, str]]) -> list[str]:
        wanted = ["hs_timestamp", "hs_lastmodifieddate", "hubspot_owner_id", *self.notes,
                  *self.extra, *([self.outcome] if self.outcome else [])]
        wanted += [name for name, _ in rules] if self.ruled else []
        return list(dict.fromkeys(wanted))


ENGAGEMENTS = (
    Engagement("calls", "call", ("hs_call_title", "hs_call_body"), "hs_call_disposition",
               CALL_OUTCOMES),
    Engagement("emails", "email", ("hs_email_subject",), extra=("hs_email_direction",),
               ruled=True),
    Engagement("meetings", "meeting", ("hs_meeting_title",), "hs_meeting_outcome",
               MEETING_OUTCOMES),
)


# --- settings -------------------------------------------------------------------------------


def validate_settings(settings: dict) -> dict:
    """The settings with defaults filled in; a bad value is refused naming its key."""
    unknown = sorted(set(settings) - _SETTING_KEYS)
    if unknown:
        raise InvalidInput(unknown[0], "not a HubSpot setting; use "
                           f"{', '.join(sorted(_SETTING_KEYS))}")
    clean = {f.key: settings.get(f.key, f.default) for f in SETTINGS if not f.secret}
    clean["base_url"] = _base_url(clean["base_url"])
    if clean["auth"] not in AUTH_MODES:
        raise InvalidInput("auth", f"use {' or '.join(AUTH_MODES)}")
    clean["page_size"] = _page_size(clean["page_size"])
    clean["automated_email"] = _automated_rules(clean["automated_email"])
    if "every_minutes" in settings:
        clean["every_minutes"] = settings["every_minutes"]
    return clean


def required_credentials(settings: dict) -> list[str]:
    """The credential keys the chosen authentication needs."""
    if settings.get("auth", "private_app") == "oauth":
        return ["client_id", "client_secret", "refresh_token"]
    return ["access_token"]


def _base_url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://\S+$", value.strip()):
        raise InvalidInput("base_url", "an http:// or https:// address, e.g. "
                           f"{DEFAULT_BASE_URL}")
    return value.strip().rstrip("/")


def _page_size(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PAGE_SIZE_MAX:
        raise InvalidInput("page_size", f"a whole number from 1 to {PAGE_SIZE_MAX}")
    return value


def _automated_rules(value: Any) -> list[str]:
    """Rules as `property=value` strings; a text of rules may separate them by commas or lines."""
    if isinstance(value, str):
        value = re.split(r"[,\n]", value)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("automated_email", "a list of property=value rules")
    rules = [rule.strip() for rule in value if rule.strip()]
    for rule in rules:
        if not _RULE.match(rule):
            raise InvalidInput("automated_email", f"'{rule}' is not a rule: write "
                               "property=value (a lowercase property name; * for any value), "
                               "e.g. hs_email_direction=INCOMING_EMAIL")
    return rules


def _parsed_rules(rules: Sequence[str]) -> list[tuple[str, str]]:
    return [_RULE.match(rule).groups() for rule in rules]


# --- credentials ----------------------------------------------------------------------------


class PrivateAppToken:
    """A private app's access token: it never expires, so a 401 means it was revoked."""

    def __init__(self, token: str):
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self) -> None:
        raise TokenRevoked("HubSpot refused the private app's access token (401): it was "
                           "revoked or rotated; enter the app's current token")


class _Unsigned:
    """No credentials: the token endpoint is called with the app's id and secret in the body."""

    def headers(self) -> dict[str, str]:
        return {}

    def refresh(self) -> None:
        raise TokenRevoked(OAUTH_REVOKED)


OAUTH_REVOKED = ("HubSpot refused the OAuth app's refresh token: the app was uninstalled or "
                 "its access revoked (or the client id or secret changed); connect HubSpot "
                 "again and enter new credentials")
# What HubSpot's token endpoint answers for a refresh token it will not honour.
_REFUSALS = ("BAD_REFRESH_TOKEN", "invalid_grant")


class OAuthToken:
    """An OAuth app's access token, refreshed with its refresh token when HubSpot answers 401;
    each new token is handed to `save` so the next sync starts with it."""

    def __init__(self, base_url: str, credentials: Mapping[str, str],
                 save: Callable[[dict[str, str]], None]):
        self.base_url, self.values, self.save = base_url, dict(credentials), save

    def headers(self) -> dict[str, str]:
        token = self.values.get("access_token")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def refresh(self) -> None:
        answer = self._token_request()
        fresh = {"access_token": str(answer["access_token"])}
        if answer.get("refresh_token") and answer["refresh_token"] != self.values.get(
                "refresh_token"):
            fresh["refresh_token"] = str(answer["refresh_token"])
        self.values.update(fresh)
        self.save(fresh)

    def _token_request(self) -> dict[str, Any]:
        fields = {"grant_type": "refresh_token", "client_id": self.values["client_id"],
                  "client_secret": self.values["client_secret"],
                  "refresh_token": self.values["refresh_token"]}
        client = ApiClient(self.base_url, _Unsigned())
        try:
            return client.request("POST", TOKEN_PATH, data=fields)
        except HttpError as error:  # a 4xx: HubSpot refused the refresh token or the app
            if error.status == 400 or any(word in error.body for word in _REFUSALS):
                raise TokenRevoked(OAUTH_REVOKED) from None
            raise
        finally:
            client.close()


def puller(settings: dict, credentials: dict[str, str], *, owners: Mapping[str, str],
           save_credentials: Callable[[dict[str, str]], None]) -> "HubSpotPuller":
    """The HubSpot puller for these settings and credentials."""
    settings = validate_settings(settings)
    if settings["auth"] == "oauth":
        signer = OAuthToken(settings["base_url"], credentials, save_credentials)
    else:
        signer = PrivateAppToken(credentials.get("access_token", ""))
    return HubSpotPuller(settings, ApiClient(settings["base_url"], signer), owners)


# --- the pull -------------------------------------------------------------------------------


class OwnerBook:
    """HubSpot owner ids to Handoff usernames, by email; the lowered email when no user has it,
    nothing when HubSpot lists no email for the id."""

    def __init__(self, emails: Mapping[str, str], users: Mapping[str, str]):
        self.emails, self.users = emails, users

    def resolve(self, owner_id: Any) -> tuple[str | None, bool]:
        """The owner to store, and whether no user matched it."""
        if owner_id in (None, ""):
            return None, False
        email = self.emails.get(str(owner_id))
        if not email:
            return None, True
        user = self.users.get(email)
        return user or email, user is None


class HubSpotPuller:
    """Contacts, then calls, emails and meetings, each since its watermark."""

    name = "hubspot"

    def __init__(self, settings: dict, client: ApiClient, users: Mapping[str, str]):
        self.client, self.users = client, users
        self.page_size = settings["page_size"]
        self.rules = _parsed_rules(settings["automated_email"])

    def chunks(self, watermarks: Mapping[str, str]) -> Iterator[Chunk]:
        """One chunk per search page: contacts first, then each engagement type."""
        owners = OwnerBook(self._owner_emails(), self.users)
        yield from self._contact_chunks(watermarks.get("contacts"), owners)
        for engagement in ENGAGEMENTS:
            yield from self._engagement_chunks(engagement, watermarks.get(
                engagement.stream), owners)

    def close(self) -> None:
        self.client.close()

    def _owner_emails(self) -> dict[str, str]:
        """Every owner's lowered email by id, archived owners too (they still own records)."""
        emails = {}
        for archived in ("false", "true"):
            after = None
            while True:
                page = self.client.get("/crm/v3/owners", limit=OWNERS_PAGE_SIZE,
                                       archived=archived, **({"after": after} if after else {}))
                emails.update({str(o["id"]): o["email"].strip().lower()
                               for o in page.get("results", []) if o.get("email")})
                after = _next_after(page)
                if not after:
                    break
        return emails

    def _contact_chunks(self, since: str | None, owners: OwnerBook) -> Iterator[Chunk]:
        pages = self._search("contacts", "lastmodifieddate", CONTACT_PROPERTIES, since)
        for records in pages:
            rows, unmatched = [], 0
            for record in records:
                row, lost = _lead_row(record, owners)
                rows.append(row)
                unmatched += lost
            yield Chunk("contacts", "leads", rows, _latest(records, "lastmodifieddate"),
                        _owner_note(unmatched, "contacts"))

    def _engagement_chunks(self, engagement: Engagement, since: str | None,
                           owners: OwnerBook) -> Iterator[Chunk]:
        pages = self._search(engagement.stream, "hs_lastmodifieddate",
                             engagement.properties(self.rules), since)
        for records in pages:
            contacts = self._associated_contacts(engagement.stream, [r["id"] for r in records])
            touches = _Touches(engagement, owners, self.rules)
            for record in records:
                touches.add(record, contacts.get(str(record["id"]), []))
            yield Chunk(engagement.stream, "touches", touches.rows,
                        _latest(records, "hs_lastmodifieddate"), touches.notes())

    def _associated_contacts(self, object_type: str, ids: list[str]) -> dict[str, list[str]]:
        """Each engagement's contact ids (one batch read per page)."""
        answer = self.client.post(f"/crm/v4/associations/{object_type}/contacts/batch/read",
                                  {"inputs": [{"id": str(i)} for i in ids]})
        return {str(result["from"]["id"]): [str(to["toObjectId"]) for to in result.get("to", [])]
                for result in (answer or {}).get("results", [])}

    def _search(self, object_type: str, modified: str, properties: Sequence[str],
                since: str | None) -> Iterator[list[dict[str, Any]]]:
        """Pages of records modified at or after `since`, oldest first; each page a fresh search
        from the latest time read (the module docstring says why), rows already read at that
        time dropped."""
        start, skip, seen = _epoch_ms(since) if since else 0, 0, set()
        while True:
            page = self.client.post(f"/crm/v3/objects/{object_type}/search",
                                    self._search_body(modified, properties, start, skip))
            records = page.get("results", [])
            fresh = [r for r in records if (r["id"], _modified_ms(r, modified)) not in seen]
            if fresh:
                yield fresh
            if not records or not _next_after(page):
                return
            latest = _modified_ms(records[-1], modified)
            if latest > start:
                start, skip = latest, 0
                seen = {(r["id"], latest) for r in records if _modified_ms(r, modified) == latest}
            else:
                skip += len(records)
                seen |= {(r["id"], latest) for r in records}
                if skip >= SEARCH_RESULT_CAP:
                    raise SyncError(f"HubSpot {object_type}: more than {SEARCH_RESULT_CAP:,} "
                                    f"records share the modification time {_iso_ms(start)}; "
                                    "its search cannot page past them")

    def _search_body(self, modified: str, properties: Sequence[str], start: int,
                     skip: int) -> dict[str, Any]:
        body = {"filterGroups": [{"filters": [{"propertyName": modified, "operator": "GTE",
                                               "value": str(start)}]}],
                "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                "properties": list(properties), "limit": self.page_size}
        return {**body, "after": str(skip)} if skip else body


class _Touches:
    """The touch rows of one page of engagements, and what the page's notes count."""

    def __init__(self, engagement: Engagement, owners: OwnerBook,
                 rules: Sequence[tuple[str, str]]):
        self.engagement, self.owners, self.rules = engagement, owners, rules
        self.rows: list[dict[str, Any]] = []
        self.alone = self.unmatched = self.custom_outcomes = 0

    def add(self, record: dict[str, Any], contacts: list[str]) -> None:
        """One row per associated contact; an engagement without one is counted, not stored."""
        if not contacts:
            self.alone += 1
            return
        values = record.get("properties") or {}
        rep, unmatched = self.owners.resolve(values.get("hubspot_owner_id"))
        self.unmatched += unmatched
        touch = {"at": _iso(values.get("hs_timestamp")), "kind": self.engagement.kind,
                 "rep": rep, "automated": self._automated(values),
                 "outcome": self._outcome(values), "note": _note(values, self.engagement.notes)}
        self.rows += [{"lead_external_id": contact, **touch} for contact in contacts]

    def notes(self) -> list[str]:
        stream = self.engagement.stream
        notes = _owner_note(self.unmatched, stream)
        if self.alone:
            notes.append(f"{self.alone} {stream} without an associated contact were skipped")
        if self.custom_outcomes:
            notes.append(f"{self.custom_outcomes} {stream} had an outcome that is not one of "
                         "HubSpot's defaults; stored without an outcome")
        return notes

    def _automated(self, values: Mapping[str, Any]) -> bool:
        if not self.engagement.ruled:
            return False
        return any(values.get(name) not in (None, "") and (wanted == "*" or str(
            values[name]) == wanted) for name, wanted in self.rules)

    def _outcome(self, values: Mapping[str, Any]) -> str | None:
        value = values.get(self.engagement.outcome) if self.engagement.outcome else None
        if value in (None, ""):
            return None
        if value not in self.engagement.outcomes:
            self.custom_outcomes += 1
            return None
        return self.engagement.outcomes[value]


def _lead_row(record: dict[str, Any], owners: OwnerBook) -> tuple[dict[str, Any], bool]:
    """A contact as a lead row, and whether its owner matched no user."""
    values = record.get("properties") or {}
    owner, unmatched = owners.resolve(values.get("hubspot_owner_id"))
    name = " ".join(part.strip() for part in (values.get("firstname"), values.get("lastname"))
                    if part and part.strip())
    row = {"external_id": str(record["id"]), "owner": owner, "name": name or None}
    row |= {key: _iso(values.get(prop)) for key, prop in CONTACT_DATES.items()}
    row |= {key: values.get(prop) or None for key, prop in CONTACT_TEXTS.items()}
    return row, unmatched


def _owner_note(unmatched: int, stream: str) -> list[str]:
    if not unmatched:
        return []
    return [f"{unmatched} {stream} had a HubSpot owner no Handoff user matches by email (kept "
            "as the owner's email, or empty when HubSpot has no email for the owner)"]


def _note(values: Mapping[str, Any], properties: Sequence[str]) -> str | None:
    """The engagement's title and body as plain text, within the note's length."""
    parts = [_plain_text(values.get(name)) for name in properties]
    text = "\n\n".join(part for part in parts if part)
    return text[:NOTE_MAX_CHARS] or None


def _plain_text(value: Any) -> str:
    """HubSpot's call and meeting bodies are HTML: their text."""
    if not value:
        return ""
    text = re.sub(r"<br\s*/?>|</p>", "\n", str(value), flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _next_after(page: Mapping[str, Any]) -> str | None:
    return ((page.get("paging") or {}).get("next") or {}).get("after")


def _parse_time(value: Any) -> datetime | None:
    """A HubSpot time: ISO 8601 (what v3 answers) or epoch milliseconds."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return EPOCH + timedelta(milliseconds=int(text))
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: Any) -> str | None:
    """A time in the one format watermarks use (so that text order is time order)."""
    parsed = _parse_time(value)
    return watermark(parsed) if parsed else None


def _iso_ms(milliseconds: int) -> str:
    return watermark(EPOCH + timedelta(milliseconds=milliseconds))


def _epoch_ms(value: Any) -> int:
    return (_parse_time(value) - EPOCH) // timedelta(milliseconds=1)


def _modified_ms(record: Mapping[str, Any], modified: str) -> int:
    return _epoch_ms((record.get("properties") or {}).get(modified) or record.get("updatedAt"))


def _latest(records: Sequence[Mapping[str, Any]], modified: str) -> str:
    return _iso_ms(max(_modified_ms(record, modified) for record in records))
