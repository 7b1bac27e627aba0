"""The OpenAI Agents SDK, on its default model (the Responses API), against the gateway: an agent with a
function tool answers a question through a tool call, run plainly (``Runner.run``: JSON answers) and
streamed (``Runner.run_streamed``: the typed event stream), on an OpenAI model (native) and on Claude and
Gemini (translated)."""

from __future__ import annotations

import asyncio

import pytest
from agents import Agent, OpenAIResponsesModel, Runner, RunResult, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

from byokgate.emulators import EmulatorServer
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import Gateway

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

MODELS = {"openai": "gpt-4o", "anthropic": "claude-3-5-sonnet-20241022", "gemini": "gemini-2.5-flash"}
set_tracing_disabled(True)  # nothing goes to OpenAI's trace ingest


@pytest.fixture
def key(chat_gateway: Gateway) -> str:
    _, project_key = chat_gateway.project(**KEYS)
    return project_key


def _agent(client: AsyncOpenAI, model: str, asked: list[str]) -> Agent:
    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        asked.append(city)
        return f"It is sunny in {city}."

    return Agent(
        name="Weather agent",
        instructions="Answer weather questions with the get_weather tool.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model=model, openai_client=client),
    )


@pytest.mark.parametrize("provider", list(MODELS))
def test_an_agent_calls_its_tool(
    chat_gateway: Gateway, key: str, provider: str, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    asked: list[str] = []

    async def run() -> RunResult:
        async with AsyncOpenAI(base_url=f"{chat_gateway.url}/v1", api_key=key, max_retries=0) as client:
            return await Runner.run(_agent(client, MODELS[provider], asked), "What's the weather in Paris?")

    result = asyncio.run(run())
    assert len(asked) == 1  # the model called the tool, the SDK ran it
    assert isinstance(result.final_output, str)
    assert result.final_output
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"]
    posts = [r for r in chat_upstreams[provider].emulator.requests if r.method == "POST"]
    assert len(posts) == 2
    assert posts[-1].api_key == KEYS[provider]


@pytest.mark.parametrize("provider", list(MODELS))
def test_a_streamed_agent_run(chat_gateway: Gateway, key: str, provider: str) -> None:
    asked: list[str] = []

    async def run() -> tuple[list[str], str]:
        async with AsyncOpenAI(base_url=f"{chat_gateway.url}/v1", api_key=key, max_retries=0) as client:
            streamed = Runner.run_streamed(
                _agent(client, MODELS[provider], asked), "What's the weather in Paris?"
            )
            kinds: list[str] = []
            async for event in streamed.stream_events():
                if event.type == "raw_response_event":
                    kinds.append(event.data.type)
            return kinds, str(streamed.final_output)

    kinds, final = asyncio.run(run())
    assert len(asked) == 1
    assert final
    assert kinds.count("response.completed") == 2  # one response with the call, one with the answer
    assert "response.function_call_arguments.delta" in kinds
    assert "response.output_text.delta" in kinds
