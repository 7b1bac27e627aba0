"""A front-door server in a subprocess (the echo app, production limits, short timeouts), per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serving.support import ServerProcess, server_process


@pytest.fixture(scope="module")
def front_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process("front-door", "echo", tmp_path_factory.mktemp("front-door")) as server:
        yield server
