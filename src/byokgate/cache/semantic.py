"""Which requests the semantic cache may answer, what it embeds, and the exact-match filter around it.

A semantic hit answers a request whose last user turn is worded differently from a stored one but means the
same. Everything else must match exactly, so the filter ("bucket") is the exact cache key of the request with
the last user turn's text left out: same project, lane, provider and model, namespace, system prompt, earlier
turns and parameters (temperature, response format, ...). Only the last user turn is embedded.

Skipped, because a similar question there does not mean the same answer: tool-calling traffic (tools
offered, tool calls or tool results in the history: the agent-loop trap where a stale observation would be
replayed), ``n > 1``, conversations with more user turns than the project allows, and a last turn that is not
plain text from the user (images, audio, files).

Both chat formats are read: OpenAI's (``tool_calls`` on a message, ``tool``/``function`` roles) and
Anthropic's (a top-level ``system``, which stays in the filter, and ``tool_use``/``tool_result`` content
blocks). Any content block whose type names a tool counts as tool traffic, so block kinds added later are
skipped rather than answered from a similar question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from byokgate.cache.keys import CacheKeys

MAX_TEXT_CHARS = 16_000  # longer turns are not embedded (cost, and near-duplicates of long texts are rare)
_TOOL_FIELDS = ("tools", "functions", "tool_choice", "function_call")
_TOOL_ROLES = frozenset({"tool", "function"})


@dataclass(frozen=True, slots=True)
class SemanticQuery:
    text: str  # the last user turn, the only thing embedded
    bucket: str  # the exact-match filter: ``{project_id}:{digest}``, so a project purge finds it


def semantic_query(
    payload: dict[str, Any],
    project_id: str,
    lane: str,
    provider: str,
    model: str,
    namespace: str,
    *,
    max_turns: int,
    keys: CacheKeys,
) -> SemanticQuery | None:
    """The query for ``payload``, or None when the semantic cache must not answer it."""
    if any(payload.get(name) for name in _TOOL_FIELDS) or payload.get("n", 1) != 1:
        return None
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    turns = 0
    for message in messages:
        if not isinstance(message, dict):
            return None
        role = message.get("role")
        if role in _TOOL_ROLES or message.get("tool_calls") or message.get("function_call"):
            return None
        if isinstance(content := message.get("content"), list) and any(
            isinstance(block, dict) and "tool" in str(block.get("type")) for block in content
        ):
            return None  # Anthropic's tool_use / tool_result blocks (and any later tool block kind)
        turns += role == "user"
    last = messages[-1]
    if turns > max_turns or last.get("role") != "user":
        return None
    text = _plain_text(last.get("content"))
    if text is None or not text.strip() or len(text) > MAX_TEXT_CHARS:
        return None
    blanked = {name: value for name, value in last.items() if name != "content"}
    bucket = keys.request_key(
        project_id,
        lane,
        provider,
        model,
        f"semantic\0{namespace}",
        payload={**payload, "messages": [*messages[:-1], blanked]},
    )
    return SemanticQuery(text, bucket)


def _plain_text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            return None  # an image, audio or file: a similar caption does not mean the same input
        texts.append(part["text"])
    return "\n".join(texts)
