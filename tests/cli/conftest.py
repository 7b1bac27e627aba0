from __future__ import annotations

from click.testing import CliRunner

from byokgate.cli import main


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """``byokgate <args>``, which must succeed; its output."""
    result = CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
