"""Settings of the scoring and the verdicts: :class:`Thresholds`, read from a file and overridden per option.

A pydantic dataclass, like :class:`~attnmod.toolkit.modulation.config.ModulationConfig`: every way of building one
(in Python, from a file's mapping, with ``replace``) runs the same checks, and a bad value is an AttnmodError that
names the setting.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from pydantic import TypeAdapter, ValidationInfo, field_validator, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import ArgsKwargs

from ..toolkit.errors import AttnmodError
from ..toolkit.modulation.record import parse_resolution
from ..toolkit.run_files import read_settings_file

#: The region rules of :func:`attnmod.analysis.metrics.region_candidates` (named here so that reading settings
#: does not import torch).
REGION_RULES = ("spread", "otsu", "peak")


@dataclass(frozen=True)
class Thresholds:
    """Settings of the scoring and the verdicts (the definitions are in docs/diagnosis.md).

    Regions: ``region_rule`` ``spread`` (default), ``otsu`` or ``peak`` (the original rule); ``background`` the
    level of the rule: under ``spread`` a pixel is a candidate of entity e when ``(M_e - floor_e) / (peak_e -
    floor_e) >= background``, under ``peak`` when ``M_e >= background x peak_e`` (0-1; ``otsu`` ignores it);
    ``floor_quantile``: the quantile of a map's pixels taken as its uniform floor (0-1; 0.5: the median), used by
    the spread rule, the contrast and the overlap; ``min_contrast``: a map whose ``(peak - floor) / mean`` is below
    this is flat and claims no pixel (spread and otsu rules).
    Verdicts: ``overlap``: entities "overlap" when the floor-removed ``O'_ef >= overlap`` (0-1). ``binding``: an
    attribute is weakly bound when its lift on its own entity is below ``binding`` (1 = chance). ``self_leakage``:
    self-attention leaks when the lift ``L'_ef >= self_leakage`` (1 = chance). ``margin``: an attribute is
    distributionally closer to another noun when its KL margin (nats) is below ``margin``. ``presence``: an entity
    is neglected when its presence (peak share of word-token attention) is below ``presence`` (0-1).
    ``resolution``: score on this cross-attention resolution only ("HxW"); None combines every captured
    resolution at the coarsest one.
    """

    background: float = 0.4
    overlap: float = 0.4
    binding: float = 1.0
    self_leakage: float = 1.0
    margin: float = 0.0
    presence: float = 0.2
    region_rule: str = "spread"
    floor_quantile: float = 0.5
    min_contrast: float = 0.25
    resolution: str | None = None

    # The checks raise AttnmodError, which pydantic lets through unchanged: the first bad setting is the message.
    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, data):
        if isinstance(data, ArgsKwargs):  # the constructor: Thresholds(overlap=0.5), keywords checked as a file's
            names = set(data.kwargs or {})
        elif isinstance(data, dict):
            names = set(data)
        else:
            raise AttnmodError("thresholds must be a mapping of names to numbers")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(names - known)
        if unknown:
            raise AttnmodError(f"unknown threshold(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return data

    @field_validator("background", "overlap", "presence", "floor_quantile", mode="before")
    @classmethod
    def _fraction(cls, value, info: ValidationInfo) -> float:
        if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise AttnmodError(f"threshold {info.field_name} must be a number in [0, 1], got {value!r}")
        return float(value)

    @field_validator("binding", "self_leakage", "min_contrast", mode="before")
    @classmethod
    def _non_negative(cls, value, info: ValidationInfo) -> float:
        if not isinstance(value, (int, float)) or not 0.0 <= float(value) < math.inf:
            raise AttnmodError(f"threshold {info.field_name} must be a finite number >= 0, got {value!r}")
        return float(value)

    @field_validator("margin", mode="before")
    @classmethod
    def _nats(cls, value) -> float:
        if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise AttnmodError(f"threshold margin must be a finite number (nats), got {value!r}")
        return float(value)

    @field_validator("region_rule", mode="before")
    @classmethod
    def _rule(cls, value) -> str:
        if value not in REGION_RULES:
            raise AttnmodError(f"region_rule must be one of {', '.join(REGION_RULES)}, got {value!r}")
        return value

    @field_validator("resolution", mode="before")
    @classmethod
    def _resolution(cls, value) -> str | None:
        if value is None:
            return None
        try:
            parse_resolution(str(value))
        except ValueError as error:
            raise AttnmodError(f"resolution must look like 32x32, got {value!r}") from error
        return str(value)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data) -> Thresholds:
        return _FROM_MAPPING.validate_python(data)

    @classmethod
    def load(cls, path: str | Path) -> Thresholds:
        """Read thresholds from a ``.json``, ``.yaml`` or ``.yml`` file (a ``thresholds`` entry, if present, wins)."""
        data = read_settings_file(path, "thresholds")
        if isinstance(data, dict) and isinstance(data.get("thresholds"), dict):
            data = data["thresholds"]
        return cls.from_json(data)

    @classmethod
    def resolve(cls, path: str | Path | None = None, **overrides) -> Thresholds:
        """Thresholds from a file (default: the built-in values), then the given (not None) overrides."""
        base = cls.load(path) if path else cls()
        return base.replace(**overrides)

    def replace(self, **changes) -> Thresholds:
        """A copy with the given (not None) settings changed."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_FROM_MAPPING = TypeAdapter(Thresholds)
