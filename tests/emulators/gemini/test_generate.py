"""Gemini generateContent / streamGenerateContent through the official `google-genai` SDK: text, usage,
thinking, streaming, generation config (limits, stop sequences, JSON mode, candidates)."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import errors, types

from byokgate.emulators import EmulatorServer, content, gemini_content
from tests.emulators.gemini.support import (
    FLASH_20,
    FLASH_25,
    QUESTION,
    first_parts,
    parts_of,
    post,
    reply,
    user,
)


def test_plain_answer_is_the_predicted_text(client: genai.Client) -> None:
    response = client.models.generate_content(model=FLASH_20, contents=QUESTION)
    expected = reply(QUESTION)
    assert expected.startswith("Echo: Tell me something about emulators. ")
    assert response.text == expected
    candidate = (response.candidates or [])[0]
    assert candidate.content is not None
    assert candidate.content.role == "model"
    assert candidate.finish_reason == types.FinishReason.STOP
    assert candidate.index == 0
    assert candidate.finish_message is None
    assert response.model_version == FLASH_20
    assert response.response_id is not None
    assert len(response.response_id) == 23
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == content.count_tokens(QUESTION) == 6
    assert usage.candidates_token_count == content.count_tokens(expected)
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert usage.thoughts_token_count is None
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details[0].modality == types.MediaModality.TEXT
    assert usage.prompt_tokens_details[0].token_count == 6


def test_same_request_same_answer(client: genai.Client) -> None:
    first = client.models.generate_content(model=FLASH_20, contents="Is this deterministic?")
    second = client.models.generate_content(model=FLASH_20, contents="Is this deterministic?")
    assert first.text == second.text
    assert first.response_id != second.response_id


def test_thinking_model_counts_thoughts_in_the_total(client: genai.Client) -> None:
    response = client.models.generate_content(model=FLASH_25, contents=QUESTION)
    thought = gemini_content.thought_text(QUESTION, [], after_tools=False)
    assert thought == (
        "**Considering the request**\n\nThe user asks: Tell me something about emulators. "
        "I will answer it directly."
    )
    usage = response.usage_metadata
    assert usage is not None
    assert usage.thoughts_token_count == content.count_tokens(thought)
    assert usage.total_token_count == (
        (usage.prompt_token_count or 0) + (usage.candidates_token_count or 0) + usage.thoughts_token_count
    )
    parts = first_parts(response)
    assert [part.thought for part in parts] == [None]  # thoughts are counted, not shown


def test_include_thoughts_sends_a_thought_part_first(client: genai.Client) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    response = client.models.generate_content(model=FLASH_25, contents=QUESTION, config=config)
    parts = first_parts(response)
    assert [part.thought for part in parts] == [True, None]
    assert parts[0].text == gemini_content.thought_text(QUESTION, [], after_tools=False)
    assert response.text == reply(QUESTION)  # the SDK leaves thought parts out of .text


def test_thinking_budget(client: genai.Client) -> None:
    off = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))
    response = client.models.generate_content(model=FLASH_25, contents=QUESTION, config=off)
    assert response.usage_metadata is not None
    assert response.usage_metadata.thoughts_token_count is None
    capped = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=10))
    response = client.models.generate_content(model=FLASH_25, contents=QUESTION, config=capped)
    assert response.usage_metadata is not None
    assert response.usage_metadata.thoughts_token_count == 10
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="gemini-2.5-pro", contents=QUESTION, config=off)
    assert info.value.code == 400
    assert info.value.message == "Budget 0 is invalid. This model only works in thinking mode."
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=FLASH_20, contents=QUESTION, config=capped)
    assert info.value.message == "Thinking is not supported by models/gemini-2.0-flash."


def test_system_instruction_and_generation_config(server: EmulatorServer, client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        system_instruction="You are terse.",
        temperature=0.2,
        top_p=0.9,
        top_k=20,
        seed=7,
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
            )
        ],
    )
    response = client.models.generate_content(model=FLASH_20, contents=QUESTION, config=config)
    assert response.text == reply(QUESTION)
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count == 6 + content.count_tokens("You are terse.")
    body = server.emulator.requests[-1].body
    assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}], "role": "user"}
    assert body["generationConfig"] == {"temperature": 0.2, "topP": 0.9, "topK": 20, "seed": 7}
    assert body["safetySettings"][0]["threshold"] == "BLOCK_ONLY_HIGH"


def test_stream_joins_to_the_non_streamed_text(client: genai.Client) -> None:
    whole = client.models.generate_content(model=FLASH_25, contents=QUESTION)
    chunks = list(client.models.generate_content_stream(model=FLASH_25, contents=QUESTION))
    assert len(chunks) > 2
    assert "".join(chunk.text or "" for chunk in chunks) == whole.text
    assert [chunk.text for chunk in chunks] == content.stream_pieces(reply(QUESTION))
    assert len({chunk.response_id for chunk in chunks}) == 1
    finishes = [(chunk.candidates or [])[0].finish_reason for chunk in chunks]
    assert finishes == [None] * (len(chunks) - 1) + [types.FinishReason.STOP]
    counts = [chunk.usage_metadata.candidates_token_count or 0 for chunk in chunks if chunk.usage_metadata]
    assert counts == sorted(counts)
    assert counts[0] == content.count_tokens(chunks[0].text or "")
    assert chunks[-1].usage_metadata == whole.usage_metadata  # the last chunk's usage is complete


def test_stream_with_thoughts_sends_the_thought_first(client: genai.Client) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    chunks = list(client.models.generate_content_stream(model=FLASH_25, contents=QUESTION, config=config))
    first = (chunks[0].candidates or [])[0].content
    assert first is not None
    assert first.parts is not None
    assert first.parts[0].thought is True
    assert chunks[0].usage_metadata is not None
    assert chunks[0].usage_metadata.candidates_token_count is None  # nothing generated yet
    assert "".join(chunk.text or "" for chunk in chunks[1:]) == reply(QUESTION)


def test_max_output_tokens_truncates(client: genai.Client) -> None:
    config = types.GenerateContentConfig(max_output_tokens=5)
    response = client.models.generate_content(model=FLASH_20, contents=QUESTION, config=config)
    assert response.text == content.truncate_to_tokens(reply(QUESTION), 5) == "Echo: Tell me something"
    assert (response.candidates or [])[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == 5
    chunks = list(client.models.generate_content_stream(model=FLASH_20, contents=QUESTION, config=config))
    assert "".join(chunk.text or "" for chunk in chunks) == "Echo: Tell me something"
    assert (chunks[-1].candidates or [])[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_stop_sequences_cut_before_the_match(client: genai.Client) -> None:
    config = types.GenerateContentConfig(stop_sequences=["emulators", "Tell"])
    response = client.models.generate_content(model=FLASH_20, contents=QUESTION, config=config)
    assert response.text == "Echo: "
    assert (response.candidates or [])[0].finish_reason == types.FinishReason.STOP


def test_json_mode_follows_the_response_schema(client: genai.Client) -> None:
    question = "What should I pack for a trip to Lisbon?"
    schema = types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "days": types.Schema(type=types.Type.INTEGER),
            "season": types.Schema(type=types.Type.STRING, enum=["summer", "winter"]),
        },
    )
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=schema)
    response = client.models.generate_content(model=FLASH_20, contents=question, config=config)
    assert response.text == '{"city":"Lisbon","days":3,"season":"summer"}'
    assert response.parsed == {"city": "Lisbon", "days": 3, "season": "summer"}
    json_schema = {"type": "array", "items": {"type": "string"}}
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=json_schema
    )
    response = client.models.generate_content(model=FLASH_20, contents=question, config=config)
    assert response.text == '["Lisbon"]'
    config = types.GenerateContentConfig(response_mime_type="application/json")
    response = client.models.generate_content(model=FLASH_20, contents=question, config=config)
    assert response.text == '{"answer":"' + reply(question) + '"}'


def test_enum_mode_answers_the_first_value(client: genai.Client) -> None:
    schema = types.Schema(type=types.Type.STRING, enum=["positive", "negative"])
    config = types.GenerateContentConfig(response_mime_type="text/x.enum", response_schema=schema)
    response = client.models.generate_content(model=FLASH_20, contents="I love it", config=config)
    assert response.text == "positive"


def test_candidate_count(client: genai.Client) -> None:
    config = types.GenerateContentConfig(candidate_count=2)
    response = client.models.generate_content(model=FLASH_20, contents=QUESTION, config=config)
    candidates = response.candidates or []
    assert [candidate.index for candidate in candidates] == [0, 1]
    texts = [part.text for candidate in candidates for part in parts_of(candidate)]
    assert texts == [reply(QUESTION)] * 2
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == 2 * content.count_tokens(reply(QUESTION))


def test_multi_turn_answers_the_last_user_message(client: genai.Client) -> None:
    contents: list[types.ContentUnionDict] = [
        {"role": "user", "parts": [{"text": "First question?"}]},
        {"role": "model", "parts": [{"text": "First answer."}]},
        {"role": "user", "parts": [{"text": "Second question about Rome?"}]},
    ]
    response = client.models.generate_content(model=FLASH_20, contents=contents)
    assert response.text == reply("Second question about Rome?")
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count == 3 + 3 + 5


async def test_async_client(client: genai.Client) -> None:
    async with client.aio as aio:
        response = await aio.models.generate_content(model=FLASH_20, contents=QUESTION)
        assert response.text == reply(QUESTION)
        stream = await aio.models.generate_content_stream(model=FLASH_20, contents=QUESTION)
        pieces = [chunk.text async for chunk in stream]
    assert "".join(piece or "" for piece in pieces) == reply(QUESTION)


def test_v1_and_v1beta_answer_alike(server: EmulatorServer) -> None:
    body = {"contents": [user(QUESTION)]}
    v1 = post(server, "generateContent", body, version="v1").json()
    beta = post(server, "generateContent", body, version="v1beta").json()
    assert v1["candidates"] == beta["candidates"]
    assert v1["candidates"][0] == {
        "content": {"parts": [{"text": reply(QUESTION)}], "role": "model"},
        "finishReason": "STOP",
        "index": 0,
    }
    assert list(v1) == ["candidates", "usageMetadata", "modelVersion", "responseId"]
    assert list(v1["usageMetadata"]) == [
        "promptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
        "promptTokensDetails",
    ]
