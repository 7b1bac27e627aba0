"""Faithful, deterministic HTTP emulators of OpenAI-format provider APIs (OpenAI, Groq, OpenRouter).

Used by the gateway's tests, the benchmarks and the offline demo. Each emulator is a raw ASGI app; run it
with `runner.EmulatorServer` (a background thread) or `byokgate emulate` (the CLI). See `content` for the
rule that makes answers predictable and `faults` / `control` for fault injection and the request log.
"""

from __future__ import annotations

from byokgate.emulators.anthropic import anthropic_emulator
from byokgate.emulators.faults import Fault
from byokgate.emulators.gemini import gemini_emulator
from byokgate.emulators.groq import groq_emulator
from byokgate.emulators.openai import openai_emulator
from byokgate.emulators.openai_compat import Emulator
from byokgate.emulators.openrouter import openrouter_emulator
from byokgate.emulators.recorder import RecordedRequest
from byokgate.emulators.runner import PROVIDERS, EmulatorServer, build, running, serve

__all__ = [
    "PROVIDERS",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "RecordedRequest",
    "anthropic_emulator",
    "build",
    "gemini_emulator",
    "groq_emulator",
    "openai_emulator",
    "openrouter_emulator",
    "running",
    "serve",
]
