"""Path parameters the admin API's endpoint modules share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

ProjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Provider = Annotated[str, Path(min_length=1, max_length=32)]
RouteName = Annotated[str, Path(min_length=1, max_length=256)]
