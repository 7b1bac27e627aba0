from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from byokgate.cli import main


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str, master_key_entry: str) -> dict[str, str]:
    return {
        "BYOKGATE_DATABASE_URL": database_url,
        "BYOKGATE_MASTER_KEY": master_key_entry,
        "BYOKGATE_DATA_DIR": str(tmp_path / "data"),
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """``byokgate <args>``, which must succeed; its output."""
    result = CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
