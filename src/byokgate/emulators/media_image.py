"""Small, real PNG files for the images emulator (stdlib `zlib` only), and reading an uploaded PNG's header.

`png(seed, width, height)` draws a deterministic picture (a diagonal gradient between two colours and a
checkered overlay, all picked from `seed`), so the same request always yields the same bytes. The images
API answers 1024x1024 and larger; the emulator draws them at 1/16 of that (`scaled`), which keeps each file
under a few kilobytes and its aspect ratio right.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCALE = 16  # drawn size = requested size / SCALE
# IHDR colour types, as PIL names the modes the images API talks about.
COLOR_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}


@dataclass(frozen=True, slots=True)
class PngInfo:
    """What an uploaded PNG's header says."""

    width: int
    height: int
    mode: str  # L, RGB, P, LA or RGBA


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def scaled(size: str) -> tuple[int, int]:
    """The drawn dimensions for a `WIDTHxHEIGHT` size (`auto` and anything unreadable: 1024x1024)."""
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()):
        width, height = "1024", "1024"
    return max(1, int(width) // SCALE), max(1, int(height) // SCALE)


def png(seed: bytes, width: int, height: int, *, alpha: bool = False) -> bytes:
    """An RGB (`alpha`: RGBA, opaque) PNG of `width` x `height` pixels, a pure function of `seed`."""
    digest = hashlib.sha256(seed).digest()
    start, end = digest[0:3], digest[3:6]
    tile = 2 + digest[6] % 6
    span = max(width + height - 2, 1)
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            weight = (x + y) / span
            shade = 0.8 if (x // tile + y // tile) % 2 else 1.0
            for channel in range(3):
                value = start[channel] + (end[channel] - start[channel]) * weight
                rows.append(int(value * shade) & 0xFF)
            if alpha:
                rows.append(0xFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def png_info(data: bytes) -> PngInfo | None:
    """The header of a PNG file, or None when `data` is not one."""
    if not data.startswith(SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 33:
        return None
    width, height, _depth, color = struct.unpack(">IIBB", data[16:26])
    return PngInfo(width, height, COLOR_MODES.get(color, "?"))


def image_kind(data: bytes) -> str | None:
    """`png`, `jpeg`, `webp` or `gif` by the file's magic bytes (None: none of these)."""
    if data.startswith(SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None
