"""A test-only CRM connector, "slow": its sync waits at a gate, writes when it starts and ends
in a journal, and fails on purpose when told to, so tests can watch the worker run it.

Everything it does is in files of its settings' `folder`, which every process can see. Run
`python -m tests.fakes.slow_connector ARGS...` for the Handoff CLI with it installed (how the
tests start real workers that know it).
"""

import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from core.connectors.base import Chunk, SyncError, TokenRevoked

NAME = "slow"
LABEL = "Slow CRM"
HINTED_CREDENTIAL = "token"
GATE_TIMEOUT_SECONDS = 120


def install() -> None:
    """Make `slow` a connector of this process (core.services.sync.CONNECTORS)."""
    from core.services import sync

    sync.CONNECTORS[NAME] = LABEL
    sys.modules[f"core.connectors.{NAME}"] = sys.modules[__name__]


def validate_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """folder (where the gate and journal are), fail (attempts that fail first), revoked."""
    return settings


def required_credentials(_settings: Mapping[str, Any]) -> list[str]:
    return ["token"]


def puller(settings: Mapping[str, Any], _credentials: Mapping[str, str], *, owners,
           save_credentials) -> "SlowPuller":
    return SlowPuller(Path(settings["folder"]), int(settings.get("fail", 0)),
                      bool(settings.get("revoked")))


def open_gate(folder: Path) -> None:
    """Let every sync waiting at the gate, and every later one, go on."""
    (folder / "open").touch()


def journal(folder: Path) -> list[str]:
    """`start` and `end` of each sync, in the order they happened, in every process."""
    path = folder / "journal"
    return path.read_text().split() if path.exists() else []


class SlowPuller:
    """One sync of the slow CRM."""

    name = NAME

    def __init__(self, folder: Path, fail: int, revoked: bool):
        self.folder, self.fail, self.revoked = folder, fail, revoked

    def chunks(self, watermarks: Mapping[str, str]) -> Iterator[Chunk]:
        self._write("start")
        try:
            attempt = self._count_attempt()
            if self.revoked:
                raise TokenRevoked(f"{LABEL} refused the token: enter a new one")
            if attempt <= self.fail:
                raise SyncError(f"{LABEL} is down (attempt {attempt})")
            self._wait_at_gate()
            yield Chunk("contacts", "leads", [], watermark=f"2026-01-01T00:00:{attempt:02d}Z")
        finally:
            self._write("end")

    def close(self) -> None:
        pass

    def _write(self, event: str) -> None:
        # One short O_APPEND write per line: lines of several processes never interleave
        with open(self.folder / "journal", "a") as handle:
            handle.write(f"{event}\n")

    def _count_attempt(self) -> int:
        with open(self.folder / "attempts", "a") as handle:
            handle.write(f"{os.getpid()}:{threading.get_ident()}\n")
        return len((self.folder / "attempts").read_text().splitlines())

    def _wait_at_gate(self) -> None:
        deadline = time.monotonic() + GATE_TIMEOUT_SECONDS
        while not (self.folder / "open").exists():
            if time.monotonic() > deadline:
                raise SyncError(f"{LABEL}: the test never opened the gate")
            time.sleep(0.02)


if __name__ == "__main__":
    install()
    from core.cli import main

    main()
