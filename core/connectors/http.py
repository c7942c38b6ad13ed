"""The one HTTP client of the connectors: JSON over httpx, with the rules every CRM API asks of a
well-behaved client.

- 429: wait what `Retry-After` says (seconds or an HTTP date; else the backoff), then retry.
- 5xx and dropped connections: retry with exponential backoff and jitter.
- 401: ask the credentials to refresh once, retry; a second 401 is a revoked token.
- Every wait is bounded (`max_wait`) and so is the number of attempts (`attempts`); after
  them the sync stops with an error that names the request, never the token.
"""

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from core import clock
from core.connectors.base import HttpError, RateLimited, SyncError, TokenRevoked

USER_AGENT = "Handoff-sync/1"


class Credentials(Protocol):
    """What signs a request, and how to get a fresh token when the API says it expired."""

    def headers(self) -> dict[str, str]:
        """The Authorization header (and any other the API needs)."""
        ...

    def refresh(self) -> None:
        """Get a new access token; raise TokenRevoked when the API refuses."""
        ...


class ApiClient:
    """JSON requests to one API's base URL, with retries, backoff and one token refresh."""

    def __init__(self, base_url: str, credentials: Credentials, *, attempts: int = 6,
                 backoff: float = 0.5, max_wait: float = 60.0, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.attempts, self.backoff, self.max_wait = attempts, backoff, max_wait
        self.sleep = sleep
        self.waited = 0.0  # seconds spent waiting on 429s and retries, for the sync's figures
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                 headers={"User-Agent": USER_AGENT, "Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def request(self, method: str, path: str, **options: Any) -> Any:
        """The response's JSON, after the retries the rules above allow."""
        refreshed = False
        what = f"{method} {path.split('?')[0]}"
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.request(method, path, headers=self.credentials.headers(),
                                             **options)
            except httpx.TransportError as error:
                if attempt == self.attempts:
                    raise SyncError(f"{what}: {type(error).__name__} after {attempt} attempts"
                                    ) from None
                self._wait(self._backoff(attempt))
                continue
            if response.status_code == 401:
                if refreshed:
                    raise TokenRevoked(f"{what}: the CRM refused the credentials after a token "
                                       "refresh (401); enter new credentials")
                self.credentials.refresh()
                refreshed = True
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == self.attempts:
                    error = RateLimited if response.status_code == 429 else SyncError
                    raise error(f"{what}: HTTP {response.status_code} after {attempt} attempts"
                                f"{_excerpt(response)}")
                self._wait(self._retry_after(response) if response.status_code == 429
                           else self._backoff(attempt))
                continue
            if response.status_code >= 400:
                raise HttpError(f"{what}: HTTP {response.status_code}{_excerpt(response)}",
                                response.status_code, response.text)
            return response.json() if response.content else None
        raise SyncError(f"{what}: no answer after {self.attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff * 2 ** (attempt - 1) * (1 + random.random()))

    def _retry_after(self, response: httpx.Response) -> float:
        """Retry-After in seconds (a number or an HTTP date), within max_wait."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return self._backoff(1)
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(value) - clock.now()).total_seconds()
            except (TypeError, ValueError):
                return self._backoff(1)
        return min(self.max_wait, max(0.0, seconds))

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)


def _excerpt(response: httpx.Response) -> str:
    """The start of an error body (the API's own message), for the admin."""
    text = response.text.strip().replace("\n", " ")
    return f": {text[:300]}" if text else ""
