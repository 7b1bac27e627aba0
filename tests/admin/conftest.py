from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from byokgate.app import create_app
from byokgate.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.support.server import running_server


@pytest.fixture
def gateway_url(settings: Settings) -> Iterator[str]:
    with running_server(create_app(settings)) as base:
        yield base


@pytest.fixture
def admin(gateway_url: str) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{gateway_url}/admin/v1", headers=headers, timeout=30) as client:
        yield client
