"""The front-door limits: one immutable set, read from the ``Settings`` fields of the same names."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from byokgate.settings import Settings


@dataclass(frozen=True, slots=True)
class FrontDoorLimits:
    """The limits, named as the ``Settings`` fields (and ``BYOKGATE_*`` variables) that set them."""

    max_header_bytes: int
    max_header_count: int
    max_url_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    keep_alive_timeout_s: int
    max_connections: int
    listen_backlog: int

    @classmethod
    def from_settings(cls, settings: Settings) -> FrontDoorLimits:
        return cls(**{field.name: getattr(settings, field.name) for field in dataclasses.fields(cls)})

    @classmethod
    def defaults(cls) -> FrontDoorLimits:
        """The production defaults: those of the ``Settings`` fields, whatever the environment says."""
        fields = Settings.model_fields
        return cls(**{field.name: fields[field.name].default for field in dataclasses.fields(cls)})


DEFAULT_LIMITS = FrontDoorLimits.defaults()
