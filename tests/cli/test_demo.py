"""The offline demo runs end to end: emulators, gateway, admin API, the official OpenAI SDK."""

from __future__ import annotations

from byokgate.demo import STEPS, run_demo


def test_the_demo_shows_byok_and_pooled_lanes() -> None:
    lines: list[str] = []
    outcomes = run_demo(lines.append)
    assert [o.status for o in outcomes] == [200] * len(STEPS)
    routed = [(o.headers["x-byokgate-provider"], o.headers["x-byokgate-lane"]) for o in outcomes]
    assert routed == [
        ("openai", "byok"),
        ("groq", "byok"),
        ("openai", "byok"),
        ("openai", "byok"),  # openai/gpt-4o-mini: the project holds an OpenAI key, BYOK takes precedence
        ("openrouter", "pooled"),  # no Anthropic key: the pooled lane
    ]
    assert all(o.text.startswith("Echo: ") for o in outcomes)
    assert outcomes[1].ttft_ms is not None  # the streamed step really streamed
    output = "\n".join(lines)
    assert "anthropic/claude-3.5-sonnet" in output
    assert f"request log: {len(STEPS)} chat completions; audit log: 4 provider-key uses" in output
