"""Identifier generation: a readable prefix and 128 random bits (request ids: see ``new_request_id``)."""

from __future__ import annotations

import os
import random
import secrets
import time


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


class _RequestIds:
    """Request ids: 48 bits of milliseconds then 80 random bits, as 32 hex digits after ``req_``.

    Time-ordered, so request-log inserts land at the end of the primary-key index, and cheap: drawn from
    a PRNG seeded from the OS (re-seeded in forked children) instead of a getrandom() call per request.
    They identify requests, they authorise nothing, so they need to be unique, not unpredictable.
    """

    def __init__(self) -> None:
        self._random = random.Random()  # noqa: S311 -- unique, not secret (see above)
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._random.seed(os.urandom(32))

    def __call__(self) -> str:
        millis = time.time_ns() // 1_000_000
        return f"req_{millis & 0xFFFF_FFFF_FFFF:012x}{self._random.getrandbits(80):020x}"

    def hex(self, digits: int) -> str:
        """``digits`` random lowercase hex digits, never all zero (W3C trace and span ids: unique, and
        random as the Trace Context asks, drawn here without a system call)."""
        bits = 0
        while not bits:
            bits = self._random.getrandbits(digits * 4)
        return f"{bits:0{digits}x}"


new_request_id = _RequestIds()
random_hex = new_request_id.hex
