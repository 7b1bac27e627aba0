"""OpenAI's images: `POST /v1/images/generations` (JSON), `/images/edits` and `/images/variations`
(multipart/form-data), for `dall-e-2`, `dall-e-3` and the GPT image models (`gpt-image-1`,
`gpt-image-1.5`).

Checked per model as the real API does: unknown fields and fields a model does not take are `Unknown
parameter` (observed for `quality` on dall-e-2, `response_format` on GPT image models), `n` 1-10 and 1 for
dall-e-3, sizes per model (`invalid_size`), prompt lengths (1000 / 4000 / 32000), enums. Answered
`{created, data: [{url | b64_json, revised_prompt?}]}` with real PNGs (`media_image.png`, drawn from the
model, prompt, size, index and input images): `url` (dall-e default) points at `GET /_files/images/...`
that the emulator serves itself; GPT image models always answer `b64_json` and add `background`,
`output_format`, `quality`, `size` and `usage` (output tokens by the documented size x quality table),
and stream (`stream: true`) typed partial-image and completed events. Pictures are always PNG, also when
`output_format` asks for jpeg or webp (the requested format is echoed). A prompt that `openai_moderations`
flags, or the `content_filter` fault, is refused as the real safety system refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from byokgate.emulators import content, media_image, openai_moderations
from byokgate.emulators.multipart import Form, Upload
from byokgate.emulators.openai_endpoints import Call, Reply, file_url
from byokgate.emulators.openai_responses_checks import enum_field, unknown_parameter
from byokgate.emulators.profile import CONTENT_POLICY, ApiError
from byokgate.emulators.validation import check_number, invalid_type, invalid_value, missing

GPT_MODELS = ("gpt-image-1", "gpt-image-1.5")
ALL_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536", "256x256", "512x512", "1792x1024", "1024x1792")
SIZES = {"dall-e-2": ("256x256", "512x512", "1024x1024"), "dall-e-3": ("1024x1024", "1792x1024", "1024x1792")}
GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
PROMPT_LIMITS = {"dall-e-2": 1000, "dall-e-3": 4000}
GPT_PROMPT_LIMIT = 32_000
DALL_E_2_BYTES = 4 * 1024 * 1024
GPT_IMAGE_BYTES = 50 * 1024 * 1024
GPT_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")
# output image tokens by quality and size (OpenAI's documented table for gpt-image-1)
OUTPUT_TOKENS = {
    "low": {"square": 272, "tall": 408},
    "medium": {"square": 1056, "tall": 1584},
    "high": {"square": 4160, "tall": 6240},
}
INPUT_IMAGE_TOKENS = 258  # per input image (ours)
COMMON = frozenset({"prompt", "model", "n", "size", "user", "safety_identifier"})
GPT_ONLY = frozenset(
    {
        "background",
        "moderation",
        "output_format",
        "output_compression",
        "stream",
        "partial_images",
        "input_fidelity",
        "complexity",
        "effort",
        "frame_count",
        "frame_duration_ms",
        "reasoning",
        "svg",
        "markup",
    }
)
GENERATE_FIELDS = COMMON | GPT_ONLY | {"quality", "response_format", "style"}
EDIT_FIELDS = COMMON | GPT_ONLY | {"image", "mask", "quality", "response_format"}
VARIATION_FIELDS = frozenset({"image", "model", "n", "size", "response_format", "user"})
INTEGERS = frozenset({"n", "output_compression", "partial_images", "frame_count", "frame_duration_ms"})
BAD_PNG = "Uploaded image must be a PNG and less than 4 MB."  # observed (capitalisation unverified)
NOT_SQUARE = "Uploaded image must be square."  # (unverified)
NO_ALPHA = (
    "Invalid input image - format must be in ['RGBA', 'LA', 'L'], got {mode}."  # (recalled, unverified)
)


@dataclass(slots=True)
class Ask:
    """A checked images request."""

    model: str
    prompt: str
    n: int
    size: str
    response_format: str
    quality: str
    style: str
    background: str
    output_format: str
    stream: bool
    partial_images: int
    inputs: list[Upload]


def is_gpt(model: str) -> bool:
    return model in GPT_MODELS


def _form_fields(form: Form) -> dict[str, Any]:
    """A form read as a JSON body would be: one value per name (`image[]` as `image`), numbers and
    booleans parsed, files present by name."""
    fields: dict[str, Any] = {}
    for name in form.fields:
        raw = form.fields[name][-1]
        key = name.removesuffix("[]")
        if key in INTEGERS:
            try:
                fields[key] = int(raw)
            except ValueError:
                raise invalid_type(key, "an integer", raw) from None
        elif key == "stream":
            fields[key] = raw.lower() == "true"
        else:
            fields[key] = raw
    for name in form.files:
        fields[name.removesuffix("[]")] = form.files[name]
    return fields


def invalid_model(model: Any) -> ApiError:
    """A model that is no image model (observed for chat models on generations)."""
    return ApiError(400, f"Invalid model {model}. The model argument should be left blank.")


def _check_model(call: Call, model: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    known = call.profile.model(model)
    if known is None or known.kind != "image":
        raise invalid_model(model)
    if model not in allowed:  # an image model this endpoint does not take (wording unverified)
        raise invalid_value("model", model, allowed)
    return model


def _check(fields: dict[str, Any], model: str, allowed: frozenset[str], *, prompt: bool) -> Ask:
    gpt = is_gpt(model)
    for name in fields:
        refused = (
            name not in allowed
            or (not gpt and name in GPT_ONLY)
            or (gpt and name in ("response_format", "style"))
            or (model == "dall-e-2" and name == "quality")
            or (model != "dall-e-3" and name == "style")
        )
        if refused and fields[name] is not None:
            raise unknown_parameter(name)
    text = fields.get("prompt")
    if prompt and text is None:
        raise missing("prompt")
    if text is not None and not isinstance(text, str):
        raise invalid_type("prompt", "a string", text)
    limit = GPT_PROMPT_LIMIT if gpt else PROMPT_LIMITS.get(model, 1000)
    if text is not None and len(text) > limit:
        message = (
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, but got a "
            f"string with length {len(text)} instead."
        )
        raise ApiError(400, message, param="prompt", code="string_above_max_length")
    n = check_number(fields.get("n"), "n", 1, 10, integer=True) or 1
    if model == "dall-e-3" and n != 1:  # (recalled wording)
        raise ApiError(400, "You must provide n=1 for this model.")
    size = fields.get("size")
    if size is not None:
        enum_field(size, "size", ALL_SIZES)
        if size not in (GPT_SIZES if gpt else SIZES[model]):
            raise ApiError(400, "The size is not supported by this model.", code="invalid_size")
    qualities = ("standard", "low", "medium", "high", "auto") if gpt else ("standard", "hd")
    quality = enum_field(fields.get("quality"), "quality", qualities)
    check_number(fields.get("output_compression"), "output_compression", 0, 100, integer=True)
    partial = check_number(fields.get("partial_images"), "partial_images", 0, 3, integer=True) or 0
    enum_field(fields.get("moderation"), "moderation", ("low", "auto"))
    return Ask(
        model=model,
        prompt=text or "",
        n=n,
        size=size or ("auto" if gpt else "1024x1024"),
        response_format=enum_field(fields.get("response_format"), "response_format", ("url", "b64_json"))
        or ("b64_json" if gpt else "url"),
        quality=quality or ("auto" if gpt else "standard"),
        style=enum_field(fields.get("style"), "style", ("vivid", "natural")) or "vivid",
        background=enum_field(fields.get("background"), "background", ("transparent", "opaque", "auto"))
        or "auto",
        output_format=enum_field(fields.get("output_format"), "output_format", ("png", "jpeg", "webp"))
        or "png",
        stream=bool(fields.get("stream")) and gpt,
        partial_images=partial,
        inputs=[],
    )


def _refuse(call: Call, ask: Ask) -> None:
    if openai_moderations.is_flagged(ask.prompt) or call.fault("content_filter"):
        raise ApiError(400, CONTENT_POLICY, code="content_policy_violation")


def _resolved(ask: Ask) -> tuple[str, str]:
    """Size and quality as a GPT image answer states them (`auto` made concrete; ours: medium)."""
    size = "1024x1024" if ask.size == "auto" else ask.size
    quality = "medium" if ask.quality in ("auto", "standard") else ask.quality
    return size, quality


def _usage(ask: Ask) -> dict[str, Any]:
    size, quality = _resolved(ask)
    output = OUTPUT_TOKENS[quality]["square" if size == "1024x1024" else "tall"] * ask.n
    text = content.count_tokens(ask.prompt)
    images = INPUT_IMAGE_TOKENS * len(ask.inputs)
    return {
        "input_tokens": text + images,
        "input_tokens_details": {"image_tokens": images, "text_tokens": text},
        "output_tokens": output,
        "output_tokens_details": {"image_tokens": output, "text_tokens": 0},
        "total_tokens": text + images + output,
    }


def revised_prompt(prompt: str, style: str) -> str:
    """dall-e-3's rewrite of the prompt (ours)."""
    look = "A vivid, dramatic" if style == "vivid" else "A natural, understated"
    return f"{look} image of the following scene: {prompt.strip().rstrip('.')}."


def _seed(ask: Ask, index: int) -> bytes:
    inputs = b"".join(hashlib.sha256(upload.data).digest() for upload in ask.inputs)
    return hashlib.sha256(f"{ask.model}|{ask.size}|{index}|{ask.prompt}|".encode() + inputs).digest()


def _picture(ask: Ask, index: int) -> tuple[bytes, int, int]:
    width, height = media_image.scaled(_resolved(ask)[0])
    seed = _seed(ask, index)
    return seed, width, height


def _answer(call: Call, ask: Ask) -> Reply:
    created = int(time.time())
    data = []
    for index in range(ask.n):
        seed, width, height = _picture(ask, index)
        item: dict[str, Any] = {}
        if ask.response_format == "url":
            item["url"] = file_url(call.root_url, seed, width, height)
        else:
            item["b64_json"] = base64.b64encode(media_image.png(seed[:16], width, height)).decode()
        if ask.model == "dall-e-3":
            item["revised_prompt"] = revised_prompt(ask.prompt, ask.style)
        data.append(item)
    if not is_gpt(ask.model):
        return Reply(body={"created": created, "data": data})
    size, quality = _resolved(ask)
    usage = _usage(ask)
    shared = {
        "background": "opaque" if ask.background == "auto" else ask.background,
        "output_format": ask.output_format,
        "quality": quality,
        "size": size,
    }
    if ask.stream:
        kind = "image_edit" if ask.inputs else "image_generation"
        events = _events(kind, created, shared, data, usage, ask.partial_images)
        return Reply(events=events, done=False, named=True, tokens=usage["total_tokens"])
    body = {"created": created, "data": data, **shared, "usage": usage}
    return Reply(body=body, tokens=usage["total_tokens"])


def _events(
    kind: str,
    created: int,
    shared: dict[str, Any],
    data: list[dict[str, Any]],
    usage: dict[str, Any],
    partials: int,
) -> Iterator[dict[str, Any]]:
    for item in data:
        for index in range(partials):
            partial = {"type": f"{kind}.partial_image", "partial_image_index": index}
            yield {**partial, "b64_json": item["b64_json"], "created_at": created, **shared}
        yield {"type": f"{kind}.completed", "b64_json": item["b64_json"], "created_at": created, **shared,
               "usage": usage}  # fmt: skip


def generate(call: Call) -> Reply:
    fields = call.body
    model = fields.get("model")
    if model is None:  # documented: dall-e-2, unless a GPT-image-only parameter is used
        model = GPT_MODELS[-1] if any(fields.get(name) is not None for name in GPT_ONLY) else "dall-e-2"
    model = _check_model(call, model, ("dall-e-2", "dall-e-3", *GPT_MODELS))
    ask = _check(fields, model, GENERATE_FIELDS, prompt=True)
    _refuse(call, ask)
    return _answer(call, ask)


def _dall_e_2_image(upload: Upload, *, needs_alpha: bool) -> None:
    info = media_image.png_info(upload.data)
    if info is None or upload.size >= DALL_E_2_BYTES:
        raise ApiError(400, BAD_PNG, param="image")
    if info.width != info.height:
        raise ApiError(400, NOT_SQUARE, param="image")
    if needs_alpha and info.mode not in ("RGBA", "LA", "L"):
        raise ApiError(400, NO_ALPHA.format(mode=info.mode), param="image")


def edit(call: Call) -> Reply:
    assert call.form is not None
    fields = _form_fields(call.form)
    model = _check_model(call, fields.get("model") or GPT_MODELS[-1], ("dall-e-2", *GPT_MODELS))
    ask = _check(fields, model, EDIT_FIELDS, prompt=True)
    ask.inputs = call.form.uploads("image", "image[]")
    masks = call.form.uploads("mask")
    if not ask.inputs:
        raise missing("image")
    if is_gpt(model):
        for upload in ask.inputs[:16]:
            if upload.content_type not in GPT_MIME_TYPES or upload.size > GPT_IMAGE_BYTES:  # (recalled)
                message = (
                    f"Invalid file 'image': unsupported mimetype ('{upload.content_type}'). Supported file "
                    "formats are 'image/jpeg', 'image/png', and 'image/webp'."
                )
                raise ApiError(400, message, param="image", code="unsupported_file_mimetype")
    else:
        _dall_e_2_image(ask.inputs[0], needs_alpha=not masks)
    if masks and media_image.png_info(masks[0].data) is None:  # (wording unverified)
        raise ApiError(400, "Invalid mask image - the mask must be a PNG file.", param="mask")
    _refuse(call, ask)
    return _answer(call, ask)


def variation(call: Call) -> Reply:
    assert call.form is not None
    fields = _form_fields(call.form)
    for name in fields:
        if name not in VARIATION_FIELDS:
            raise unknown_parameter(name)
    model = _check_model(call, fields.get("model") or "dall-e-2", ("dall-e-2",))
    ask = _check({key: value for key, value in fields.items() if key != "image"}, model, VARIATION_FIELDS,
                 prompt=False)  # fmt: skip
    ask.inputs = call.form.uploads("image")
    if not ask.inputs:
        raise missing("image")
    _dall_e_2_image(ask.inputs[0], needs_alpha=False)
    return _answer(call, ask)
