"""Thought signatures: what Gemini 3 models attach to function calls and demand back.

Real signatures are encrypted model state. Ours are stateless and verifiable: a keyed digest of the model,
the function name and its (canonical JSON) arguments, framed like the real ones (base64 starting `CiEB`).
So a signature is only valid for the call it was issued with and for the model that issued it (switching
models mid-conversation invalidates signatures, as it does for real), and any emulator process accepts
the signatures of any other. `skip_thought_signature_validator` is accepted as the documented escape.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from byokgate.emulators.gemini_schema import SKIP_SIGNATURE, decode_bytes

_KEY = b"byokgate-gemini-emulator-thought-signature"
_FRAME = b"\n!\x01"  # a proto bytes field of 33 bytes, as real signatures begin


def _digest(model: str, name: str, args: Mapping[str, Any]) -> bytes:
    canonical = orjson.dumps(dict(args), option=orjson.OPT_SORT_KEYS)
    return _FRAME + hashlib.sha256(_KEY + b"\0" + f"{model}\0{name}\0".encode() + canonical).digest()


def sign(model: str, name: str, args: Mapping[str, Any]) -> str:
    """The signature of this call by this model (standard base64, as the API sends it)."""
    return base64.b64encode(_digest(model, name, args)).decode()


def valid(signature: str, model: str, name: str, args: Mapping[str, Any]) -> bool:
    """Whether a signature sent back (in either base64 alphabet) is the one issued for this call."""
    if signature == SKIP_SIGNATURE:
        return True
    return decode_bytes(signature) == _digest(model, name, args)
