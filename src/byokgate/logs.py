"""Logging set-up with a last line of defence: anything shaped like a credential is scrubbed.

Code must never log secrets in the first place (``Secret`` redacts itself); this filter catches mistakes
in third-party messages too.
"""

from __future__ import annotations

import logging
import re
import sys

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
