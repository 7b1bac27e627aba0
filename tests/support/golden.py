"""Golden cases: hand-written JSON files of input and expected output, one pytest parameter each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def golden_cases(directory: Path, prefix: str) -> list[Any]:
    """Every ``<prefix>_*.json`` in ``directory``, named after its file."""
    return [
        pytest.param(json.loads(path.read_text()), id=path.stem)
        for path in sorted(directory.glob(f"{prefix}_*.json"))
    ]
