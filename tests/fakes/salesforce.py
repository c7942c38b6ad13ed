"""A stateful fake of Salesforce's REST API, served by pytest-httpserver's HTTPServer.

What it serves, in Salesforce's documented shapes:
- `POST /services/oauth2/token`: the client-credentials grant (consumer key and secret) and the
  JWT bearer grant (an RS256 assertion checked against the connected app's certificate key, its
  audience the login URL); `{access_token, instance_url, ...}`, or 400 `invalid_client` /
  `invalid_grant` once the app is revoked.
- `GET /services/data/vXX.X/query?q=<SOQL>` and the `nextRecordsUrl` of each page: the small
  SOQL a sync sends (`SELECT fields FROM Object [WHERE a >= dateTime AND b = true AND c IN
  ('x', 'y')] [ORDER BY a, b]`), paged by the `Sforce-Query-Options: batchSize=N` header
  (200 to 2,000, default 2,000) from a snapshot taken when the query ran, as a query locator
  is; 401 `INVALID_SESSION_ID` for a token it did not issue or has expired.

Its org: Users, Leads (some converted, to a Contact and an Opportunity, their activities moved
to the Contact as Salesforce does), Tasks and Events, generated from a seed. Methods change
records (each change moves the records' SystemModstamp past every other), convert leads and
close opportunities, and inject faults: 429s, a 5xx on a later page, an expired session, a
revoked app, and a permanent failure (403 REQUEST_LIMIT_EXCEEDED by default) after N pages.
"""

import json
import random
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)  # the fake org's "now" when it is generated
TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_BATCH, MIN_BATCH = 2000, 200
DEFAULT_USERS = ("ana@example.com", "Ben@Example.com", "sofia@example.com",
                 "pat@agency.example")  # pat is no Handoff user; Ben's email is mixed case
PREFIXES = {"User": "005", "Lead": "00Q", "Contact": "003", "Opportunity": "006",
            "Task": "00T", "Event": "00U", "Group": "00G"}
FIELDS = {
    "User": ("Id", "Email", "IsActive", "SystemModstamp"),
    "Lead": ("Id", "FirstName", "LastName", "Company", "Email", "LeadSource", "Industry",
             "Country", "Status", "OwnerId", "CreatedDate", "SystemModstamp", "IsConverted",
             "ConvertedDate", "ConvertedContactId", "ConvertedOpportunityId", "MQL_Date__c"),
    "Opportunity": ("Id", "Name", "StageName", "CreatedDate", "CloseDate", "IsClosed", "IsWon",
                    "Amount", "SystemModstamp"),
    "Task": ("Id", "WhoId", "OwnerId", "TaskSubtype", "Subject", "Description",
             "CallDisposition", "Status", "IsClosed", "CompletedDateTime", "CreatedDate",
             "SystemModstamp"),
    "Event": ("Id", "WhoId", "OwnerId", "Subject", "Description", "StartDateTime",
              "EndDateTime", "CreatedDate", "SystemModstamp"),
}
INDUSTRIES = ("Technology", "Finance", "Healthcare", "Retail", "Manufacturing")
SOURCES = ("Web", "Webinar", "Partner Referral", "Trade Show", "Advertisement")
COUNTRIES = ("Germany", "France", "Spain", "Brazil", "United States")
STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")
SUBTYPES = ("Call", "Call", "Call", "Email", "Email", "ListEmail", "Task")
DISPOSITIONS = ("Connected", "Left voicemail", "No answer", "Busy", None)

_SOQL = re.compile(r"^SELECT (?P<fields>.+?) FROM (?P<object>\w+)(?: WHERE (?P<where>.+?))?"
                   r"(?: ORDER BY (?P<order>.+?))?$", re.S)
_CONDITION = re.compile(r"^(?P<field>\w+) (?P<op>>=|=|IN) (?P<value>.+)$", re.S)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$")
_API = re.compile(r"^/services/data/(?P<version>v\d+\.\d)/query(?:/(?P<locator>\w+)-"
                  r"(?P<offset>\d+))?/?$")


def sf_datetime(moment: datetime) -> str:
    """A dateTime as Salesforce's JSON spells it: 2026-10-01T09:00:00.000+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def parse_sf_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


class SoqlError(ValueError):
    """A query the fake (like Salesforce) refuses: errorCode and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class _Faults:
    """What the next data requests answer instead of records."""

    rate_limited: int = 0
    retry_after: int = 0
    server_errors: int = 0
    server_error_status: int = 503
    outage: int | None = None  # a status every data request answers until recover()
    revoked: bool = False


class FakeSalesforce:
    """One Salesforce org and its connected app, on an HTTPServer (login and instance alike)."""

    def __init__(self, server: HTTPServer, *, leads: int = 200, tasks: int = 450,
                 events: int = 150, converted: float = 0.1, open_tasks: int = 0,
                 others: int = 0, seed: int = 7, users: Iterable[str] = DEFAULT_USERS):
        self.server = server
        self.url = server.url_for("").rstrip("/")
        self.random = random.Random(seed)
        self.now = START
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in FIELDS}
        self.contacts: set[str] = set()
        self.client_id, self.client_secret = "3MVG9fakeConsumerKey", "fake-consumer-secret"
        self.username = "integration@acme.example"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.public_key = key.public_key()
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self.faults = _Faults()
        self.pages_served = 0
        self.scheduled: list[tuple[int, Callable[[], None]]] = []
        self.cursors: dict[str, list[dict[str, Any]]] = {}
        self._generate(list(users), leads, tasks, events, converted, open_tasks, others)
        server.expect_request(re.compile(r"^/services/")).respond_with_handler(self.handle)

    # --- what a test configures the connector with ------------------------------------------

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"auth": "client_credentials", "login_url": self.url, **more}

    def credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret}

    def jwt_credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "username": self.username,
                "private_key": self.private_key_pem}

    # --- the org ----------------------------------------------------------------------------

    def all(self, sobject: str) -> list[dict[str, Any]]:
        return list(self.records[sobject].values())

    def user_email(self, user_id: str | None) -> str | None:
        user = self.records["User"].get(user_id or "")
        return user["Email"] if user else None

    def leads_by_who(self) -> dict[str, str]:
        """The lead each WhoId counts for: a lead itself, or the lead converted to a contact."""
        leads = {lead_id: lead_id for lead_id in self.records["Lead"]}
        return leads | {lead["ConvertedContactId"]: lead["Id"]
                        for lead in self.records["Lead"].values() if lead["ConvertedContactId"]}

    def _generate(self, users: list[str], leads: int, tasks: int, events: int,
                  converted: float, open_tasks: int, others: int) -> None:
        for email in users:
            self._add("User", Email=email, IsActive=True, SystemModstamp=sf_datetime(START))
        for _ in range(leads):
            self._add_lead(convert=self.random.random() < converted)
        for number in range(tasks + events):
            sobject = "Task" if number < tasks else "Event"
            self._add_activity(sobject, self.random.choice(self.all("Lead")))
        lead_ids = list(self.records["Lead"])
        for _ in range(open_tasks):
            task = self._add_activity("Task", self.records["Lead"][self.random.choice(lead_ids)])
            task.update(Status="Not Started", IsClosed=False, CompletedDateTime=None)
        for _ in range(others):  # about a contact not converted from a lead, or about no one
            stranger = self._new_id("Contact")
            self.contacts.add(stranger)
            activity = self._add_activity("Task", self.random.choice(self.all("Lead")))
            activity["WhoId"] = self.random.choice((stranger, None))

    def _new_id(self, sobject: str) -> str:
        number = sum(len(records) for records in self.records.values()) + len(self.contacts)
        return f"{PREFIXES[sobject]}5g{number:010d}AAA"

    def _add(self, sobject: str, **values: Any) -> dict[str, Any]:
        record = dict.fromkeys(FIELDS[sobject])
        record.update(Id=self._new_id(sobject), **values)
        self.records[sobject][record["Id"]] = record
        return record

    def _moment(self, after: datetime, before: datetime = START) -> datetime:
        """A random whole second between two moments (the fake stores whole seconds)."""
        span = max(int((before - after).total_seconds()) - 1, 1)
        return after + timedelta(seconds=self.random.randint(1, span))

    def _add_lead(self, *, convert: bool) -> dict[str, Any]:
        created = START - timedelta(days=120) + timedelta(
            seconds=self.random.randint(0, 118 * 86400))
        first = self.random.choice(("Ada", "Bo", "Cy", "Di"))
        last = f"Person{len(self.records['Lead'])}"
        lead = self._add(
            "Lead", FirstName=first, LastName=last,
            Company=f"Company {self.random.randint(1, 900)}",
            Email=f"{first}.{last}@example.org".lower(),
            LeadSource=self.random.choice(SOURCES), Industry=self.random.choice(INDUSTRIES),
            Country=self.random.choice(COUNTRIES), Status=self.random.choice(STATUSES),
            OwnerId=self.random.choice(list(self.records["User"])),
            CreatedDate=sf_datetime(created), IsConverted=False,
            MQL_Date__c=sf_datetime(created + timedelta(minutes=self.random.randint(1, 90))),
            SystemModstamp=sf_datetime(self._moment(created, min(created + timedelta(days=2),
                                                                START))))
        days_left = (START.date() - created.date()).days
        if convert and days_left > 2:
            self._convert(lead, created.date() + timedelta(days=self.random.randint(
                1, days_left - 1)), stamp=None)
        return lead

    def _add_activity(self, sobject: str, lead: dict[str, Any]) -> dict[str, Any]:
        at = self._moment(parse_sf_datetime(lead["CreatedDate"]))
        who = lead["ConvertedContactId"] or lead["Id"]
        owner = self.random.choice(list(self.records["User"]))
        stamp = sf_datetime(self._moment(at, min(at + timedelta(minutes=5), START)))
        if sobject == "Event":
            return self._add("Event", WhoId=who, OwnerId=owner, Subject="Discovery meeting",
                             Description=f"Agenda {self.random.randint(1, 99)}",
                             StartDateTime=sf_datetime(at),
                             EndDateTime=sf_datetime(at + timedelta(minutes=30)),
                             CreatedDate=sf_datetime(at), SystemModstamp=stamp)
        subtype = self.random.choice(SUBTYPES)
        return self._add(
            "Task", WhoId=who, OwnerId=owner, TaskSubtype=subtype, Subject=subtype,
            Description=f"Note {self.random.randint(1, 9999)}",
            CallDisposition=self.random.choice(DISPOSITIONS) if subtype == "Call" else None,
            Status="Completed", IsClosed=True, CompletedDateTime=sf_datetime(at),
            CreatedDate=sf_datetime(at), SystemModstamp=stamp)

    def _convert(self, lead: dict[str, Any], on: date, stamp: str | None) -> dict[str, Any]:
        """Convert a lead on a day: a contact and an opportunity, its activities moved to the
        contact (and so modified)."""
        moment = datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=15)
        stamp = stamp or sf_datetime(min(moment, START - timedelta(seconds=1)))
        closed = on + timedelta(days=self.random.randint(0, 30))
        finished = closed < START.date() and self.random.random() < 0.6
        opportunity = self._add(
            "Opportunity", Name=f"{lead['Company']} deal", CreatedDate=sf_datetime(moment),
            CloseDate=closed.isoformat(), IsClosed=finished,
            IsWon=finished and self.random.random() < 0.5,
            StageName="Prospecting", Amount=float(self.random.randint(5, 80) * 1000),
            SystemModstamp=stamp)
        if opportunity["IsClosed"]:
            opportunity["StageName"] = "Closed Won" if opportunity["IsWon"] else "Closed Lost"
        contact = self._new_id("Contact")
        self.contacts.add(contact)
        lead.update(IsConverted=True, ConvertedDate=on.isoformat(), ConvertedContactId=contact,
                    ConvertedOpportunityId=opportunity["Id"], Status="Closed - Converted",
                    SystemModstamp=max(lead["SystemModstamp"], stamp, key=parse_sf_datetime))
        for activity in [*self.all("Task"), *self.all("Event")]:
            if activity["WhoId"] == lead["Id"]:
                activity.update(WhoId=contact, SystemModstamp=stamp)
        return opportunity

    # --- changes ----------------------------------------------------------------------------

    def tick(self) -> str:
        """A SystemModstamp after every stored one (a second later than the last change)."""
        self.now += timedelta(seconds=1)
        return sf_datetime(self.now)

    def change_leads(self, count: int, *, at_once: bool = False) -> list[str]:
        """Move `count` leads to the next industry and status, one after another or `at_once`
        (a mass update: one SystemModstamp); their ids."""
        changed = self.random.sample(self.all("Lead"), count)
        stamp = self.tick()
        for lead in changed:
            lead["Industry"] = INDUSTRIES[(INDUSTRIES.index(lead["Industry"]) + 1)
                                          % len(INDUSTRIES)]
            lead["Status"] = "Working - Contacted"
            lead["SystemModstamp"] = stamp if at_once else self.tick()
        return [lead["Id"] for lead in changed]

    def change_opportunities(self, count: int) -> list[str]:
        """Raise the amount of `count` opportunities; their ids."""
        stamp, changed = self.tick(), self.random.sample(self.all("Opportunity"), count)
        for opportunity in changed:
            opportunity["Amount"] += 500.0
            opportunity["SystemModstamp"] = stamp
        return [opportunity["Id"] for opportunity in changed]

    def change_activities(self, sobject: str, count: int) -> list[dict[str, Any]]:
        """Edit the description of `count` closed tasks or events about a lead; the records."""
        leads = self.leads_by_who()
        candidates = [a for a in self.all(sobject) if a.get("IsClosed", True)
                      and a["WhoId"] in leads]
        stamp, changed = self.tick(), self.random.sample(candidates, count)
        for activity in changed:
            activity["Description"] = f"{activity['Description']} (edited)"
            activity["SystemModstamp"] = stamp
        return changed

    def convert_lead(self, lead_id: str) -> dict[str, Any]:
        """Convert a lead today (an open opportunity); the opportunity."""
        self.now += timedelta(seconds=1)
        opportunity = self._convert(self.records["Lead"][lead_id], self.now.date(),
                                    stamp=sf_datetime(self.now))
        opportunity.update(IsClosed=False, IsWon=False, StageName="Prospecting",
                           CloseDate=(self.now.date() + timedelta(days=20)).isoformat())
        return opportunity

    def close_opportunity(self, opportunity_id: str, *, won: bool, amount: float,
                          on: date) -> None:
        self.records["Opportunity"][opportunity_id].update(
            IsClosed=True, IsWon=won, StageName="Closed Won" if won else "Closed Lost",
            Amount=amount, CloseDate=on.isoformat(), SystemModstamp=self.tick())

    # --- faults -----------------------------------------------------------------------------

    def rate_limit(self, times: int, *, retry_after: int = 0, after_pages: int = 0) -> None:
        """The next `times` data requests (after `after_pages` pages) answer 429."""
        self._schedule(after_pages, lambda: self._set(rate_limited=times, retry_after=retry_after))

    def fail_page(self, after_pages: int, *, status: int = 503, times: int = 1) -> None:
        """The request for the page after `after_pages` more pages answers `status`, `times`."""
        self._schedule(after_pages, lambda: self._set(server_errors=times,
                                                      server_error_status=status))

    def expire_sessions(self, *, after_pages: int = 0) -> None:
        """Every issued access token stops working (after `after_pages` more pages)."""
        self._schedule(after_pages, self.tokens.clear)

    def revoke_client(self, *, after_pages: int = 0) -> None:
        """The connected app is revoked: tokens stop working and no new one is issued."""
        self._schedule(after_pages, lambda: (self.tokens.clear(), self._set(revoked=True)))

    def fail_after_pages(self, pages: int, *, status: int = 403) -> None:
        """After `pages` more pages every data request answers `status` until recover():
        403 REQUEST_LIMIT_EXCEEDED (the org's daily API limit), or a 5xx."""
        self._schedule(pages, lambda: self._set(outage=status))

    def recover(self) -> None:
        """Every fault gone (a revoked app stays revoked)."""
        self.scheduled.clear()
        self.faults = _Faults(revoked=self.faults.revoked)

    def _set(self, **faults: Any) -> None:
        for name, value in faults.items():
            setattr(self.faults, name, value)

    def _schedule(self, after_pages: int, action: Callable[[], Any]) -> None:
        if after_pages <= 0:
            action()
        else:
            self.scheduled.append((self.pages_served + after_pages, action))

    def _page_served(self) -> None:
        self.pages_served += 1
        due = [action for at, action in self.scheduled if at <= self.pages_served]
        self.scheduled = [(at, action) for at, action in self.scheduled if at > self.pages_served]
        for action in due:
            action()

    # --- HTTP -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request)
        route = _API.match(request.path)
        if route is None or request.method != "GET":
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        refusal = self._fault()
        if refusal is not None:
            return refusal
        try:
            page = self._page(route, request)
        except SoqlError as error:
            return _errors(400, error.code, str(error))
        self._page_served()
        return _json(200, page)

    def _fault(self) -> Response | None:
        faults = self.faults
        if faults.outage == 403:
            return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if faults.outage:
            return _errors(faults.outage, "SERVER_UNAVAILABLE", "Server unavailable")
        if faults.rate_limited:
            faults.rate_limited -= 1
            response = _errors(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests")
            response.headers["Retry-After"] = str(faults.retry_after)
            return response
        if faults.server_errors:
            faults.server_errors -= 1
            return _errors(faults.server_error_status, "UNKNOWN_EXCEPTION", "An unexpected error "
                           "occurred. Please include this ErrorId if you contact support")
        return None

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if self.faults.revoked or (form.get("client_id"), form.get("client_secret")) != (
                    self.client_id, self.client_secret):
                return _json(400, {"error": "invalid_client",
                                   "error_description": "invalid client credentials"})
        elif grant == JWT_GRANT:
            if self.faults.revoked or not self._valid_assertion(form.get("assertion", "")):
                return _json(400, {"error": "invalid_grant",
                                   "error_description": "user hasn't approved this consumer"})
        else:
            return _json(400, {"error": "unsupported_grant_type",
                               "error_description": "grant type not supported"})
        return _json(200, self._issue())

    def _valid_assertion(self, assertion: str) -> bool:
        try:
            claims = jwt.decode(assertion, self.public_key, algorithms=["RS256"],
                                audience=self.url, issuer=self.client_id)
        except jwt.PyJWTError:
            return False
        return claims.get("sub") == self.username

    def _issue(self) -> dict[str, str]:
        token = f"00D5g000000FAKE!{secrets.token_urlsafe(24)}"
        self.tokens.add(token)
        self.tokens_issued += 1
        return {"access_token": token, "instance_url": self.url,
                "id": f"{self.url}/id/00D5g000000FAKE/0055g000000INTG", "token_type": "Bearer",
                "issued_at": str(int(self.now.timestamp() * 1000)), "signature": "fake"}

    def _page(self, route: re.Match, request: Request) -> dict[str, Any]:
        version, locator = route["version"], route["locator"]
        if locator is None:
            records = self._query(request.args.get("q", ""), version)
            locator, offset = f"01g5g{len(self.cursors):013d}", 0
            self.cursors[locator] = records
        elif locator in self.cursors:
            records, offset = self.cursors[locator], int(route["offset"])
        else:
            raise SoqlError("INVALID_QUERY_LOCATOR", "invalid query locator")
        size = _batch_size(request.headers.get("Sforce-Query-Options", ""))
        end = offset + size
        page = {"totalSize": len(records), "done": end >= len(records),
                "records": records[offset:end]}
        if end < len(records):
            page["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        return page

    def _query(self, soql: str, version: str) -> list[dict[str, Any]]:
        """The records a query selects, projected and ordered: a snapshot, as a locator is."""
        match = _SOQL.match(soql.strip())
        if match is None or match["object"] not in FIELDS:
            raise SoqlError("MALFORMED_QUERY", f"unexpected query: {soql[:200]}")
        sobject = match["object"]
        fields = [name.strip() for name in match["fields"].split(",")]
        tests = [_condition(sobject, part) for part in (match["where"] or "").split(" AND ")
                 if part]
        order = [name.strip() for name in (match["order"] or "").split(",") if name.strip()]
        for name in [*fields, *order]:
            _check_field(sobject, name)
        selected = [r for r in self.records[sobject].values() if all(t(r) for t in tests)]
        selected.sort(key=lambda record: [_sortable(record[name]) for name in order])
        return [{"attributes": {"type": sobject, "url": f"/services/data/{version}/sobjects/"
                                                        f"{sobject}/{record['Id']}"},
                 **{name: record[name] for name in fields}} for record in selected]


def _check_field(sobject: str, name: str) -> None:
    if name not in FIELDS[sobject]:
        raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")


def _condition(sobject: str, text: str) -> Callable[[dict], bool]:
    """One `field op value` of a WHERE clause as a test of a record."""
    match = _CONDITION.match(text.strip())
    if match is None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected condition: {text[:200]}")
    name, op, value = match["field"], match["op"], match["value"].strip()
    _check_field(sobject, name)
    if op == "IN":
        wanted = set(re.findall(r"'([^']*)'", value))
        return lambda record: record[name] in wanted
    literal = _literal(value)
    if op == "=":
        return lambda record: _sortable(record[name]) == literal
    return lambda record: record[name] is not None and _sortable(record[name]) >= literal


def _literal(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if _DATETIME.match(value):
        return parse_sf_datetime(value.replace("Z", "+00:00"))
    if value.startswith("'") and value.endswith("'"):
        return value[1:-1]
    raise SoqlError("MALFORMED_QUERY", f"unexpected value: {value[:100]}")


def _sortable(value: Any) -> Any:
    """A field's value as SOQL compares it: dateTimes as instants."""
    if isinstance(value, str) and _DATETIME.match(value):
        return parse_sf_datetime(value)
    return value


def _batch_size(header: str) -> int:
    match = re.search(r"batchSize=(\d+)", header)
    return min(max(int(match[1]), MIN_BATCH), DEFAULT_BATCH) if match else DEFAULT_BATCH


def _errors(status: int, code: str, message: str) -> Response:
    """Salesforce's error body: a list of {message, errorCode}."""
    return _json(status, [{"message": message, "errorCode": code}])


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
