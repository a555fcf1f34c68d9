"""What the attention modulation does: a typed configuration with named presets, round-tripping through JSON/YAML.

Three parts, each switchable on its own for ablations (``temperature`` of self-attention, object-focused ``masking``
and phase-wise ``reweighting`` of cross-attention), each with a *window* of denoising progress in ``[0, 1)`` and the
*layers* it applies to; two peers' parts that optimise the latent instead (``excite``: Attend-and-Excite, ``syngen``:
SynGen; defaults from their papers, see :mod:`~attnmod.toolkit.modulation.guidance`), combinable with them; ``capture`` says what the attention capture keeps. Every option, its formula and its default
are described in docs/modulation.md. Every numeric default is an untuned starting point, not a value from the paper;
``LEGACY_SETTINGS`` (or ``ModulationConfig.legacy()``) gives back the first design for comparison.

The JSON form (``to_json``/``from_json``, also the YAML file form) is::

    {"variant": "full",
     "temperature": {"enabled": true, "tau": 0.8, "window": [0.0, 0.3], "layers": ["all"], "halves": "both"},
     "masking": {"enabled": true, "window": [0.0, 0.5], "layers": ["all"], "margin": 0.05, "nested": "family",
                 "assign_by": "nouns", "score": "mean", "assignment": "per_step", "smoothing": 1.0,
                 "special": "keep", "special_weight": 0.5},
     "reweighting": {"enabled": true, "window": [0.0, 1.0], "layers": ["all"],
                     "entity": {"kind": "cosine", "start": 1.5, "end": 1.0, "at": 0.5}, "attribute": {...},
                     "other": {...}},
     "capture": {"phases": [{"name": "early", "start": 0.0, "end": 0.3}, ...], "self_attention": false}}

Keys may be left out (they take the defaults, or those of ``variant`` when it is given). The classes are pydantic
dataclasses: a config built in Python, read from JSON/YAML or changed by ``--set`` passes the same checks (strict
finite numbers, literal choices, bounds, no unknown key), and a bad value is an
:class:`~attnmod.toolkit.errors.AttnmodError` of one line that names its place, e.g. ``masking.margin: input should
be less than 1, got 1.5 (a share difference in [0, 1))`` or ``temperature: unknown key 'tua' (known: enabled,
halves, layers, tau, window)``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import (
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ArgsKwargs

from ..errors import AttnmodError
from ..run_files import read_settings_file
from .sections import (
    _FORM,
    CaptureConfig,
    ExciteConfig,
    MaskingConfig,
    ReweightingConfig,
    SynGenConfig,
    TemperatureConfig,
    _user_error,
    _user_errors,
)
from .sections import Curve as Curve  # Curve and Window: public names of this module too
from .sections import Window as Window

PAPER_PARTS = ("temperature", "masking", "reweighting")  # the paper's attention edits: ``full`` is all three
GUIDANCE_PARTS = ("excite", "syngen")  # the peers' latent optimisation (guidance.py)
PARTS = PAPER_PARTS + GUIDANCE_PARTS
PART_SELECTORS = ("all", "down", "mid", "up", "coarsest", "finest")
# The first design, before issue 14's corrections: reachable for comparison as ``ModulationConfig.legacy()``.
LEGACY_SETTINGS = (
    "temperature.halves=cond",
    "masking.assign_by=groups",
    "masking.score=sum",
    "masking.assignment=per_layer",
    "masking.smoothing=0",
    "masking.nested=ancestors",
    "masking.special=keep",
)


_SECTIONS = {
    "temperature": TemperatureConfig,
    "masking": MaskingConfig,
    "reweighting": ReweightingConfig,
    "excite": ExciteConfig,
    "syngen": SynGenConfig,
    "capture": CaptureConfig,
}


def _keys_of(section) -> dict:
    return {field.name: getattr(section, field.name) for field in dataclasses.fields(section)}


@_user_errors("")
@dataclass(frozen=True, config=_FORM)
class ModulationConfig:
    """The whole modulation: three independently switchable parts plus what the capture keeps."""

    temperature: TemperatureConfig = TemperatureConfig()
    masking: MaskingConfig = MaskingConfig()
    reweighting: ReweightingConfig = ReweightingConfig()
    excite: ExciteConfig = ExciteConfig()
    syngen: SynGenConfig = SynGenConfig()
    capture: CaptureConfig = CaptureConfig()

    @model_validator(mode="before")
    @classmethod
    def _json_form(cls, data):
        """The JSON form: a section given as a mapping changes only the keys it names, starting from the defaults
        (or from those of ``variant``)."""
        if isinstance(data, ArgsKwargs) or not isinstance(data, dict):
            return data
        base = cls.from_variant(str(data["variant"])) if "variant" in data else cls()
        merged = {key: value for key, value in data.items() if key != "variant"}
        for name in _SECTIONS:
            given = merged.get(name, getattr(base, name))
            merged[name] = {**_keys_of(getattr(base, name)), **given} if isinstance(given, dict) else given
        return merged

    @property
    def enabled_parts(self) -> tuple[str, ...]:
        return tuple(part for part in PARTS if getattr(self, part).enabled)

    @property
    def variant(self) -> str:
        """``none``, or the enabled parts joined by ``+`` in the fixed order of PARTS, with ``full`` standing for
        the paper's three parts together (``full``, ``full+excite``, ``masking+syngen``)."""
        parts = self.enabled_parts
        if not parts:
            return "none"
        if set(PAPER_PARTS) <= set(parts):
            parts = ("full", *(part for part in parts if part not in PAPER_PARTS))
        return "+".join(parts)

    @property
    def modulates(self) -> bool:
        return bool(self.enabled_parts)

    @classmethod
    def from_variant(cls, name: str) -> ModulationConfig:
        """A preset: ``none``, ``temperature``, ``masking``, ``reweighting``, ``full`` (the three), ``excite``,
        ``syngen`` or a ``+`` combination such as ``full+excite``."""
        return cls().with_parts(variant_parts(name))

    @classmethod
    def legacy(cls, name: str = "full") -> ModulationConfig:
        """A preset with the first design's rules (``LEGACY_SETTINGS``): for comparisons with the corrected one."""
        return cls.from_variant(name).with_overrides(LEGACY_SETTINGS)

    def with_parts(self, parts: Iterable[str]) -> ModulationConfig:
        """The same parameters with exactly ``parts`` enabled."""
        wanted = set(parts)
        changes = {part: dataclasses.replace(getattr(self, part), enabled=part in wanted) for part in PARTS}
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        return {"variant": self.variant, **_JSON_FORM.dump_python(self, mode="json")}

    @classmethod
    def from_json(cls, data) -> ModulationConfig:
        """Build from the JSON form; missing keys take the defaults (or those of ``variant``). Raises AttnmodError."""
        try:
            return _JSON_FORM.validate_python(data)
        except ValidationError as error:
            raise _user_error(error, "", json_form=True) from None

    @classmethod
    def load(cls, path: str | Path) -> ModulationConfig:
        """Read a ``.json``, ``.yaml`` or ``.yml`` file (also a generation's ``config.json``: its ``config`` entry)."""
        data = read_settings_file(path, "modulation config")
        if isinstance(data, dict) and isinstance(data.get("config"), dict) and "prompt" in data:
            data = data["config"]  # a generation's config.json: reuse the modulation it recorded
        return cls.from_json(data)

    def save(self, path: str | Path) -> Path:
        from ..run_files import write_atomic

        return write_atomic(Path(path), json.dumps(self.to_json(), indent=2))

    def with_overrides(self, assignments: Sequence[str]) -> ModulationConfig:
        """Apply ``section.key=value`` settings (value in YAML syntax), e.g. ``temperature.tau=0.6``."""
        import yaml

        from ..run_files import describe_yaml_error

        data = self.to_json()
        for assignment in assignments:
            path, separator, raw = assignment.partition("=")
            keys = [key for key in path.strip().split(".") if key]
            if not separator or len(keys) < 2 or keys[0] not in (*PARTS, "capture"):
                raise AttnmodError(
                    f"cannot apply setting {assignment!r}: write SECTION.KEY=VALUE with SECTION one of "
                    f"{', '.join((*PARTS, 'capture'))}, e.g. temperature.tau=0.6"
                )
            if len(keys) == 2 and keys[0] in PARTS and keys[1] in ("start", "end"):
                # shorthand for one end of the part's window: masking.start=0.1 delays masking
                try:
                    value = yaml.safe_load(raw)
                except Exception as error:  # noqa: BLE001 - yaml raises several error types
                    raise AttnmodError(f"cannot apply setting {assignment!r}: {describe_yaml_error(error)}") from error
                data[keys[0]]["window"][0 if keys[1] == "start" else 1] = value
                continue
            node = data
            for key in keys[:-1]:
                if not isinstance(node.get(key), dict):
                    raise AttnmodError(f"cannot apply setting {assignment!r}: {key!r} is not a section")
                node = node[key]
            if keys[-1] not in node:
                raise AttnmodError(
                    f"cannot apply setting {assignment!r}: unknown key {keys[-1]!r} (known: {', '.join(node)})"
                )
            try:
                node[keys[-1]] = yaml.safe_load(raw)
            except Exception as error:  # noqa: BLE001 - yaml raises several error types
                raise AttnmodError(f"cannot apply setting {assignment!r}: {describe_yaml_error(error)}") from error
        data.pop("variant", None)
        return ModulationConfig.from_json(data)


def variant_parts(name: str) -> tuple[str, ...]:
    """The parts a variant name enables; raises AttnmodError for an unknown name."""
    pieces = [piece.strip().lower() for piece in str(name).split("+")]
    parts: set[str] = set()
    for piece in pieces:
        if piece == "full":
            parts.update(PAPER_PARTS)
        elif piece in ("none", "vanilla"):
            continue
        elif piece in PARTS:
            parts.add(piece)
        else:
            raise AttnmodError(
                f"unknown variant {name!r}: use none, full, {', '.join(PARTS)} or a '+' combination "
                "such as temperature+masking"
            )
    return tuple(part for part in PARTS if part in parts)


def layer_selected(selectors: Sequence[str], module: str, level: int, levels: tuple[int, int]) -> bool:
    """Whether attention module ``module`` (at resolution ``level``; ``levels`` = (finest, coarsest)) is selected."""
    for selector in selectors:
        if selector == "all":
            return True
        if selector in ("down", "mid", "up") and module.startswith(f"{selector}_block"):
            return True
        if selector == "coarsest" and level == levels[1]:
            return True
        if selector == "finest" and level == levels[0]:
            return True
        if selector.startswith("level:") and selector[6:].strip().isdigit() and level == int(selector[6:]):
            return True
        if selector not in PART_SELECTORS and (module == selector or module.startswith(selector.rstrip(".") + ".")):
            return True
    return False


def map_sides(latent_size: tuple[int, int], levels: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Level -> (height, width) of its maps: each level halves the latent, rounding up (stride-2 convolutions)."""
    sides = {}
    for level in sorted(set(levels)):
        height, width = latent_size
        for _ in range(level):
            height, width = (height + 1) // 2, (width + 1) // 2
        sides[level] = (height, width)
    return sides


def select_map_level(
    resolution: int | str, cross_levels: Sequence[int], latent_size: tuple[int, int], part: str
) -> int:
    """The resolution level whose cross-attention maps a part reads.

    ``resolution`` an integer N: the level whose maps have N patches on their shorter side (16 is A&E's 16x16).
    ``"auto"``: the level at a quarter of the latent's shorter side, which with the usual 8x VAE is diffusers' A&E
    default ``attn_res = ceil(width / 32)`` (16x16 for SD 1.x at 512 px, 32x32 for SDXL at 1024 px), else the
    coarsest cross-attention level (on the shapes model, 8x8). Raises AttnmodError, listing the sizes there are, when
    no level matches.
    """
    sides = map_sides(latent_size, cross_levels)
    if not sides:
        raise AttnmodError(f"{part}: this UNet has no cross-attention")
    shorter = {level: min(size) for level, size in sides.items()}
    if resolution == "auto":
        wanted = math.ceil(min(latent_size) / 4)
        matching = [level for level, side in shorter.items() if side == wanted]
        return matching[0] if matching else max(sides)
    matching = [level for level, side in shorter.items() if side == int(resolution)]
    if not matching:
        have = ", ".join(f"{h}x{w}" for h, w in (sides[level] for level in sorted(sides)))
        raise AttnmodError(
            f"{part}.resolution: this model has no {resolution}x{resolution} cross-attention maps at this image size "
            f"(it has {have}); use one of those sides or auto"
        )
    return matching[0]


_JSON_FORM = TypeAdapter(ModulationConfig)
