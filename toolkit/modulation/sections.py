"""The sections of a :class:`~attnmod.toolkit.modulation.config.ModulationConfig` and the checks they share.

Windows, curves, one section per part (temperature, masking, reweighting, excite, syngen) and what the capture
keeps; every option is described in docs/modulation.md. The classes are pydantic dataclasses checked the same way
however they are built (strict finite numbers, literal choices, bounds, no unknown key); a failure is an
:class:`~attnmod.toolkit.errors.AttnmodError` of one line that names its place (:func:`_user_error`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic.dataclasses import dataclass

from ..errors import AttnmodError
from .record import DEFAULT_PHASES, Phase

CurveKind = Literal["constant", "linear", "cosine", "exponential", "step"]


# ---- validation: pydantic checks the types, choices, bounds and keys (a strict, finite number; a literal choice;
# no unknown key), the validators below the rules between fields; the first failure becomes an AttnmodError that
# names its place in the config ----

# A config is data a user writes: "0.5" or true is not a number and 1 is not a flag; NaN and inf are refused.
_FORM = ConfigDict(extra="forbid", allow_inf_nan=False)
Number = Annotated[float, Strict()]


def _place(prefix: str, location: tuple) -> str:
    """``("capture", "phases", 0, "name")`` -> ``capture.phases[0].name``, after ``prefix``."""
    place = prefix
    for part in location:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place or "modulation config"


def _fields_at(prefix: str, location: tuple) -> dict:
    """The pydantic fields of the config class at ``prefix`` + ``location`` (empty where it is not one)."""
    cls = _CLASSES.get(prefix)
    for part in location:
        fields = getattr(cls, "__pydantic_fields__", {})
        if isinstance(part, int):  # an entry of a list: its item type
            cls = (get_args(cls) or (None,))[0]
        else:
            cls = fields[part].annotation if part in fields else None
    return dict(getattr(cls, "__pydantic_fields__", {}))


def _user_error(error: ValidationError, prefix: str, json_form: bool = False) -> AttnmodError:
    """The first failure of ``error`` as one line: ``place: what is wrong, got value (what the key means)``."""
    first = error.errors()[0]
    location = first["loc"]
    if location and isinstance(location[0], int):  # a positional argument in Python: name its field
        location = (list(_fields_at(prefix, ()))[location[0]], *location[1:])
    where = _place(prefix, location)
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError) and first["type"] == "value_error":
        return AttnmodError(f"{where}: {cause}")  # a rule of ours: its text says it all
    if first["type"] == "unexpected_keyword_argument":
        known = list(_fields_at(prefix, location[:-1]))
        if json_form and not prefix and len(location) == 1:
            known.append("variant")  # the JSON form's preset
        parent = _place(prefix, location[:-1])
        return AttnmodError(f"{parent}: unknown key {location[-1]!r} (known: {', '.join(sorted(known))})")
    if first["type"] == "missing":
        return AttnmodError(f"{where}: missing")
    text = first["msg"][0].lower() + first["msg"][1:]
    field = _fields_at(prefix, location[:-1]).get(location[-1]) if location else None
    meaning = f" ({field.description})" if field is not None and field.description else ""
    return AttnmodError(f"{where}: {text}, got {first['input']!r}{meaning}")


#: The config class each prefix of an error names (``""``: the whole config), filled by :func:`_user_errors`.
_CLASSES: dict[str, type] = {}


def _user_errors(prefix: str):
    """Class decorator: building the class in Python raises an AttnmodError that names ``prefix`` + the key."""

    def decorate(cls):
        _CLASSES[prefix] = cls
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self, *args, **kwargs):
            try:
                init(self, *args, **kwargs)
            except ValidationError as error:
                raise _user_error(error, prefix) from None

        cls.__init__ = __init__
        return cls

    return decorate


def _listed(value):
    """A single layer selector stands for a list of one."""
    return [value] if isinstance(value, str) else value


Selectors = Annotated[
    tuple[Annotated[str, Field(min_length=1)], ...],
    BeforeValidator(_listed),
    Field(min_length=1, description="layer selectors such as ['all'] or ['down_blocks.2']"),
]


def _ordered(start: float, end: float) -> None:
    if not 0.0 <= start <= end <= 1.0:
        raise ValueError(f"a window needs 0 <= start <= end <= 1, got [{start}, {end}]")


@_user_errors("window")
@dataclass(frozen=True, config=_FORM)
class Window:
    """A part of denoising progress: active when ``start <= progress < end`` (``end >= 1`` includes the last step).

    JSON form: ``[start, end]``.
    """

    start: Number = 0.0
    end: Number = 1.0

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, data):
        if isinstance(data, (list, tuple)):
            if len(data) != 2:
                raise ValueError(f"a window is a pair [start, end] of progress fractions, got {list(data)!r}")
            return {"start": data[0], "end": data[1]}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        _ordered(self.start, self.end)
        return self

    def contains(self, progress: float) -> bool:
        return self.start <= progress < self.end or (self.end >= 1.0 and progress >= 1.0 and self.start <= 1.0)

    def local(self, progress: float) -> float:
        """Progress inside the window, 0 at its start and 1 at its end (clamped)."""
        span = self.end - self.start
        if span <= 0:
            return 0.0
        return min(max((progress - self.start) / span, 0.0), 1.0)

    @model_serializer
    def to_json(self) -> list[float]:
        return [self.start, self.end]


Weight = Annotated[Number, Field(gt=0, description="a weight, positive")]


@_user_errors("curve")
@dataclass(frozen=True, config=_FORM)
class Curve:
    """A token weight as a function of progress within a window (see the module docstring for the formulas).

    JSON form: ``{"kind", "start", "end", "at"}`` (``end`` defaults to ``start``), or a number for a constant.
    """

    kind: CurveKind = "constant"
    start: Weight = 1.0
    end: Weight = 1.0
    at: Number = 0.5  # where a ``step`` curve switches from start to end

    @model_validator(mode="before")
    @classmethod
    def _json_form(cls, data):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"kind": "constant", "start": data, "end": data}
        if isinstance(data, dict) and "end" not in data:
            return {**data, "end": data.get("start", 1.0)}
        return data

    def value(self, t: float) -> float:
        t = min(max(t, 0.0), 1.0)
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            return self.start + (self.end - self.start) * t
        if self.kind == "cosine":
            return self.end + (self.start - self.end) * (1.0 + math.cos(math.pi * t)) / 2.0
        if self.kind == "exponential":
            return self.start * (self.end / self.start) ** t
        return self.start if t < self.at else self.end  # step

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@_user_errors("temperature")
@dataclass(frozen=True, config=_FORM)
class TemperatureConfig:
    """Self-attention temperature: ``softmax(Q K^T / (tau sqrt(d)))`` inside ``window`` on ``layers``."""

    enabled: StrictBool = False
    tau: Annotated[Number, Field(gt=0, description="a temperature, positive")] = 0.8
    window: Window = Window(0.0, 0.3)
    layers: Selectors = ("all",)
    halves: Literal["both", "cond"] = "both"  # "both" halves of classifier-free guidance, or "cond" only


@_user_errors("masking")
@dataclass(frozen=True, config=_FORM)
class MaskingConfig:
    """Object-focused cross-attention masking (assignment rule in the module docstring)."""

    enabled: StrictBool = False
    window: Window = Window(0.0, 0.5)
    layers: Selectors = ("all",)
    margin: Annotated[Number, Field(ge=0, lt=1, description="a share difference in [0, 1)")] = 0.05
    nested: Literal["family", "ancestors", "strict"] = "family"
    assign_by: Literal["nouns", "groups"] = "nouns"
    score: Literal["mean", "sum"] = "mean"
    assignment: Literal["per_step", "per_layer"] = "per_step"
    smoothing: Annotated[Number, Field(ge=0, le=16, description="a blur width in patches in [0, 16]")] = 1.0
    special: Literal["keep", "downweight", "substitute"] = "keep"
    special_weight: Annotated[Number, Field(gt=0, le=1, description="a factor in (0, 1]")] = 0.5


@_user_errors("reweighting")
@dataclass(frozen=True, config=_FORM)
class ReweightingConfig:
    """Phase-wise token reweighting: post-softmax column weights per token class, then row renormalisation."""

    enabled: StrictBool = False
    window: Window = Window(0.0, 1.0)
    layers: Selectors = ("all",)
    entity: Curve = Curve("cosine", 1.5, 1.0)  # layout first: nouns emphasised early
    attribute: Curve = Curve("linear", 1.0, 1.5)  # appearance later
    other: Curve = Curve("linear", 1.0, 1.25)


def _odd(value: int) -> int:
    if value % 2 == 0:
        raise ValueError(f"an odd kernel size in 1..15, got {value}")
    return value


def _resolution(value):
    if value != "auto" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"auto or a map side in patches (a whole number >= 1, e.g. 16), got {value!r}")
    return value


Resolution = Annotated[Literal["auto"] | int, BeforeValidator(_resolution)]
StepSize = Annotated[Number, Field(gt=0, description="a step size, positive")]
Fraction = Annotated[Number, Field(ge=0, le=1, description="a fraction in [0, 1]")]
Threshold = Annotated[
    tuple[Fraction, Fraction], Field(description="a pair [at, threshold]: denoising progress, peak attention")
]


@_user_errors("excite")
@dataclass(frozen=True, config=_FORM)
class ExciteConfig:
    """Attend-and-Excite (Chefer et al. 2023): a latent step that raises the most neglected subject's peak attention
    (:mod:`~attnmod.toolkit.modulation.guidance` lists every default's source).

    ``window``: the guided steps (the first 25 of 50). ``resolution``: the side of the maps read, or ``auto``.
    ``step_size`` (20) times ``sqrt(1 - step_size_decay * i / (N - 1))`` at step i of N (decay 0.5).
    ``thresholds``: ``[at, threshold]`` pairs of progress and peak (steps 0, 10, 20 of 50: 0.05, 0.5, 0.8), where the
    step repeats (at most ``max_refinement`` = 20 times) until every peak passes. ``softmax_scale`` (100),
    ``smoothing`` (Gaussian sigma 0.5, in patches; 0 = none) and ``kernel_size`` (3) shape the peak.
    """

    enabled: StrictBool = False
    window: Window = Window(0.0, 0.5)
    resolution: Resolution = "auto"
    step_size: StepSize = 20.0
    step_size_decay: Fraction = 0.5
    thresholds: tuple[Threshold, ...] = ((0.0, 0.05), (0.2, 0.5), (0.4, 0.8))
    max_refinement: Annotated[int, Strict(), Field(ge=0, le=1000, description="a count in [0, 1000]")] = 20
    softmax_scale: StepSize = 100.0
    smoothing: Annotated[Number, Field(ge=0, le=16, description="a blur width in patches in [0, 16]")] = 0.5
    kernel_size: Annotated[
        int, Strict(), Field(ge=1, le=15, description="an odd kernel size in 1..15"), AfterValidator(_odd)
    ] = 3


@_user_errors("syngen")
@dataclass(frozen=True, config=_FORM)
class SynGenConfig:
    """SynGen (Rassin et al. 2023): a latent step that pulls each attribute's map toward its noun's and pushes it from
    the other words' (:mod:`~attnmod.toolkit.modulation.guidance`). ``window``: the first 25 of 50 steps;
    ``step_size`` 20, constant (``step_size_decay`` 0, the same rule as excite's); ``resolution`` as excite's."""

    enabled: StrictBool = False
    window: Window = Window(0.0, 0.5)
    resolution: Resolution = "auto"
    step_size: StepSize = 20.0
    step_size_decay: Fraction = 0.0


@dataclass(frozen=True, config=_FORM)
class _PhaseForm:
    """The JSON form of one capture phase (a :class:`~attnmod.toolkit.modulation.record.Phase`)."""

    name: Annotated[str, Field(pattern=r"^[^/]+$", description="a non-empty name without '/'")]
    start: Number
    end: Number

    @model_validator(mode="after")
    def _ordered(self) -> _PhaseForm:
        _ordered(self.start, self.end)
        return self


def _phase_forms(value):
    """Phases given in Python are checked like their JSON form."""
    if isinstance(value, (list, tuple)):
        return [dataclasses.asdict(entry) if isinstance(entry, Phase) else entry for entry in value]
    return value


def _phases(forms: tuple[_PhaseForm, ...]) -> tuple[Phase, ...]:
    names = [form.name for form in forms]
    if len(set(names)) != len(names):
        raise ValueError(f"phase names must be unique, got {names}")
    return tuple(Phase(form.name, form.start, form.end) for form in forms)


@_user_errors("capture")
@dataclass(frozen=True, config=_FORM)
class CaptureConfig:
    """What attention capture keeps: cross-attention per phase; self-attention at the coarsest resolution if asked."""

    phases: Annotated[
        tuple[_PhaseForm, ...],
        BeforeValidator(_phase_forms),
        Field(min_length=1, description="a non-empty list of {name, start, end}"),
        AfterValidator(_phases),
    ] = DEFAULT_PHASES
    self_attention: StrictBool = False
