"""``byokgate routes`` and ``byokgate apply routes.yaml`` against a real database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from byokgate.cli import main
from tests.cli.conftest import run as _run
from tests.conftest import GROQ_KEY, OPENAI_KEY

ROUTES = """\
project: {pid}
routes:
  - name: fast
    targets:
      - {{provider: groq, model: llama-3.3-70b-versatile}}
      - {{provider: openai, model: gpt-4o-mini}}
    retries: 1
    ttft_timeout_s: 5
  - name: "gpt-4o-*"
    targets:
      - {{provider: openai, model: "gpt-4o-*"}}
"""


def _project(env: dict[str, str]) -> str:
    pid = str(json.loads(_run(env, "projects", "create", "routed", "--json"))["id"])
    _run(env, "keys", "set", pid, "openai", stdin=OPENAI_KEY.reveal() + "\n")
    _run(env, "keys", "set", pid, "groq", stdin=GROQ_KEY.reveal() + "\n")
    return pid


def test_apply_prints_the_diff_then_applies_and_is_idempotent(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    pid = _project(cli_env)
    _run(cli_env, "routes", "set", pid, "old", "--target", "openai:gpt-4o")
    file = tmp_path / "routes.yaml"
    file.write_text(ROUTES.format(pid=pid))
    dry = _run(cli_env, "apply", str(file), "--dry-run")
    assert "+ fast (would be created)" in dry
    assert "+ gpt-4o-* (would be created)" in dry
    assert "- old (would be deleted)" in dry
    assert '"provider": "groq"' in dry
    assert json.loads(_run(cli_env, "routes", "list", pid, "--json"))[0]["name"] == "old"  # unchanged
    applied = _run(cli_env, "apply", str(file))
    assert "+ fast (created)" in applied
    assert "- old (deleted)" in applied
    assert "no changes" in _run(cli_env, "apply", str(file))
    listed = json.loads(_run(cli_env, "routes", "list", pid, "--json"))
    assert [route["name"] for route in listed] == ["fast", "gpt-4o-*"]
    assert listed[0]["retries"] == 1
    file.write_text(ROUTES.format(pid=pid).replace("retries: 1", "retries: 2"))
    changed = _run(cli_env, "apply", str(file), "--dry-run")
    assert "~ fast (would be replaced)" in changed
    assert '- {"name": "fast", "retries": 1' in changed
    assert '+ {"name": "fast", "retries": 2' in changed
    assert "= gpt-4o-* (unchanged)" in changed


def test_routes_set_and_delete(cli_env: dict[str, str]) -> None:
    pid = _project(cli_env)
    out = _run(
        cli_env,
        "routes",
        "set",
        pid,
        "smart",
        "--target",
        "openai:gpt-4o",
        "--target",
        "groq:llama-3.3-70b-versatile:byok:2",
        "--deadline",
        "30",
    )
    assert "openai:gpt-4o -> groq:llama-3.3-70b-versatile" in out
    listed = json.loads(_run(cli_env, "routes", "list", pid, "--json"))
    assert listed[0]["targets"][1]["weight"] == 2.0
    assert listed[0]["deadline_s"] == 30.0
    _run(cli_env, "routes", "delete", pid, "smart")
    assert json.loads(_run(cli_env, "routes", "list", pid, "--json")) == []


def test_a_bad_routes_file_names_the_field_and_changes_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    pid = _project(cli_env)
    file = tmp_path / "routes.yaml"
    file.write_text(ROUTES.format(pid=pid).replace("provider: groq", "provider: groq, lane: vip"))
    result = CliRunner().invoke(main, ["apply", str(file)], env=cli_env)
    assert result.exit_code == 1
    assert "routes[0].targets[0].lane" in result.output
    file.write_text(ROUTES.format(pid=pid).replace("provider: groq", "provider: anthropic"))
    result = CliRunner().invoke(main, ["apply", str(file)], env=cli_env)
    assert result.exit_code == 1
    assert "routes[0].targets[0].provider: the project has no anthropic key" in result.output
    assert json.loads(_run(cli_env, "routes", "list", pid, "--json")) == []
    file.write_text("routes: [")
    result = CliRunner().invoke(main, ["apply", str(file)], env=cli_env)
    assert result.exit_code == 1
    assert "not YAML" in result.output
