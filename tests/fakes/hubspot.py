"""A HubSpot CRM API on a pytest-httpserver, with state: generated owners, contacts, calls,
emails and meetings (a fixed seed: the same data every run) that a test or a benchmark changes
and breaks on purpose.

It answers what core.connectors.hubspot asks, in HubSpot's documented shapes: the v3 search
(filterGroups, sorts, limit up to 200, `after` offsets, at most `search_cap` results per query
and a 400 past them), v4 association batch reads (207 when some inputs have none), v3 owners
(paged, `archived`), the OAuth token endpoint (form-encoded refresh) and bearer tokens.

Faults are scheduled by the search pages served so far (`after_pages`): a 429 storm with
Retry-After, one 5xx, the OAuth access token expiring, every token revoked, and a permanent
failure until `recover()`.
"""

import json
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PRIVATE_APP_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
CLIENT_ID, CLIENT_SECRET = "fake-client-id", "fake-client-secret"
REFRESH_TOKEN = "fake-refresh-token"
FIRST_OAUTH_TOKEN = "oauth-access-0"
START = datetime(2025, 9, 1, tzinfo=UTC)
PAGE_MAX = 200

# id, email, archived: ana, ben and sofia are Handoff users (emails in any case), erin only as an
# archived owner, the agency's rep is no user.
OWNERS = (("101", "Ana@Example.com", False), ("102", "ben@example.com", False),
          ("103", "sofia@example.com", False), ("104", "Rep@Agency.test", False),
          ("105", "erin@example.com", True))
CONTACT_OWNERS = ("101", "102", "103", "104", "105", None)
OWNER_WEIGHTS = (30, 30, 10, 10, 5, 15)
FILLER_OWNERS = 120  # more owners than one page of the owners list holds
DISPOSITIONS = ("f240bbac-87c9-4f6e-bf70-924b57d47db7", "b2cf5968-551e-4856-9783-52b3da59a7d0",
                "73a0d17f-1163-4015-bdd5-ec830791da20", "9d9162e7-6cf3-4944-bf63-4dff82258764",
                "0b7a1c3e-custom-outcome", None)
MEETING_OUTCOMES = ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED", None)
SOURCES = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS",
           "DIRECT_TRAFFIC", "OFFLINE")
STAGES = ("marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
ASSOCIATION_TYPES = {"calls": 194, "emails": 198, "meetings": 200}
KINDS = {"calls": "call", "emails": "email", "meetings": "meeting"}
# The property a change rewrites (what the touch's note shows).
RENAMED = {"calls": "hs_call_title", "emails": "hs_email_subject",
           "meetings": "hs_meeting_title"}
MODIFIED = {"contacts": "lastmodifieddate", **dict.fromkeys(KINDS, "hs_lastmodifieddate")}
LONG_BODY = "<p>" + "Discussed pricing, rollout and the security review. " * 120 + "</p>"


@dataclass
class Record:
    """One CRM object: its id and its properties, as HubSpot's API gives them (text)."""

    id: str
    properties: dict[str, str | None]
    contacts: list[str] = field(default_factory=list)  # an engagement's associated contacts

    def millis(self, name: str) -> int:
        """A time property as epoch milliseconds (-1 when empty)."""
        value = self.properties.get(name)
        return _millis(parse_time(value)) if value else -1


@dataclass
class _Fault:
    """What the fake does to data requests once `after_pages` search pages were served."""

    after_pages: int
    act: Callable[[], Response | None]
    times: int | None = 1  # None: until recover()


class FakeHubSpot:
    """The fake API, serving on `server` from construction."""

    def __init__(self, server: HTTPServer, *, contacts: int = 200, engagements: int = 600,
                 seed: int = 7, search_cap: int = 10_000):
        self.server, self.search_cap = server, search_cap
        self.rng = random.Random(seed)
        self.owners = [{"id": i, "email": e, "archived": a} for i, e, a in OWNERS] + [
            {"id": str(900 + n), "email": f"filler{n}@partner.test", "archived": False}
            for n in range(FILLER_OWNERS)]
        self.objects: dict[str, dict[str, Record]] = {"contacts": self._contacts(contacts)}
        self._engagements(engagements)
        self.now = max(r.millis(MODIFIED[kind]) for kind, records in self.objects.items()
                       for r in records.values())
        self.valid_tokens = {PRIVATE_APP_TOKEN, FIRST_OAUTH_TOKEN}
        self.revoked = False
        self.pages = 0  # search pages served
        self.refreshes = 0
        self.log: list[tuple[str, str, int]] = []  # method, path, status of every request
        self.faults: list[_Fault] = []
        self.after_page: dict[int, Callable[[], None]] = {}
        self.lock = threading.Lock()
        server.expect_request(re.compile(".*")).respond_with_handler(self._answer)

    # --- what a test configures the connector with ------------------------------------------

    @property
    def base_url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {"base_url": self.base_url, "auth": "private_app", "page_size": 100,
                **overrides}

    def private_app_credentials(self) -> dict[str, str]:
        return {"access_token": PRIVATE_APP_TOKEN}

    def oauth_credentials(self) -> dict[str, str]:
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN, "access_token": FIRST_OAUTH_TOKEN}

    # --- changes --------------------------------------------------------------------------

    def change_contacts(self, count: int, *, oldest: bool = False) -> list[str]:
        """Rename the company of `count` contacts (random ones, or the least recently
        modified), modified now; their ids."""
        chosen = self._choose("contacts", count, oldest=oldest)
        for record in chosen:
            self._touch(record, "contacts", company=f"{record.properties['company']} (renamed)")
        return [record.id for record in chosen]

    def change_engagements(self, object_type: str, count: int) -> list[str]:
        """Retitle `count` engagements that have exactly one contact, modified now; their ids."""
        chosen = self._choose(object_type, count, where=lambda r: len(r.contacts) == 1)
        for record in chosen:
            name = RENAMED[object_type]
            self._touch(record, object_type, **{name: f"{record.properties[name]} (edited)"})
        return [record.id for record in chosen]

    def add_contact(self, *, owner: str = "101", mql_at: datetime | None = None,
                    email: str | None = None) -> str:
        """A new contact, created and modified now (an MQL at `mql_at` when given); its id."""
        self.now += 1_000
        number = len(self.objects["contacts"]) + 1
        record_id = str(900_001 + number)
        now = iso(_from_millis(self.now))
        properties = {"createdate": iso(mql_at) if mql_at else now, "lastmodifieddate": now,
                      "lifecyclestage": "marketingqualifiedlead" if mql_at else "lead",
                      "hubspot_owner_id": owner, "hs_analytics_source": "PAID_SEARCH",
                      "email": email or f"new{number}@prospect.test", "company": "New Prospect",
                      "firstname": "New", "lastname": f"Prospect {number}"}
        if mql_at:
            properties["hs_lifecyclestage_marketingqualifiedlead_date"] = iso(mql_at)
        self.objects["contacts"][record_id] = Record(record_id, properties)
        return record_id

    def add_call(self, contact: str, *, at: datetime, owner: str = "101",
                 disposition: str = DISPOSITIONS[0]) -> str:
        """A call logged now with the contact, made at `at`; its id."""
        self.now += 1_000
        record_id = str(7_000_001 + len(self.objects["calls"]))
        self.objects["calls"][record_id] = Record(record_id, {
            "hs_timestamp": iso(at), "hs_lastmodifieddate": iso(_from_millis(self.now)),
            "hs_createdate": iso(at), "hubspot_owner_id": owner, "hs_call_title": "First call",
            "hs_call_disposition": disposition, "hs_call_body": "Booked a demo"}, [contact])
        return record_id

    def on_page(self, after_pages: int, change: Callable[[], None]) -> None:
        """Run `change` (e.g. change_contacts) right after the given search page is served."""
        self.after_page[after_pages] = change

    # --- faults ---------------------------------------------------------------------------

    def rate_limit(self, times: int, *, after_pages: int = 0, retry_after: str = "0") -> None:
        """The next `times` data requests answer 429 with Retry-After (HubSpot's burst limit)."""
        body = {"status": "error", "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT", "policyName": "SECONDLY"}
        self.faults.append(_Fault(after_pages, lambda: _json(
            body, 429, {"Retry-After": retry_after}), times))

    def fail_once(self, *, after_pages: int, status: int = 503) -> None:
        """One data request answers a 5xx."""
        self.faults.append(_Fault(after_pages, lambda: _json(
            {"status": "error", "message": "Service unavailable"}, status)))

    def expire_token(self, *, after_pages: int) -> None:
        """The OAuth access tokens issued so far expire (the refresh token still works)."""
        self.faults.append(_Fault(after_pages, self._expire))

    def revoke(self, *, after_pages: int = 0) -> None:
        """The app is uninstalled: every token is refused, and so is the refresh token."""
        self.faults.append(_Fault(after_pages, self._revoke))

    def fail_permanently(self, *, after_pages: int, status: int = 429) -> None:
        """Every data request fails until recover() (by default HubSpot's daily limit: 429)."""
        body = {"status": "error", "message": "You have reached your daily limit.",
                "errorType": "RATE_LIMIT", "policyName": "DAILY"}
        self.faults.append(_Fault(after_pages, lambda: _json(
            body, status, {"Retry-After": "0"}), None))

    def recover(self) -> None:
        """Drop every fault not yet spent."""
        self.faults = []

    # --- what a test compares with ---------------------------------------------------------

    def expected_touches(self) -> set[tuple[str, datetime, str]]:
        """(contact id, time, kind) of every touch the engagements make."""
        return {(contact, parse_time(r.properties["hs_timestamp"]), KINDS[kind])
                for kind in KINDS for r in self.objects[kind].values() for contact in r.contacts}

    def modified_up_to(self, object_type: str, watermark: str) -> list[Record]:
        """The records of a type modified at or before a watermark."""
        limit = _millis(parse_time(watermark))
        return [r for r in self.objects[object_type].values()
                if r.millis(MODIFIED[object_type]) <= limit]

    def modified_at(self, object_type: str, watermark: str) -> list[Record]:
        """The records of a type modified exactly at a watermark (a resumed sync reads again)."""
        at = _millis(parse_time(watermark))
        return [r for r in self.objects[object_type].values()
                if r.millis(MODIFIED[object_type]) == at]

    def latest(self, object_type: str) -> str:
        """The latest modification time of a type, as the connector's watermark spells it."""
        latest = max(r.millis(MODIFIED[object_type]) for r in self.objects[object_type].values())
        return _from_millis(latest).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # --- the API --------------------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        with self.lock:
            response = self._route(request)
            self.log.append((request.method, request.path, response.status_code))
            return response

    def _route(self, request: Request) -> Response:
        if request.path == "/oauth/v1/token" and request.method == "POST":
            return self._token(request)
        fault = self._fault()
        if fault is not None:
            return fault
        if _bearer(request) not in self.valid_tokens:
            return _json({"status": "error", "category": "EXPIRED_AUTHENTICATION",
                          "message": "The OAuth token used to make this call expired."}, 401)
        if request.path == "/crm/v3/owners" and request.method == "GET":
            return self._owners_page(request.args)
        search = re.fullmatch(r"/crm/v3/objects/(\w+)/search", request.path)
        if search and search[1] in self.objects and request.method == "POST":
            return self._search(search[1], request.get_json())
        batch = re.fullmatch(r"/crm/v4/associations/(\w+)/contacts/batch/read", request.path)
        if batch and batch[1] in KINDS and request.method == "POST":
            return self._associations(batch[1], request.get_json())
        return _json({"status": "error", "message": f"no route {request.path}"}, 404)

    def _fault(self) -> Response | None:
        for fault in self.faults:
            if fault.times == 0 or self.pages < fault.after_pages:
                continue
            if fault.times is not None:
                fault.times -= 1
            response = fault.act()
            if response is not None:
                return response
        return None

    def _token(self, request: Request) -> Response:
        form = request.form
        good = (form.get("grant_type") == "refresh_token" and form.get("client_id") == CLIENT_ID
                and form.get("client_secret") == CLIENT_SECRET
                and form.get("refresh_token") == REFRESH_TOKEN and not self.revoked)
        if not good:
            return _json({"status": "BAD_REFRESH_TOKEN",
                          "message": "missing or unknown refresh token"}, 400)
        self.refreshes += 1
        token = f"oauth-access-{self.refreshes}"
        self.valid_tokens.add(token)
        return _json({"token_type": "bearer", "refresh_token": REFRESH_TOKEN,
                      "access_token": token, "expires_in": 1800})

    def _owners_page(self, args) -> Response:
        archived = args.get("archived", "false") == "true"
        owners = [o for o in self.owners if o["archived"] == archived]
        start, limit = int(args.get("after", 0)), min(int(args.get("limit", 100)), 500)
        page = owners[start:start + limit]
        results = [{"id": o["id"], "email": o["email"], "type": "PERSON",
                    "firstName": o["email"].split("@")[0].title(), "lastName": "",
                    "userId": int(o["id"]), "archived": o["archived"]} for o in page]
        return _json({"results": results, **_paging(start + len(page), len(owners))})

    def _search(self, object_type: str, body: dict[str, Any]) -> Response:
        limit, after = int(body.get("limit", 10)), int(body.get("after") or 0)
        if limit > PAGE_MAX:
            return _json({"status": "error", "category": "VALIDATION_ERROR",
                          "message": f"limit must be at most {PAGE_MAX}"}, 400)
        if after >= self.search_cap:
            return _json({"status": "error", "category": "VALIDATION_ERROR", "message":
                          f"cannot page beyond {self.search_cap} results"}, 400)
        records = self._matching(object_type, body)
        page = records[after:min(after + limit, self.search_cap)]
        wanted = body.get("properties") or []
        results = [{"id": r.id, "properties": {name: r.properties.get(name) for name in wanted},
                    "createdAt": r.properties.get("createdate") or r.properties.get(
                        "hs_createdate"), "updatedAt": r.properties[MODIFIED[object_type]],
                    "archived": False} for r in page]
        self.pages += 1
        if self.pages in self.after_page:
            self.after_page.pop(self.pages)()
        end = after + len(page)
        return _json({"total": len(records), "results": results,
                      **_paging(end, min(len(records), self.search_cap))})

    def _matching(self, object_type: str, body: dict[str, Any]) -> list[Record]:
        groups = body.get("filterGroups") or [{"filters": []}]
        records = [r for r in self.objects[object_type].values()
                   if any(all(_passes(r, f) for f in g.get("filters", [])) for g in groups)]
        for sort in reversed(body.get("sorts") or []):
            records.sort(key=lambda r, name=sort["propertyName"]: (r.millis(name), int(r.id)),
                         reverse=sort.get("direction") == "DESCENDING")
        return records

    def _associations(self, object_type: str, body: dict[str, Any]) -> Response:
        engagements = self.objects[object_type]
        results, errors = [], []
        for item in body.get("inputs", []):
            record = engagements.get(str(item["id"]))
            if record is None or not record.contacts:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "message": f"No contacts are associated with {item['id']}"})
                continue
            results.append({"from": {"id": record.id}, "to": [
                {"toObjectId": int(contact), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": ASSOCIATION_TYPES[object_type],
                     "label": None}]} for contact in record.contacts]})
        stamp = datetime.now(UTC).isoformat()
        answer = {"status": "COMPLETE", "results": results, "startedAt": stamp,
                  "completedAt": stamp}
        if errors:
            answer |= {"numErrors": len(errors), "errors": errors}
        return _json(answer, 207 if errors else 200)

    def _expire(self) -> None:
        self.valid_tokens -= {t for t in self.valid_tokens if t.startswith("oauth-access-")}

    def _revoke(self) -> None:
        self.valid_tokens.clear()
        self.revoked = True

    # --- data -----------------------------------------------------------------------------

    def _contacts(self, count: int) -> dict[str, Record]:
        return {record.id: record for record in (self._contact(n) for n in range(count))}

    def _contact(self, n: int) -> Record:
        rng = self.rng
        created = START + timedelta(minutes=rng.randrange(60 * 24 * 60),
                                    milliseconds=rng.randrange(1000))
        stages, at = {}, created
        for stage, chance in zip(STAGES, (0.85, 0.45, 0.5, 0.5), strict=True):
            if rng.random() >= chance:
                break
            at += timedelta(minutes=rng.randrange(1, 60 * 24 * 4))
            stages[stage] = at
        modified = at + timedelta(minutes=rng.randrange(1, 60 * 24 * 20),
                                  milliseconds=rng.randrange(1000))
        owner = rng.choices(CONTACT_OWNERS, OWNER_WEIGHTS)[0]
        properties = {
            "createdate": iso(created), "lastmodifieddate": iso(modified),
            "lifecyclestage": next(reversed(stages), "lead"), "hubspot_owner_id": owner,
            "hs_analytics_source": rng.choice(SOURCES), "email": f"person{n}@customer{n % 97}.test",
            "company": f"Customer {n % 97}", "firstname": f"Pat{n}", "lastname": "Doe",
            "country": rng.choice(("Germany", "France", "United States", None)),
            **{f"hs_lifecyclestage_{stage}_date": iso(when) for stage, when in stages.items()}}
        return Record(str(100_001 + n), properties)

    def _engagements(self, count: int) -> None:
        shares = {"calls": 0.4, "emails": 0.4, "meetings": 0.2}
        sizes = {kind: int(count * share) for kind, share in shares.items()}
        sizes["calls"] += count - sum(sizes.values())
        contacts, taken = list(self.objects["contacts"].values()), set()
        number = 5_000_001
        for kind, size in sizes.items():
            records = {}
            for _ in range(size):
                record = self._engagement(kind, number, contacts, taken)
                records[record.id] = record
                number += 1
            self.objects[kind] = records

    def _engagement(self, kind: str, number: int, contacts: list[Record],
                    taken: set) -> Record:
        rng = self.rng
        linked = rng.choices((0, 1, 2), (3, 87, 10))[0]
        chosen = rng.sample(contacts, min(linked, len(contacts)))
        earliest = max((parse_time(c.properties["createdate"]) for c in chosen), default=START)
        at = earliest + timedelta(minutes=rng.randrange(1, 60 * 24 * 20),
                                  milliseconds=rng.randrange(1000))
        while any((c.id, at, kind) in taken for c in chosen):  # one touch per lead, time, kind
            at += timedelta(milliseconds=1)
        taken.update((c.id, at, kind) for c in chosen)
        modified = at + timedelta(minutes=rng.randrange(0, 60 * 24 * 5),
                                  milliseconds=rng.randrange(1000))
        owner = rng.choices(CONTACT_OWNERS[:-1], OWNER_WEIGHTS[:-1])[0]
        properties = {"hs_timestamp": iso(at), "hs_lastmodifieddate": iso(modified),
                      "hs_createdate": iso(at), "hubspot_owner_id": owner,
                      **self._details(kind, number)}
        return Record(str(number), properties, [c.id for c in chosen])

    def _details(self, kind: str, number: int) -> dict[str, str | None]:
        rng = self.rng
        if kind == "calls":
            return {"hs_call_title": f"Call {number}", "hs_call_disposition": rng.choice(
                DISPOSITIONS), "hs_call_body": LONG_BODY if number % 97 == 0 else
                f"<p>Spoke about <b>next steps</b> &amp; pricing ({number})</p>"}
        if kind == "emails":
            direction = rng.choices(("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
                                    (75, 20, 5))[0]
            sequence = str(rng.randrange(1, 9)) if direction == "EMAIL" and rng.random() < 0.4 \
                else None
            return {"hs_email_subject": f"Following up ({number})", "hs_email_status": "SENT",
                    "hs_email_direction": direction, "hs_sequence_id": sequence}
        return {"hs_meeting_title": f"Demo {number}",
                "hs_meeting_outcome": rng.choice(MEETING_OUTCOMES)}

    def _choose(self, object_type: str, count: int, *, oldest: bool = False,
                where: Callable[[Record], bool] = lambda _record: True) -> list[Record]:
        candidates = [r for r in self.objects[object_type].values() if where(r)]
        if oldest:
            return sorted(candidates, key=lambda r: r.millis(MODIFIED[object_type]))[:count]
        return self.rng.sample(candidates, count)

    def _touch(self, record: Record, object_type: str, **changes: str) -> None:
        self.now += 1_000
        record.properties |= {**changes, MODIFIED[object_type]: iso(_from_millis(self.now))}


def iso(when: datetime) -> str:
    """A time as HubSpot's v3 API writes it: UTC, milliseconds, Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    if value.isdigit():
        return _from_millis(int(value))
    return datetime.fromisoformat(value).astimezone(UTC)


def _millis(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _from_millis(millis: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)


def _passes(record: Record, condition: dict[str, Any]) -> bool:
    """A search filter on a time property (epoch milliseconds or ISO), as HubSpot compares."""
    value = record.millis(condition["propertyName"])
    bound = _millis(parse_time(str(condition["value"])))
    tests = {"GTE": value >= bound, "GT": value > bound, "LTE": value <= bound,
             "LT": value < bound, "EQ": value == bound}
    return value >= 0 and tests[condition["operator"]]


def _paging(end: int, total: int) -> dict[str, Any]:
    return {"paging": {"next": {"after": str(end)}}} if end < total else {}


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers,
                    content_type="application/json")

