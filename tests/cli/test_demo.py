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
        ("anthropic", "byok"),
        ("gemini", "byok"),
        ("mistral", "byok"),  # one of the providers added as one module (OpenAI-compatible)
        ("openai", "byok"),  # openai/gpt-4o-mini: the project holds an OpenAI key, BYOK takes precedence
        ("openrouter", "pooled"),  # no DeepSeek key: the pooled lane
    ]
    assert all(o.text for o in outcomes)
    assert [o.headers["x-byokgate-cache"] for o in outcomes[:3]] == ["MISS", "MISS", "HIT"]
    assert outcomes[2].text == outcomes[0].text
    assert outcomes[1].ttft_ms is not None  # the streamed steps really streamed
    assert outcomes[4].ttft_ms is not None
    output = "\n".join(lines)
    assert "deepseek/deepseek-chat" in output
    # Six answers used the project's own keys: the pooled one used the platform key, the cache hit none.
    assert f"request log: {len(STEPS)} chat completions; audit log: 6 provider-key uses" in output
