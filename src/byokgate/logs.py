"""Logging set-up with a last line of defence: anything shaped like a credential is scrubbed.

Code must never log secrets in the first place (``Secret`` redacts itself); this filter catches mistakes
in third-party messages too.
"""

from __future__ import annotations

import logging
import re
import sys
import time

_CREDENTIAL = re.compile(
    r"(lgw_proj_|sk-ant-[A-Za-z0-9]*-?|sk-or-v1-|sk-proj-|sk-svcacct-|sk-|gsk_|AIza|AQ\.)[A-Za-z0-9_\-]{8,}"
)


def scrub(text: str) -> str:
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)}[REDACTED]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


class OutageLog:
    """Counts the failures of a dependency the gateway works around (Redis, an embedder) and warns about
    them at most once every ``every_s`` seconds: an outage is one log line per interval, not per request."""

    def __init__(self, logger: logging.Logger, what: str, every_s: float = 30.0) -> None:
        self._logger = logger
        self._what = what  # e.g. "response cache: Redis unavailable ({error}); serving misses"
        self._every_s = every_s
        self._last = -every_s
        self.errors = 0  # the metric; exported with the others once metrics land

    def failed(self, exc: BaseException) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._last > self._every_s:
            self._last = now
            self._logger.warning(self._what.format(error=type(exc).__name__))
