"""OpenAI's moderations: `POST /v1/moderations` (`omni-moderation-latest` by default, its snapshot, and the
older `text-moderation-latest` / `-stable`).

Deterministic: a category is flagged when the input holds one of its trigger words (`TRIGGERS`, whole words,
case-insensitive); a flagged sub-category (`violence/graphic`) flags its parent too. Flagged categories
score 0.9 and more, the others a small stable number derived from the text. A string or each string of an
array is one result; an array of multi-modal parts (`text`, `image_url`) is one result, images scored on
the categories that take images (an image URL with a trigger word in it is flagged). Every category the
SDK's `Moderation` declares is answered, for the older models too (which know no `illicit`; their zeros
there are ours). The images endpoints refuse a prompt this flags, as the real API's safety system does.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from byokgate.emulators import content
from byokgate.emulators.openai_endpoints import Call, Reply
from byokgate.emulators.profile import ApiError, random_alnum
from byokgate.emulators.validation import invalid_type, missing

DEFAULT_MODEL = "omni-moderation-latest"
TRIGGERS: dict[str, tuple[str, ...]] = {
    "harassment": ("idiot", "moron", "loser"),
    "harassment/threatening": ("threaten", "threatening"),
    "hate": ("vermin", "subhuman"),
    "hate/threatening": ("exterminate",),
    "illicit": ("shoplift", "counterfeit"),
    "illicit/violent": ("bomb", "explosives"),
    "self-harm": ("self-harm", "suicide"),
    "self-harm/intent": ("suicidal",),
    "self-harm/instructions": ("overdose",),
    "sexual": ("nsfw", "explicit"),
    "sexual/minors": ("underage",),
    "violence": ("kill", "murder", "stab", "shoot"),
    "violence/graphic": ("gore", "dismember"),
}
IMAGE_CATEGORIES = frozenset(
    {
        "self-harm",
        "self-harm/intent",
        "self-harm/instructions",
        "sexual",
        "violence",
        "violence/graphic",
    }
)
_WORD = re.compile(r"\w[\w-]*")


def invalid_model(model: str) -> ApiError:
    """The real API's answer to a model that is no moderation model (observed 2024)."""
    message = f"Invalid value for 'model' = {model}. Please check the OpenAI documentation and try again."
    return ApiError(400, message, param="model")


def flagged_categories(text: str) -> set[str]:
    words = {word.lower() for word in _WORD.findall(text)}
    found = {category for category, triggers in TRIGGERS.items() if words & set(triggers)}
    return found | {category.split("/")[0] for category in found}


def is_flagged(text: str) -> bool:
    return bool(flagged_categories(text))


def _score(category: str, text: str, flagged: bool) -> float:
    byte = hashlib.sha256(f"{category}:{text}".encode()).digest()[0]
    return round(0.9 + byte / 2560, 6) if flagged else round((byte + 1) / 51_200, 8)


def result(texts: list[str], images: list[str]) -> dict[str, Any]:
    """One moderation result for some text and image URLs taken together."""
    joined = "\n".join(texts)
    flagged = flagged_categories(joined)
    image_flags = set().union(*(flagged_categories(" ".join(re.split(r"[/_.?=&:-]", url))) for url in images))
    categories: dict[str, bool] = {}
    scores: dict[str, float] = {}
    applied: dict[str, list[str]] = {}
    for category in TRIGGERS:
        takes_images = category in IMAGE_CATEGORIES and bool(images)
        hit = category in flagged or (takes_images and category in image_flags)
        categories[category] = hit
        scores[category] = _score(category, joined + "|".join(images), hit)
        applied[category] = (["text"] if texts else []) + (["image"] if takes_images else [])
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": scores,
        "category_applied_input_types": applied,
    }


def _results(raw: Any) -> tuple[list[dict[str, Any]], int]:
    if isinstance(raw, str):
        return [result([raw], [])], content.count_tokens(raw)
    if not isinstance(raw, list):
        raise invalid_type("input", "one of a string, an array of strings, or an array of objects", raw)
    if all(isinstance(item, str) for item in raw):
        return [result([item], []) for item in raw], sum(content.count_tokens(item) for item in raw)
    texts: list[str] = []
    images: list[str] = []
    for index, part in enumerate(raw):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and isinstance((part.get("image_url") or {}).get("url"), str):
            images.append(part["image_url"]["url"])
        else:  # (wording unverified)
            raise invalid_type(f"input[{index}]", "a text or image_url object", part)
    return [result(texts, images)], sum(content.count_tokens(text) for text in texts)


def handle(call: Call) -> Reply:
    body = call.body
    if "input" not in body or body["input"] is None:
        raise missing("input")
    model_id = body.get("model") or DEFAULT_MODEL
    if not isinstance(model_id, str):
        raise invalid_type("model", "a string", model_id)
    model = call.profile.model(model_id)
    if model is None or model.kind != "moderation":
        raise invalid_model(model_id)
    results, tokens = _results(body["input"])
    if model_id.startswith("text-moderation") and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in body["input"]
    ):  # documented: only omni models take images (wording ours, unverified)
        raise ApiError(400, f"Model {model_id} does not support image inputs.", param="input")
    reply = {"id": "modr-" + random_alnum(29), "model": model_id, "results": results}
    return Reply(body=reply, tokens=tokens)
