"""UTC datetimes bind on SQLite to exactly the text SQLAlchemy's own processors make, and read back equal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import aiosqlite

from byokgate.store.tables import UTCDateTime

SQLITE = aiosqlite.dialect()
VALUES = [
    datetime(2026, 12, 7, 17, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 12, 7, 17, 0, 0, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 12, 7, 23, 30, 1, 5, tzinfo=timezone(timedelta(hours=-5))),  # the next day in UTC
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year of three digits
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1, minutes=30))),
]


@pytest.mark.parametrize("value", VALUES, ids=str)
def test_sqlite_text_is_what_sqlalchemy_makes(value: datetime) -> None:
    ours = UTCDateTime().bind_processor(SQLITE)
    theirs = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours is not None
    assert theirs is not None
    assert ours(value) == theirs(value.astimezone(UTC).replace(tzinfo=None))
    parse = DateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert parse is not None
    assert UTCDateTime().process_result_value(parse(ours(value)), SQLITE) == value


def test_none_binds_as_null_and_a_naive_value_is_refused() -> None:
    process = UTCDateTime().bind_processor(SQLITE)
    assert process is not None
    assert process(None) is None
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 12, 7))
