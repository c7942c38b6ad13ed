"""Salesforce: Leads, the Opportunities converted leads became, Tasks and Events, read with SOQL
through the REST API's query resource (`/services/data/vXX.X/query`, then each
`nextRecordsUrl` until `done`).

- Auth: an OAuth 2.0 connected app, by the client-credentials flow (consumer key and secret) or
  the JWT bearer flow (consumer key, the integration user's username and the private key whose
  certificate the app holds). Neither flow has a refresh token: an expired session
  (401 INVALID_SESSION_ID) is answered by asking the token endpoint again, once; a token
  endpoint that refuses the app (invalid_client, invalid_grant) is a revoked credential.
- Incremental: each stream resumes at `SystemModstamp >= watermark`, ordered by SystemModstamp
  and Id, one chunk per page of records.
- A converted lead's Opportunity is written to the lead (`ConvertedOpportunityId`), and the
  activities Salesforce moves to the contact on conversion still count for the lead
  (`ConvertedContactId`). Activities of anyone else (contacts not converted from a lead, no
  one) are skipped, and each chunk's notes say how many.
- The daily API request limit (403 REQUEST_LIMIT_EXCEEDED) stops the sync; the next one resumes
  from the last stored page.
"""

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

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
from core.ingest.fields import TOUCH_NOTE_MAX_CHARS
from core.ingest.touches import known_outcome

LABEL = "Salesforce"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180  # Salesforce refuses assertions that expire more than 3 minutes out
AUTH_MODES = {"client_credentials": ["client_id", "client_secret"],
              "jwt": ["client_id", "username", "private_key"]}
BATCH_SIZES = (200, 2000)  # the Sforce-Query-Options batchSize Salesforce accepts
LOOKUP_IDS = 200  # ids per `IN (...)` lookup: keeps the GET's URL well within Salesforce's bound
LEAD_PREFIX, CONTACT_PREFIX = "00Q", "003"

_API_VERSION = re.compile(r"^v\d{2,3}\.\d$")
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")

SETTINGS = [
    SettingField("auth", "Sign-in", "client_credentials (the connected app's consumer key and "
                 "secret) or jwt (consumer key, username and private key)",
                 "client_credentials", choices=(("client_credentials", "Client credentials flow"),
                                                ("jwt", "JWT bearer flow"))),
    SettingField("login_url", "Login URL", "Where tokens come from: your My Domain URL "
                 "(the client-credentials flow needs it), https://login.salesforce.com or "
                 "https://test.salesforce.com for a sandbox", DEFAULT_LOGIN_URL),
    SettingField("api_version", "API version", "The REST API version, e.g. v60.0", "v60.0"),
    SettingField("mql_field", "MQL date field", "The Lead field that holds when it became an "
                 "MQL (e.g. MQL_Date__c); CreatedDate when every lead is an MQL", "CreatedDate"),
    SettingField("batch_size", "Records per page", "How many records each query page asks for "
                 "(200 to 2,000)", 2000),
    SettingField("client_id", "Consumer key", "The connected app's consumer key", secret=True),
    SettingField("client_secret", "Consumer secret", "The connected app's consumer secret "
                 "(client-credentials sign-in)", secret=True),
    SettingField("username", "Username", "The integration user's username (JWT sign-in)",
                 secret=True),
    SettingField("private_key", "Private key", "The PEM private key of the certificate uploaded "
                 "to the connected app (JWT sign-in)", secret=True, multiline=True),
]
HINTED_CREDENTIAL = "client_id"
_DEFAULTS = {field.key: field.default for field in SETTINGS if not field.secret}


def validate_settings(settings: dict) -> dict:
    """The settings with defaults filled in; a bad value is refused naming the allowed ones."""
    unknown = sorted(set(settings) - set(_DEFAULTS) - {"every_minutes"})
    if unknown:
        raise InvalidInput(unknown[0], f"not a Salesforce setting; use {', '.join(_DEFAULTS)}")
    clean = {**_DEFAULTS, **{k: v for k, v in settings.items() if v not in (None, "")}}
    if clean["auth"] not in AUTH_MODES:
        raise InvalidInput("auth", f"use one of: {', '.join(AUTH_MODES)}")
    clean["login_url"] = str(clean["login_url"]).strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", clean["login_url"]):
        raise InvalidInput("login_url", "an http(s) URL such as https://acme.my.salesforce.com")
    if not _API_VERSION.match(str(clean["api_version"])):
        raise InvalidInput("api_version", "a REST API version such as v60.0")
    if not _FIELD_NAME.match(str(clean["mql_field"])):
        raise InvalidInput("mql_field", "a Lead field's API name, such as CreatedDate or "
                           "MQL_Date__c")
    clean["batch_size"] = _batch_size(clean["batch_size"])
    return clean


def _batch_size(value: Any) -> int:
    low, high = BATCH_SIZES
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if not low <= size <= high or str(size) != str(value).strip():
        raise InvalidInput("batch_size", f"a whole number from {low} to {high:,}")
    return size


def required_credentials(settings: dict) -> list[str]:
    """The consumer key and secret, or for JWT the consumer key, username and private key."""
    return list(AUTH_MODES.get(settings.get("auth", "client_credentials"), []))


def puller(settings: dict, credentials: dict[str, str], *, owners: Mapping[str, str],
           save_credentials: Callable[[dict[str, str]], None]) -> "SalesforcePuller":
    """The Salesforce puller for these settings and credentials."""
    clean = validate_settings(settings)
    return SalesforcePuller(clean, _Login(clean, credentials, save_credentials), owners)


# --- sign-in --------------------------------------------------------------------------------


class _Anonymous:
    """The token endpoint's credentials: none (the grant is in the form)."""

    def headers(self) -> dict[str, str]:
        return {}

    def refresh(self) -> None:
        raise TokenRevoked("Salesforce's token endpoint refused the connected app (401); "
                           "enter new credentials")


class _Login:
    """A Salesforce access token and the instance it is for; a new one when it expires."""

    def __init__(self, settings: dict, credentials: Mapping[str, str],
                 save_credentials: Callable[[dict[str, str]], None]):
        self.settings, self.credentials = settings, dict(credentials)
        self.save_credentials = save_credentials
        self.access_token = self.credentials.get("access_token", "")
        self.instance_url = self.credentials.get("instance_url", "")
        self.on_new_instance: Callable[[str], None] = lambda _url: None

    def headers(self) -> dict[str, str]:
        if not self.access_token:
            self.refresh()
        return {"Authorization": f"Bearer {self.access_token}"}

    def refresh(self) -> None:
        """A new access token from the token endpoint, kept for the next run."""
        login = ApiClient(self.settings["login_url"], _Anonymous())
        try:
            answer = self._token(login)
        finally:
            login.close()
        if not answer.get("access_token") or not answer.get("instance_url"):
            raise SyncError("Salesforce's token endpoint answered without an access token "
                            "and instance URL")
        instance_url = answer["instance_url"].rstrip("/")
        if instance_url != self.instance_url:
            self.on_new_instance(instance_url)
        self.access_token, self.instance_url = answer["access_token"], instance_url
        self.save_credentials({"access_token": self.access_token,
                               "instance_url": self.instance_url})

    def _token(self, login: ApiClient) -> dict[str, Any]:
        try:
            return login.request("POST", TOKEN_PATH, data=self._grant()) or {}
        except HttpError as error:
            if error.status != 400:
                raise
            raise TokenRevoked(f"Salesforce refused the connected app's credentials "
                               f"({_oauth_reason(error.body)}); enter new credentials") from None

    def _grant(self) -> dict[str, str]:
        if self.settings["auth"] == "client_credentials":
            return {"grant_type": "client_credentials",
                    "client_id": self.credentials["client_id"],
                    "client_secret": self.credentials["client_secret"]}
        return {"grant_type": JWT_GRANT, "assertion": self._assertion()}

    def _assertion(self) -> str:
        """The JWT bearer assertion, signed RS256 with the connected app's private key."""
        claims = {"iss": self.credentials["client_id"], "sub": self.credentials["username"],
                  "aud": self.settings["login_url"],
                  # Salesforce checks the expiry on its own clock: the real time, not a moved one
                  "exp": int(time.time()) + JWT_LIFETIME_SECONDS}
        try:
            return jwt.encode(claims, self.credentials["private_key"], algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            raise TokenRevoked("the private key is not an RSA private key in PEM form; enter "
                               "it again") from None


def _oauth_reason(body: str) -> str:
    """The OAuth error and its description from the token endpoint's answer."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "HTTP 400"
    parts = [str(answer[key]) for key in ("error", "error_description")
             if isinstance(answer, dict) and answer.get(key)]
    return ": ".join(parts) or "HTTP 400"


# --- the streams ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stream:
    """One SObject read incrementally: its fields, any filter, and how its records become rows."""

    name: str
    kind: str  # leads | touches
    fields: tuple[str, ...]
    rows: Callable[["SalesforcePuller", list[dict]], tuple[list[dict], list[str]]]
    where: str = ""


class SalesforcePuller:
    """Salesforce bound to its settings and session: Lead, Opportunity, Task, Event chunks."""

    name = "salesforce"

    def __init__(self, settings: dict, session: _Login, owners: Mapping[str, str]):
        self.settings, self.session, self.owners = settings, session, owners
        self.base = f"/services/data/{settings['api_version']}"
        self.api: ApiClient | None = None
        self.user_emails: dict[str, str] = {}

    def close(self) -> None:
        """Nothing to release: each call of chunks() opens and closes its own client."""

    def chunks(self, watermarks: Mapping[str, str]) -> Iterator[Chunk]:
        """Every stream's pages since its watermark: leads and opportunities, then activities."""
        if not self.session.access_token or not self.session.instance_url:
            self.session.refresh()
        self.api = ApiClient(self.session.instance_url, self.session)
        self.api.http.headers["Sforce-Query-Options"] = f"batchSize={self.settings['batch_size']}"
        self.session.on_new_instance = self._move_to
        try:
            self.user_emails = {user["Id"]: (user.get("Email") or "").strip().lower()
                                for page in self._pages("SELECT Id, Email FROM User")
                                for user in page}
            for stream in self._streams():
                yield from self._stream_chunks(stream, watermarks.get(stream.name))
        finally:
            self.api.close()

    def _move_to(self, instance_url: str) -> None:
        """A new token for another instance: the next requests go there."""
        self.api.http.base_url = instance_url

    def _streams(self) -> list[_Stream]:
        mql = self.settings["mql_field"]
        lead_fields = ("FirstName", "LastName", "Company", "Email", "LeadSource", "Industry",
                       "Country", "Status", "OwnerId", "CreatedDate", "ConvertedDate")
        return [
            _Stream("Lead", "leads", (*lead_fields, mql), SalesforcePuller._lead_rows),
            _Stream("Opportunity", "leads", ("CreatedDate", "CloseDate", "IsClosed", "IsWon",
                                             "Amount"), SalesforcePuller._opportunity_rows),
            _Stream("Task", "touches", ("WhoId", "OwnerId", "TaskSubtype", "Subject",
                                        "Description", "CallDisposition", "CompletedDateTime",
                                        "CreatedDate"),
                    SalesforcePuller._task_rows, where="IsClosed = true"),
            _Stream("Event", "touches", ("WhoId", "OwnerId", "Subject", "Description",
                                         "StartDateTime"), SalesforcePuller._event_rows),
        ]

    def _stream_chunks(self, stream: _Stream, since: str | None) -> Iterator[Chunk]:
        for records in self._pages(_incremental_query(stream, since)):
            if not records:
                continue
            rows, notes = stream.rows(self, records)
            yield Chunk(stream.name, stream.kind, rows, _watermark(records[-1]["SystemModstamp"]),
                        notes)

    # --- queries ----------------------------------------------------------------------------

    def _pages(self, soql: str) -> Iterator[list[dict]]:
        """The records of a query, page by page, following nextRecordsUrl until done."""
        answer = self._get(f"{self.base}/query", q=soql)
        yield answer.get("records", [])
        while not answer.get("done", True) and answer.get("nextRecordsUrl"):
            answer = self._get(answer["nextRecordsUrl"])
            yield answer.get("records", [])

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        try:
            return self.api.get(path, **params) or {}
        except HttpError as error:
            if "REQUEST_LIMIT_EXCEEDED" not in error.body:
                raise
            raise SyncError("Salesforce's API request limit for the last 24 hours is used up "
                            "(REQUEST_LIMIT_EXCEEDED); the next sync resumes from the last "
                            "stored page once Salesforce allows requests again") from None

    def _converted_leads(self, field: str, ids: list[str]) -> dict[str, list[str]]:
        """The leads whose conversion gave each of these ids (`field`: ConvertedOpportunityId or
        ConvertedContactId), by that id."""
        wanted = sorted({value for value in ids if _RECORD_ID.match(value)})
        leads: dict[str, list[str]] = {}
        for start in range(0, len(wanted), LOOKUP_IDS):
            listed = ", ".join(f"'{value}'" for value in wanted[start:start + LOOKUP_IDS])
            soql = f"SELECT Id, {field} FROM Lead WHERE {field} IN ({listed}) ORDER BY Id"
            for page in self._pages(soql):
                for lead in page:
                    leads.setdefault(lead[field], []).append(lead["Id"])
        return leads

    # --- records to rows --------------------------------------------------------------------

    def _lead_rows(self, records: list[dict]) -> tuple[list[dict], list[str]]:
        owners = _Owners(self)
        rows = [{
            "external_id": lead["Id"],
            "created_at": _timestamp(lead.get("CreatedDate")),
            "mql_at": _timestamp(lead.get(self.settings["mql_field"])),
            "sql_at": _timestamp(lead.get("ConvertedDate")),
            "owner": owners.name(lead.get("OwnerId")),
            "channel": lead.get("LeadSource"),
            "segment": lead.get("Industry"),
            "country": lead.get("Country"),
            "company": lead.get("Company"),
            "name": " ".join(part for part in (lead.get("FirstName"), lead.get("LastName"))
                             if part) or None,
            "email": lead.get("Email"),
            "Status": lead.get("Status"),
        } for lead in records]
        return rows, owners.notes("leads")

    def _opportunity_rows(self, records: list[dict]) -> tuple[list[dict], list[str]]:
        leads = self._converted_leads("ConvertedOpportunityId", [r["Id"] for r in records])
        rows = [{"external_id": lead_id, **_opportunity_stages(opportunity)}
                for opportunity in records for lead_id in leads.get(opportunity["Id"], [])]
        others = sum(1 for opportunity in records if opportunity["Id"] not in leads)
        notes = [f"opportunities not converted from a lead, skipped: {others}"] if others else []
        return rows, notes

    def _task_rows(self, records: list[dict]) -> tuple[list[dict], list[str]]:
        return self._activity_rows(records, "tasks", _task_touch)

    def _event_rows(self, records: list[dict]) -> tuple[list[dict], list[str]]:
        return self._activity_rows(records, "events", _event_touch)

    def _activity_rows(self, records: list[dict], what: str,
                       touch: Callable[[dict], dict]) -> tuple[list[dict], list[str]]:
        """Touches of the activities about a lead (or the contact a lead became), by its rep."""
        leads = self._leads_of([record.get("WhoId") or "" for record in records])
        owners = _Owners(self)
        rows = [{"lead_external_id": leads[record["WhoId"]], **touch(record),
                 "rep": owners.name(record.get("OwnerId"))}
                for record in records if record.get("WhoId") in leads]
        skipped = len(records) - len(rows)
        notes = owners.notes(what)
        if skipped:
            notes.append(f"{what} not about a lead (or a contact converted from one), "
                         f"skipped: {skipped}")
        return rows, notes

    def _leads_of(self, who_ids: list[str]) -> dict[str, str]:
        """The lead each WhoId stands for: a lead itself, or the contact a lead was converted to
        (Salesforce moves a lead's activities to its contact on conversion)."""
        leads = {who: who for who in who_ids if who.startswith(LEAD_PREFIX)}
        contacts = [who for who in who_ids if who.startswith(CONTACT_PREFIX)]
        if contacts:
            converted = self._converted_leads("ConvertedContactId", contacts)
            leads |= {contact: min(ids) for contact, ids in converted.items()}
        return leads


class _Owners:
    """Salesforce user ids as Handoff usernames (by email), counting those no user matches."""

    def __init__(self, puller: SalesforcePuller):
        self.emails, self.users = puller.user_emails, puller.owners
        self.unmatched = self.not_users = 0

    def name(self, user_id: str | None) -> str | None:
        """The Handoff username with the owner's email, else the lowered email; None for a queue
        or an id that is no user."""
        if not user_id:
            return None
        email = self.emails.get(user_id)
        if not email:
            self.not_users += 1
            return None
        if email not in self.users:
            self.unmatched += 1
        return self.users.get(email, email)

    def notes(self, what: str) -> list[str]:
        notes = []
        if self.unmatched:
            notes.append(f"{what} whose owner's email matches no Handoff user (kept as the "
                         f"email): {self.unmatched}")
        if self.not_users:
            notes.append(f"{what} owned by a queue or an unknown user (no owner): "
                         f"{self.not_users}")
        return notes


def _incremental_query(stream: _Stream, since: str | None) -> str:
    """SOQL for the stream's records modified at or after `since`, oldest first."""
    conditions = [stream.where] if stream.where else []
    if since:
        conditions.append(f"SystemModstamp >= {_soql_datetime(since)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    fields = ", ".join(dict.fromkeys(("Id", *stream.fields, "SystemModstamp")))
    return f"SELECT {fields} FROM {stream.name}{where} ORDER BY SystemModstamp, Id"


def _opportunity_stages(opportunity: dict) -> dict[str, Any]:
    """opportunity_at, and won_at or lost_at on the close date once closed; the amount."""
    closed, won = bool(opportunity.get("IsClosed")), bool(opportunity.get("IsWon"))
    close_date = opportunity.get("CloseDate")
    return {"opportunity_at": _timestamp(opportunity.get("CreatedDate")),
            "won_at": close_date if closed and won else None,
            "lost_at": close_date if closed and not won else None,
            "amount": opportunity.get("Amount")}


def _task_touch(task: dict) -> dict[str, Any]:
    subtype = (task.get("TaskSubtype") or "").lower()
    kind = {"call": "call", "email": "email", "listemail": "email"}.get(subtype, "other")
    said = (task.get("CallDisposition") or "").strip()
    outcome = known_outcome(said)
    note = _note(task)
    if said and outcome is None:  # a free-text call result: kept in the note, not refused
        note = f"Call result: {said}" + (f"\n{note}" if note else "")
    return {"at": _timestamp(task.get("CompletedDateTime") or task.get("CreatedDate")),
            "kind": kind, "automated": subtype == "listemail", "outcome": outcome,
            "note": note[:TOUCH_NOTE_MAX_CHARS] if note else None}


def _event_touch(event: dict) -> dict[str, Any]:
    return {"at": _timestamp(event.get("StartDateTime")), "kind": "meeting", "automated": False,
            "outcome": None, "note": _note(event)}


def _note(activity: dict) -> str | None:
    """The subject and description, within the length a touch's note keeps."""
    text = "\n".join(part.strip() for part in (activity.get("Subject"),
                                              activity.get("Description")) if part and part.strip())
    return text[:TOUCH_NOTE_MAX_CHARS] or None


def _timestamp(value: str | None) -> str | None:
    """A Salesforce dateTime in the one UTC format; a date (YYYY-MM-DD) as it is, which the
    import reads as local midnight, as it does a file's date."""
    if not value:
        return None
    if len(value) == 10:
        return value
    return _watermark(value)


def _watermark(value: str) -> str:
    """A Salesforce dateTime ("2026-11-02T09:00:00.000+0000") as a watermark that sorts as text."""
    return watermark(datetime.fromisoformat(value))


def _soql_datetime(watermark: str) -> str:
    """A watermark as a SOQL dateTime literal; whole seconds, as Salesforce stores them."""
    return datetime.fromisoformat(watermark).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
