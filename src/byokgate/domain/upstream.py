"""What an adapter asks the transport to send, and what comes back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class KeyCheckOutcome(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    UNREACHABLE = "unreachable"
    UPSTREAM_ERROR = "upstream_error"


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """A provider's error, normalised: what the client is told, in OpenAI's terms."""

    status: int
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    retry_after_s: int | None = None  # for providers whose retry hint is in the body, not a header


@dataclass(frozen=True, slots=True)
class NativeCall:
    """What of the client's request a native pass-through needs beyond its body: the path asked for and
    the format's own headers (API version, beta flags)."""

    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
