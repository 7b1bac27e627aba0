"""`GenerateContentResponse` objects: a whole answer, or the chunks of a streamed one.

Shapes as captured from the real API: `candidates[{content{parts, role}, finishReason, index,
finishMessage?}]`, `usageMetadata`, `modelVersion`, `responseId` (no created time, no object type).
`usageMetadata` leaves out zero counts (proto3) and `totalTokenCount` includes `thoughtsTokenCount`.
Every stream chunk is a full response holding only the new parts, with the same `responseId` and
cumulative usage; the last one carries `finishReason`. Text is split a few words per chunk, a thought
summary comes whole in its own chunk first, function calls come whole, all in one chunk.

A prompt blocked by the safety filters (the `content_filter` fault) is a 200 without `candidates`:
`promptFeedback.blockReason` with the prompt's `safetyRatings` and a usage of the prompt alone, the whole
response (or the only stream chunk), as recorded from the real API (2026: one SSE event of
`promptFeedback` and `usageMetadata`; the ratings follow the reference and older captures).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from byokgate.emulators import content
from byokgate.emulators.gemini_content import Answer, part_tokens
from byokgate.emulators.gemini_models import GeminiModel


def usage(answer: Answer, candidate_tokens: int) -> dict[str, Any]:
    """`usageMetadata` once `candidate_tokens` (per candidate) have been generated."""
    prompt = answer.prompt_tokens
    generated = candidate_tokens * answer.candidates
    body: dict[str, Any] = {"promptTokenCount": prompt}
    if generated:
        body["candidatesTokenCount"] = generated
    body["totalTokenCount"] = prompt + generated + answer.thought_tokens
    details = []
    if prompt - answer.media_tokens:
        details.append({"modality": "TEXT", "tokenCount": prompt - answer.media_tokens})
    if answer.media_tokens:
        details.append({"modality": "IMAGE", "tokenCount": answer.media_tokens})
    body["promptTokensDetails"] = details
    if answer.thought_tokens:
        body["thoughtsTokenCount"] = answer.thought_tokens
    return body


def _candidates(answer: Answer, parts: list[dict[str, Any]], final: bool) -> list[dict[str, Any]]:
    candidates = []
    for index in range(answer.candidates):
        item: dict[str, Any] = {"content": {"parts": parts, "role": "model"} if parts else {"role": "model"}}
        if final:
            item["finishReason"] = answer.finish_reason
        item["index"] = index
        if final and answer.finish_message:
            item["finishMessage"] = answer.finish_message
        candidates.append(item)
    return candidates


def _response(
    answer: Answer,
    model: GeminiModel,
    response_id: str,
    parts: list[dict[str, Any]],
    *,
    final: bool,
    tokens: int,
) -> dict[str, Any]:
    return {
        "candidates": _candidates(answer, parts, final),
        "usageMetadata": usage(answer, tokens),
        "modelVersion": model.id,
        "responseId": response_id,
    }


def response(answer: Answer, model: GeminiModel, response_id: str) -> dict[str, Any]:
    """The whole answer (`generateContent`)."""
    return _response(answer, model, response_id, answer.parts(), final=True, tokens=answer.candidate_tokens)


def stream_chunks(answer: Answer, model: GeminiModel, response_id: str) -> Iterator[dict[str, Any]]:
    """The chunks of `streamGenerateContent`, in order (framing is the server's)."""
    groups: list[list[dict[str, Any]]] = []
    if answer.thought is not None:
        groups.append([{"text": answer.thought, "thought": True}])
    if answer.calls:
        groups.append(list(answer.calls))
    else:
        groups.extend([{"text": piece}] for piece in content.stream_pieces(answer.text or ""))
    if not groups:
        groups.append([])
    generated = 0
    for index, parts in enumerate(groups):
        final = index == len(groups) - 1
        generated += sum(part_tokens(part) for part in parts if not part.get("thought"))
        tokens = answer.candidate_tokens if final else generated
        yield _response(answer, model, response_id, parts, final=final, tokens=tokens)


def blocked(prompt_tokens: int) -> dict[str, Any]:
    """The answer to a prompt blocked for safety: no candidates, the dangerous-content rating blocking."""
    ratings: list[dict[str, Any]] = [
        {"category": category, "probability": "NEGLIGIBLE"}
        for category in (
            "HARM_CATEGORY_SEXUALLY_EXPLICIT",
            "HARM_CATEGORY_HATE_SPEECH",
            "HARM_CATEGORY_HARASSMENT",
        )
    ]
    ratings.append({"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True})
    return {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": ratings},
        "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
    }
