"""Log lines: one JSON object per event with the request and trace ids, and the scrubbing that keeps every
credential out of them wherever it appears (message, arguments, extra fields, tracebacks)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from byokgate.logs import LOG_CONTEXT, REDACTOR, JsonFormatter, ScrubbingFormatter, TextFormatter

PROJECT_KEY = "lgw_proj_" + "Ab3" * 15
PROVIDER_KEY = "sk-proj-" + "Zq9" * 16
UNPREFIXED_KEY = "3f1c" * 8  # an Azure-style key: 32 hex digits, no prefix
ADMIN_TOKEN = "admin-token-7d2e9c1b4a6f8e0d"


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(ScrubbingFormatter(JsonFormatter()))
    logger = logging.getLogger("byokgate.test.lines")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    REDACTOR.add_secret(ADMIN_TOKEN)
    REDACTOR.add_secret(UNPREFIXED_KEY)
    yield logger, out
    logger.removeHandler(handler)


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_each_event_is_one_json_line_with_the_request_and_trace_ids(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = lines
    token = LOG_CONTEXT.set(("req_123", "4bf92f3577b34da6a3ce929d0e0e4736"))
    try:
        logger.info("answered %s", "ok", extra={"provider": "openai", "status": 200})
    finally:
        LOG_CONTEXT.reset(token)
    logger.warning("outside a request")
    first, second = parsed(out)
    assert first["message"] == "answered ok"
    assert first["level"] == "info"
    assert first["logger"] == "byokgate.test.lines"
    assert (first["request_id"], first["trace_id"]) == ("req_123", "4bf92f3577b34da6a3ce929d0e0e4736")
    assert (first["provider"], first["status"]) == ("openai", 200)
    assert (second["request_id"], second["trace_id"]) == (None, None)


@pytest.mark.parametrize("secret", [PROJECT_KEY, PROVIDER_KEY, UNPREFIXED_KEY, ADMIN_TOKEN])
def test_credentials_are_scrubbed_wherever_they_appear(
    lines: tuple[logging.Logger, io.StringIO], secret: str
) -> None:
    logger, out = lines
    logger.info(f"in the message {secret}")
    logger.info("in an argument %s", secret)
    logger.info("in an extra field", extra={"upstream_said": {"detail": f"key {secret} is bad"}})
    try:
        raise ValueError(f"in a traceback: {secret}")
    except ValueError:
        logger.exception("failed")
    text = out.getvalue()
    assert len(text.splitlines()) == 4
    assert secret not in text
    assert text.count("[REDACTED]") >= 4


def test_text_lines_are_scrubbed_too() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key=%s", (PROVIDER_KEY,), None)
    line = ScrubbingFormatter(TextFormatter()).format(record)
    assert PROVIDER_KEY not in line
    assert "sk-proj-[REDACTED]" in line
