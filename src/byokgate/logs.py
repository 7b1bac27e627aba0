"""Logging set-up: JSON lines (or text) with the request and trace ids on every line, and a last line of
defence: anything shaped like a credential, and every secret the process knows, is scrubbed from the whole
formatted line (message, extra fields, tracebacks).

Code must never log secrets in the first place (``Secret`` redacts itself); the scrubbing catches mistakes
in third-party messages too.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

# The request a log line was written for: (request id, trace id), set by the data plane per request.
LOG_CONTEXT: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "byokgate_log_context", default=(None, None)
)
REDACTED = "[REDACTED]"
# Key shapes every deployment knows (the gateway's own project keys, and widely used prefixes); the
# registry's providers add theirs (``Redactor.add_prefixes``); unprefixed keys are caught as exact strings.
_KNOWN_PREFIXES = (
    "lgw_proj_",
    "sk-ant-",
    "sk-or-v1-",
    "sk-proj-",
    "sk-svcacct-",
    "sk-",
    "gsk_",
    "AIza",
    "AQ.",
)
_MIN_SECRET = 8  # shorter strings are not taken as secrets (they would redact ordinary words)
_MAX_SECRETS = 10_000


class Redactor:
    """Removes credentials from text: anything shaped like a key (a known prefix and 8+ key characters), and
    the exact secrets the process was told of (the admin token, platform keys, every provider key opened)."""

    def __init__(self) -> None:
        self._prefixes: set[str] = set(_KNOWN_PREFIXES)
        self._pattern = self._compile()
        self._secrets: dict[str, None] = {}  # insertion-ordered: the oldest go first past the bound

    def _compile(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(p) for p in sorted(self._prefixes, key=len, reverse=True))
        return re.compile(rf"({alternatives})[A-Za-z0-9_\-]{{{_MIN_SECRET},}}")

    def add_prefixes(self, prefixes: Iterable[str]) -> None:
        fresh = {p for p in prefixes if len(p) >= 2} - self._prefixes
        if fresh:
            self._prefixes |= fresh
            self._pattern = self._compile()

    def add_secret(self, value: str | None) -> None:
        if value is None or len(value) < _MIN_SECRET or value in self._secrets:
            return
        self._secrets[value] = None
        if len(self._secrets) > _MAX_SECRETS:
            del self._secrets[next(iter(self._secrets))]

    def scrub(self, text: str) -> str:
        text = self._pattern.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


REDACTOR = Redactor()


def scrub(text: str) -> str:
    return REDACTOR.scrub(text)


class RedactingFilter(logging.Filter):
    """Scrubs a record's message (for handlers that format it themselves)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request and trace ids, whatever the call
    passed as ``extra``, and the exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        request_id, trace_id = LOG_CONTEXT.get()
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id,
            "trace_id": trace_id,
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id, _ = LOG_CONTEXT.get()
        return f"{line} [{request_id}]" if request_id else line


class ScrubbingFormatter(logging.Formatter):
    """The last line of defence: the whole formatted line (message, extras, traceback) is scrubbed."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self._inner.format(record))


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Log to stderr, as JSON lines (``fmt="json"``) or text, every line scrubbed of credentials."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ScrubbingFormatter(JsonFormatter() if fmt == "json" else TextFormatter()))
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
