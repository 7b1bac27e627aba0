from __future__ import annotations

import logging

import pytest

from byokgate.logs import RedactingFilter, scrub


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "gsk_abcdefghijklmnopqrstuvwxyz",
        "AIzaSyabcdefghijklmnopqrstuvwxyz",
        "lgw_proj_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "sk-or-v1-abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_scrub_removes_credential_shaped_text(secret: str) -> None:
    cleaned = scrub(f"upstream said: key {secret} is bad")
    assert secret not in cleaned
    assert "[REDACTED]" in cleaned


def test_filter_rewrites_formatted_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key=%s", ("gsk_abcdefghijklmnopqrstu",), None)
    assert RedactingFilter().filter(record)
    assert "abcdefghijklmnopqrstu" not in record.getMessage()


def test_ordinary_text_is_untouched() -> None:
    text = "project proj_123 created by admin-api; skip the task"
    assert scrub(text) == text
