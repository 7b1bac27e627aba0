"""Settings every module of the benchmark harness shares: paths, the CPU layout, the targets and their
baselines, and the harness's error and progress log."""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
RESULTS_DIR = BENCH_DIR / "results"
BYOKGATE_BIN = REPO / ".venv" / "bin" / "byokgate"
# Runs byokgate from a given source tree (bench/revisions.py), as the console script above runs the venv's.
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
LITELLM_VENV = BENCH_DIR / ".venv-litellm"
LITELLM_BIN = LITELLM_VENV / "bin" / "litellm"

GATEWAY_CPU = 0  # byokgate / LiteLLM, alone
CLIENT_CPU = 1  # emulator, wrk, the harness itself (TTFT client)

TARGETS = (
    "direct",
    "bare",
    "byokgate",
    "litellm",
    "direct-anthropic",
    "byokgate-anthropic",
    "byokgate-messages",
    "cache-hit-memory",
    "cache-hit-redis",
    "cache-miss",
    "cache-off",
)
# A target's added latency and TTFT are measured against its baseline (same mode and concurrency).
BASELINES = {
    "bare": "direct",
    "byokgate": "direct",
    "litellm": "direct",
    "byokgate-anthropic": "direct-anthropic",
    "byokgate-messages": "direct-anthropic",
    "cache-hit-memory": "direct",
    "cache-hit-redis": "direct",
    "cache-miss": "direct",
    "cache-off": "direct",
}
# The response-cache targets and the x-byokgate-cache value every one of their answers must carry (any other
# value is counted as an error). cache-miss and cache-off send a different prompt with every request.
CACHE_EXPECT = {
    "cache-hit-memory": "HIT",
    "cache-hit-redis": "HIT",
    "cache-miss": "MISS",
    "cache-off": "BYPASS",
}
CACHE_TARGETS = frozenset(CACHE_EXPECT)
UNIQUE_TARGETS = frozenset({"cache-miss", "cache-off"})
REDIS_TARGETS = frozenset({"cache-hit-redis"})  # served by a gateway of their own, with BYOKGATE_REDIS_URL
# The targets that need each emulator, and the byokgate targets (one gateway process serves a run of them).
OPENAI_TARGETS = frozenset({"direct", "bare", "byokgate", "litellm", *CACHE_TARGETS})
ANTHROPIC_TARGETS = frozenset({"direct-anthropic", "byokgate-anthropic", "byokgate-messages"})
BYOKGATE_TARGETS = frozenset({"byokgate", "byokgate-anthropic", "byokgate-messages", *CACHE_TARGETS})
MODES = ("json", "stream")

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


class BenchError(RuntimeError):
    """The harness cannot go on (a process died, a check failed)."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
