"""Helpers shared by the translating adapters (canonical OpenAI chat bodies to a provider's own format).

What a provider cannot express raises ``domain.stream.TranslationError`` (a 400 naming the parameter),
never a silent change.
"""

from __future__ import annotations

import re
from typing import Any

from byokgate.domain.stream import TranslationError

# A base64 ``data:`` URL, the only way images and files travel inline in OpenAI-format content parts.
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)


def text_parts(content: Any, where: str) -> list[str]:
    """The non-empty texts of an OpenAI message ``content`` that may only hold text (or refusal) parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content else []
    if not isinstance(content, list):
        raise TranslationError(f"{where}: content must be a string or an array of parts", param=where)
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        text = part.get("text" if kind == "text" else "refusal") if kind in ("text", "refusal") else None
        if not isinstance(text, str):
            raise TranslationError(f"{where}: only text parts are allowed here", param=where)
        if text:
            texts.append(text)
    return texts
