"""Settings of the scoring and the verdicts: :class:`Thresholds`, read from a file and overridden per option."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from ..toolkit.attention_record import parse_resolution
from ..toolkit.errors import AttnmodError
from ..toolkit.run_files import read_settings_file


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Settings of the scoring and the verdicts.

    ``background``: a pixel is background when every entity map is below ``background x`` its own peak (0-1).
    ``overlap``: entities "overlap" when ``O_ef >= overlap``. ``binding``: an attribute is weakly bound when
    ``B_a < binding``. ``self_leakage``: self-attention leaks when ``L_ef >= self_leakage``. ``margin``: an
    attribute is distributionally closer to another noun when its SynGen margin (nats) is below ``margin``.
    ``resolution``: score on this cross-attention resolution only ("HxW"); None combines every captured
    resolution at the coarsest one.
    """

    background: float = 0.2
    overlap: float = 0.4
    binding: float = 0.6
    self_leakage: float = 0.3
    margin: float = 0.0
    resolution: str | None = None

    def __post_init__(self) -> None:
        for name in ("background", "overlap", "binding", "self_leakage"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise AttnmodError(f"threshold {name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.margin, (int, float)) or not math.isfinite(float(self.margin)):
            raise AttnmodError(f"threshold margin must be a finite number (nats), got {self.margin!r}")
        if self.resolution is not None:
            try:
                parse_resolution(str(self.resolution))
            except ValueError as error:
                raise AttnmodError(f"resolution must look like 32x32, got {self.resolution!r}") from error

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data) -> Thresholds:
        if not isinstance(data, dict):
            raise AttnmodError("thresholds must be a mapping of names to numbers")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise AttnmodError(f"unknown threshold(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**data)

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
