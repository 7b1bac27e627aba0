"""Audio files for the text-to-speech emulator (stdlib only), and reading an uploaded WAV's duration.

Every format holds `duration` seconds of mono audio at 24 kHz (the rate OpenAI's `pcm` is documented at):

- `pcm`: raw 16-bit little-endian samples of a soft tone; `wav`: the same in a RIFF/WAVE file;
- `mp3`: silent MPEG-2 Layer III frames (24 kHz, 32 kbit/s, mono; all-zero side information decodes to
  silence);
- `opus`: an Ogg Opus stream (`OpusHead`, `OpusTags`, pages with their CRC) of 20 ms silence packets;
- `flac`: a FLAC stream (`fLaC`, STREAMINFO, frames of one CONSTANT zero subframe with their CRC-8/16);
- `aac`: ADTS frames (AAC-LC, 24 kHz, mono) with valid headers and lengths whose payload is zeros:
  plausible framing, not decodable audio.
"""

from __future__ import annotations

import math
import struct

SAMPLE_RATE = 24_000
TONES = (200, 240, 250, 300, 320, 375, 400, 480)  # Hz: each divides SAMPLE_RATE (a whole period repeats)
AMPLITUDE = 2_000
MP3_FRAME = b"\xff\xf3\x44\xc4"  # MPEG-2 Layer III, no CRC, 32 kbit/s, 24 kHz, mono
MP3_FRAME_BYTES = 96  # 72 * 32000 / 24000
MP3_FRAME_SAMPLES = 576
AAC_FRAME_SAMPLES = 1024
AAC_PAYLOAD = bytes(24)
OPUS_SILENCE = b"\xf8\xff\xfe"  # CELT fullband 20 ms, mono: a silence frame
OPUS_PACKET_SAMPLES = 960  # 20 ms at Opus's 48 kHz granule rate
OPUS_PRE_SKIP = 312
FLAC_BLOCK = 4096


def samples_for(duration: float) -> int:
    return max(1, round(duration * SAMPLE_RATE))


def pcm(duration: float, tone: int = 0) -> bytes:
    """16-bit mono samples of a sine tone (`TONES[tone % len(TONES)]`) lasting `duration` seconds."""
    frequency = TONES[tone % len(TONES)]
    period = SAMPLE_RATE // frequency
    one = b"".join(
        struct.pack("<h", round(AMPLITUDE * math.sin(2 * math.pi * i / period))) for i in range(period)
    )
    total = samples_for(duration) * 2
    return (one * (total // len(one) + 1))[:total]


def wav(samples: bytes) -> bytes:
    """A RIFF/WAVE file around 16-bit mono samples at `SAMPLE_RATE`."""
    fmt = struct.pack("<HHIIHH", 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples))
    return b"RIFF" + struct.pack("<I", len(body) + len(samples)) + body + samples


def wav_duration(data: bytes) -> float | None:
    """The duration of a PCM WAV file from its header (None when `data` is not one)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    offset, byte_rate, length = 12, 0, None
    while offset + 8 <= len(data):
        kind, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if kind == b"fmt " and size >= 16:
            byte_rate = struct.unpack("<I", data[offset + 16 : offset + 20])[0]
        elif kind == b"data":
            length = min(size, len(data) - offset - 8)
            break
        offset += 8 + size + size % 2
    if not byte_rate or length is None:
        return None
    return float(length / byte_rate)


def mp3(duration: float) -> bytes:
    frames = math.ceil(samples_for(duration) / MP3_FRAME_SAMPLES)
    return (MP3_FRAME + bytes(MP3_FRAME_BYTES - len(MP3_FRAME))) * frames


def aac(duration: float) -> bytes:
    length = 7 + len(AAC_PAYLOAD)
    header = bytes(
        [
            0xFF,
            0xF1,  # MPEG-4, no CRC
            0x58,  # AAC LC, 24 kHz (index 6), channel configuration 1 (high bit)
            0x40 | (length >> 11),
            (length >> 3) & 0xFF,
            ((length & 0x7) << 5) | 0x1F,  # buffer fullness 0x7FF (variable rate)
            0xFC,  # one raw data block
        ]
    )
    return (header + AAC_PAYLOAD) * math.ceil(samples_for(duration) / AAC_FRAME_SAMPLES)


# Ogg --------------------------------------------------------------------------------------------------
def _ogg_table() -> list[int]:
    table = []
    for byte in range(256):
        value = byte << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[(crc >> 24) ^ byte]
    return crc


def _ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIII", b"OggS", 0, flags, granule, 0x454D55, sequence, 0)
    page = header + bytes([len(lacing)]) + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def opus(duration: float) -> bytes:
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, OPUS_PRE_SKIP, SAMPLE_RATE, 0, 0)
    vendor = b"byokgate emulator"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_ogg_page([head], 0, 0, 0x02), _ogg_page([tags], 0, 1, 0)]
    count = math.ceil(samples_for(duration) * 2 / OPUS_PACKET_SAMPLES)  # 48 kHz granules
    per_page, written = 50, 0
    while written < count:
        batch = min(per_page, count - written)
        written += batch
        granule = OPUS_PRE_SKIP + written * OPUS_PACKET_SAMPLES
        flags = 0x04 if written == count else 0
        pages.append(_ogg_page([OPUS_SILENCE] * batch, granule, len(pages), flags))
    return b"".join(pages)


# FLAC -------------------------------------------------------------------------------------------------
def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _utf8_number(value: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number."""
    if value < 0x80:
        return bytes([value])
    length = 2
    while value >= 1 << (5 * length + 1):
        length += 1
    out = bytearray()
    for _ in range(length - 1):
        out.insert(0, 0x80 | (value & 0x3F))
        value >>= 6
    out.insert(0, ((0xFF00 >> length) & 0xFF) | value)
    return bytes(out)


def _flac_frame(number: int, block: int) -> bytes:
    full = block == FLAC_BLOCK
    header = bytes([0xFF, 0xF8, (0xC if full else 0x7) << 4 | 0x6, 0x08]) + _utf8_number(number)
    if not full:
        header += struct.pack(">H", block - 1)
    header += bytes([_crc8(header)])
    frame = header + b"\x00" + b"\x00\x00"  # CONSTANT subframe of 16-bit zero
    return frame + struct.pack(">H", _crc16(frame))


def flac(duration: float) -> bytes:
    total = samples_for(duration)
    info = struct.pack(">HH", FLAC_BLOCK, FLAC_BLOCK) + bytes(6)  # block sizes; frame sizes unknown
    packed = (SAMPLE_RATE << 44) | (0 << 41) | (15 << 36) | total  # rate, channels-1, bits-1, samples
    info += packed.to_bytes(8, "big") + bytes(16)  # MD5 unknown
    stream = b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info
    frames = [
        _flac_frame(number, min(FLAC_BLOCK, total - start))
        for number, start in enumerate(range(0, total, FLAC_BLOCK))
    ]
    return stream + b"".join(frames)


def encode(response_format: str, duration: float, tone: int = 0) -> bytes:
    """`duration` seconds of audio in one of the speech endpoint's formats."""
    if response_format == "pcm":
        return pcm(duration, tone)
    if response_format == "wav":
        return wav(pcm(duration, tone))
    encoders = {"mp3": mp3, "opus": opus, "aac": aac, "flac": flac}
    return encoders[response_format](duration)
