"""What the attention modulation does: a typed configuration with named presets, round-tripping through JSON/YAML.

Three parts, each switchable on its own for ablations, each with a *window* (a part of denoising progress in
``[0, 1)``; a part is active when ``start <= progress < end``) and the *layers* it applies to. Progress is read from
the timestep the UNet receives: the position of that timestep among the scheduler's distinct timesteps divided by
their number (``step / steps`` for first-order schedulers such as Euler; a second-order scheduler's two calls of one
step share the noise level of the step they evaluate, so the progress never runs ahead).

* ``temperature``: self-attention becomes ``softmax(Q K^T / (tau * sqrt(d))) V`` (tau < 1 sharpens it) in one
  fused ``scaled_dot_product_attention`` call. ``halves``: ``both`` tempers both halves of classifier-free guidance
  (default), ``cond`` the conditional half only (the first design; guidance then amplifies the change about w-fold).
* ``masking``: in cross-attention every image patch is assigned to one entity, and the tokens of the other entities'
  groups (noun and attribute tokens) are set to exactly 0 for that patch; the row is renormalised to sum to 1.
  The assignment (each option below, old behaviour in brackets):

  - ``assign_by``: ``nouns`` scores an entity by its head-noun tokens only (default), ``groups`` by its noun and
    attribute tokens [old]. With ``nouns`` an attribute that leaks ("red" on the dog) cannot pull a patch away.
  - ``score``: ``mean`` (default) or ``sum`` [old] of the head-averaged probabilities of those tokens, so a group with
    more tokens does not win patches by count.
  - ``assignment``: ``per_step`` (default): once per UNet call, from the cross-attention at the coarsest resolution
    level averaged over that level's layers in the *previous* UNet call, smoothed, and resampled (bilinear) to each
    layer's resolution; the first UNet call of a run has no previous maps and is never masked.
    ``per_layer`` [old]: from each layer's own maps in the same call.
  - ``smoothing``: the standard deviation, in patches of the assignment's grid, of a Gaussian blur of the entity
    scores before the argmax (0 = none [old]; default 1.0).
  - ``margin``: a patch whose best share (scores normalised over entities, in [0, 1]) beats the second best by no
    more than ``margin`` is left unmasked.
  - ``nested``: ``family`` (default): a patch assigned to an entity sees its ancestors' and descendants' groups, so a
    parent's patches never hide a child's own tokens ("hat" in "a man with a red hat" stays visible on the man);
    ``ancestors`` [old]: a patch of the child sees its ancestors, a patch of the parent hides the child;
    ``strict``: each patch sees its own group only.
  - ``special``: the end and padding tokens (which, in CLIP's causal encoder, carry the whole prompt) on assigned
    patches: ``keep`` (default) [old]; ``downweight`` multiplies their probabilities by ``special_weight`` before
    renormalising; ``substitute`` moves their probability mass onto the start token, i.e. replaces their values
    with the start token's content-free value (after ToMe's end-token substitution).
  - ``window`` start is the start delay (``masking.start=0.1`` is shorthand for the window's start in ``--set`` and
    sweeps).

  Tokens outside every group (start, function words) always stay visible. A row that would lose all its mass
  (possible only with planted inputs) is left unmasked.
* ``reweighting``: post-softmax, the probability of every token column is multiplied by the weight of its class
  at this progress, then each row is renormalised: ``p'_t = p_t w_t / sum_s p_s w_s``. Classes: entity (head noun
  tokens), attribute (attribute tokens), other (the remaining prompt word tokens); start, end and padding tokens
  keep weight 1. So the ratio of entity to attribute mass changes by exactly ``w_entity / w_attribute``.

Curves map the progress *within the part's window* ``t = (progress - start) / (end - start)`` in [0, 1) to a
weight: ``constant`` (``start``), ``linear`` (``start + (end - start) t``), ``cosine``
(``end + (start - end) (1 + cos(pi t)) / 2``), ``exponential`` (``start (end / start)^t``, geometric) and ``step``
(``start`` while ``t < at``, then ``end``). Weights must be positive.

Every numeric default here is an untuned starting point, not a value from the paper. ``LEGACY_SETTINGS`` (or
``ModulationConfig.legacy()``) gives back the first design for comparison.

Layer selectors (``layers``): ``"all"``; ``"down"``, ``"mid"``, ``"up"`` (UNet parts); ``"coarsest"``,
``"finest"`` and ``"level:N"`` (by the resolution level of the attention module: 0 is the latent size, each level
halves it; ``coarsest`` is where SDXL lays out objects); or any prefix of a module name such as ``"down_blocks.2"``
or ``"up_blocks.0.attentions.1"``. A module is selected when any selector matches it; a selector of an enabled part
that matches no attention module of its kind is an error that lists the modules.

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
dataclasses: a config built in Python, read from JSON/YAML or changed by ``--set`` passes the same checks, and a
bad value is an :class:`~attnmod.toolkit.errors.AttnmodError` that names its place, e.g. ``masking.margin is a share
difference in [0, 1), got 1.5`` or ``capture.phases[1].name: expected a non-empty name without '/'``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import ArgsKwargs

from ..errors import AttnmodError
from ..run_files import read_settings_file
from .record import DEFAULT_PHASES, Phase

PARTS = ("temperature", "masking", "reweighting")
CURVE_KINDS = ("constant", "linear", "cosine", "exponential", "step")
NESTED_RULES = ("family", "ancestors", "strict")
HALVES = ("both", "cond")
ASSIGN_BY = ("nouns", "groups")
SCORES = ("mean", "sum")
ASSIGNMENTS = ("per_step", "per_layer")
SPECIAL_RULES = ("keep", "downweight", "substitute")
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


# ---- validation: the classes below are pydantic dataclasses; every rule raises an _Invalid, which pydantic
# collects with its place in the config, and the first one becomes an AttnmodError that names that place ----


class _Invalid(ValueError):
    """A broken rule: ``text`` follows the place in the config (``where``, plus ``at`` when the rule is about one
    key below it), after ": " or, for ``joined`` rules ("temperature.tau must be positive"), after a space."""

    def __init__(self, text: str, at: str = "", joined: bool = False):
        super().__init__(text)
        self.text, self.at, self.joined = text, at, joined

    def at_place(self, where: str) -> str:
        place = f"{where}.{self.at}" if self.at else where
        return f"{place}{' ' if self.joined else ': '}{self.text}"


def _place(prefix: str, location: tuple) -> str:
    """``("capture", "phases", 0, "name")`` -> ``capture.phases[0].name``, after ``prefix``."""
    place = prefix
    for part in location:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place or "modulation config"


def _user_error(error: ValidationError, prefix: str) -> AttnmodError:
    first = error.errors()[0]
    where = _place(prefix, first["loc"])
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, _Invalid):
        return AttnmodError(cause.at_place(where))
    return AttnmodError(f"{where}: {first['msg']}")  # pydantic's own check (only when built in Python)


def _user_errors(prefix: str):
    """Class decorator: building the class in Python raises an AttnmodError that names ``prefix`` + the key."""

    def decorate(cls):
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


def _mapping(data, allowed: Iterable[str]) -> dict:
    allowed = set(allowed)
    if not isinstance(data, dict):
        raise _Invalid(f"expected a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _Invalid(f"unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(sorted(allowed))})")
    return data


def _finite(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(f"expected a finite number, got {value!r}")
    return float(value)


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {value!r}")
    return value


def _selectors(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        raise _Invalid("expected a list of layer selectors such as ['all'] or ['down_blocks.2']")
    return tuple(value)


def _one_of(choices: Sequence[str]) -> Callable:
    def check(value):
        if value not in choices:
            raise _Invalid(f"must be one of {', '.join(choices)}, got {value!r}", joined=True)
        return value

    return check


def _within(test: Callable[[float], bool], rule: str) -> Callable:
    """A range rule on a number: ``rule`` says the range ("must be positive", "is a factor in (0, 1]")."""

    def check(value: float) -> float:
        if not test(value):
            raise _Invalid(f"{rule}, got {value}", joined=True)
        return value

    return check


def _window_bounds(data) -> tuple[float, float]:
    """``[start, end]`` of a window: two finite numbers with ``0 <= start <= end <= 1``."""
    if not isinstance(data, (list, tuple)) or len(data) != 2:
        raise _Invalid(f"a window is a pair [start, end] of progress fractions, got {data!r}")
    start, end = (_finite(value) for value in data)
    if not 0.0 <= start <= end <= 1.0:
        raise _Invalid(f"a window needs 0 <= start <= end <= 1, got [{start}, {end}]")
    return start, end


Number = Annotated[float, BeforeValidator(_finite)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Selectors = Annotated[tuple[str, ...], BeforeValidator(_selectors)]


def _choice(choices: Sequence[str]):
    return Annotated[str, BeforeValidator(_one_of(choices))]


def _phase(entry) -> Phase:
    if isinstance(entry, Phase):
        return entry
    item = _mapping(entry, {"name", "start", "end"})
    if not isinstance(item.get("name"), str) or not item["name"] or "/" in item["name"]:
        raise _Invalid("expected a non-empty name without '/'", at="name")
    start, end = _window_bounds([item.get("start"), item.get("end")])
    return Phase(item["name"], start, end)


def _phase_list(value):
    if not isinstance(value, (list, tuple)) or not value:
        raise _Invalid("expected a non-empty list of {name, start, end}")
    return value


def _unique_names(phases: tuple[Phase, ...]) -> tuple[Phase, ...]:
    names = [phase.name for phase in phases]
    if len(set(names)) != len(names):
        raise _Invalid(f"phase names must be unique, got {names}")
    return phases


class _Section:
    """Shared by the sections: the JSON form is a mapping of the section's own keys."""

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data):
        if isinstance(data, ArgsKwargs):  # built in Python: the fields speak for themselves
            return data
        return _mapping(data, (field.name for field in dataclasses.fields(cls)))


@_user_errors("window")
@dataclass(frozen=True)
class Window:
    """A part of denoising progress: active when ``start <= progress < end`` (``end >= 1`` includes the last step).

    JSON form: ``[start, end]``.
    """

    start: Number = 0.0
    end: Number = 1.0

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, data):
        if isinstance(data, ArgsKwargs):
            return data
        start, end = _window_bounds(data)
        return {"start": start, "end": end}

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        _window_bounds([self.start, self.end])
        return self

    def contains(self, progress: float) -> bool:
        return self.start <= progress < self.end or (self.end >= 1.0 and progress >= 1.0 and self.start <= 1.0)

    def local(self, progress: float) -> float:
        """Progress inside the window, 0 at its start and 1 at its end (clamped)."""
        span = self.end - self.start
        if span <= 0:
            return 0.0
        return min(max((progress - self.start) / span, 0.0), 1.0)

    def to_json(self) -> list[float]:
        return [self.start, self.end]


@_user_errors("curve")
@dataclass(frozen=True)
class Curve:
    """A token weight as a function of progress within a window (see the module docstring for the formulas).

    JSON form: ``{"kind", "start", "end", "at"}`` (``end`` defaults to ``start``), or a number for a constant.
    """

    kind: str = "constant"
    start: Number = 1.0
    end: Number = 1.0
    at: Number = 0.5  # where a ``step`` curve switches from start to end

    @model_validator(mode="before")
    @classmethod
    def _json_form(cls, data):
        if isinstance(data, ArgsKwargs):
            return data
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"kind": "constant", "start": data, "end": data}
        fields = _mapping(data, {"kind", "start", "end", "at"})
        return {
            **fields,
            "kind": str(fields.get("kind", "constant")),
            "end": fields.get("end", fields.get("start", 1.0)),
        }

    @model_validator(mode="after")
    def _known_and_positive(self) -> Curve:
        if self.kind not in CURVE_KINDS:
            raise _Invalid(f"unknown curve kind {self.kind!r}: use one of {', '.join(CURVE_KINDS)}")
        if self.start <= 0 or self.end <= 0:
            raise _Invalid(f"curve weights must be positive, got start {self.start}, end {self.end}")
        return self

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
        if self.kind == "step":
            return self.start if t < self.at else self.end
        raise AttnmodError(f"unknown curve kind {self.kind!r}: use one of {', '.join(CURVE_KINDS)}")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@_user_errors("temperature")
@dataclass(frozen=True)
class TemperatureConfig(_Section):
    """Self-attention temperature: ``softmax(Q K^T / (tau sqrt(d)))`` inside ``window`` on ``layers``."""

    enabled: Flag = False
    tau: Annotated[Number, AfterValidator(_within(lambda tau: tau > 0, "must be positive"))] = 0.8
    window: Window = Window(0.0, 0.3)
    layers: Selectors = ("all",)
    halves: _choice(HALVES) = "both"  # "both" halves of classifier-free guidance, or "cond" only


@_user_errors("masking")
@dataclass(frozen=True)
class MaskingConfig(_Section):
    """Object-focused cross-attention masking (assignment rule in the module docstring)."""

    enabled: Flag = False
    window: Window = Window(0.0, 0.5)
    layers: Selectors = ("all",)
    margin: Annotated[Number, AfterValidator(_within(lambda m: 0.0 <= m < 1.0, "is a share difference in [0, 1)"))] = (
        0.05
    )
    nested: _choice(NESTED_RULES) = "family"
    assign_by: _choice(ASSIGN_BY) = "nouns"
    score: _choice(SCORES) = "mean"
    assignment: _choice(ASSIGNMENTS) = "per_step"
    # Gaussian standard deviation in patches of the assignment grid
    smoothing: Annotated[
        Number, AfterValidator(_within(lambda s: 0.0 <= s <= 16.0, "is a blur width in patches in [0, 16]"))
    ] = 1.0
    special: _choice(SPECIAL_RULES) = "keep"
    special_weight: Annotated[Number, AfterValidator(_within(lambda w: 0.0 < w <= 1.0, "is a factor in (0, 1]"))] = 0.5


@_user_errors("reweighting")
@dataclass(frozen=True)
class ReweightingConfig(_Section):
    """Phase-wise token reweighting: post-softmax column weights per token class, then row renormalisation."""

    enabled: Flag = False
    window: Window = Window(0.0, 1.0)
    layers: Selectors = ("all",)
    entity: Curve = Curve("cosine", 1.5, 1.0)  # layout first: nouns emphasised early
    attribute: Curve = Curve("linear", 1.0, 1.5)  # appearance later
    other: Curve = Curve("linear", 1.0, 1.25)


@_user_errors("capture")
@dataclass(frozen=True)
class CaptureConfig(_Section):
    """What attention capture keeps: cross-attention per phase; self-attention at the coarsest resolution if asked."""

    phases: Annotated[
        tuple[Annotated[Phase, BeforeValidator(_phase)], ...],
        BeforeValidator(_phase_list),
        AfterValidator(_unique_names),
    ] = DEFAULT_PHASES
    self_attention: Flag = False


def _keys_of(section) -> dict:
    return {field.name: getattr(section, field.name) for field in dataclasses.fields(section)}


@_user_errors("")
@dataclass(frozen=True)
class ModulationConfig:
    """The whole modulation: three independently switchable parts plus what the capture keeps."""

    temperature: TemperatureConfig = TemperatureConfig()
    masking: MaskingConfig = MaskingConfig()
    reweighting: ReweightingConfig = ReweightingConfig()
    capture: CaptureConfig = CaptureConfig()

    @model_validator(mode="before")
    @classmethod
    def _json_form(cls, data):
        """The JSON form: a section given as a mapping changes only the keys it names, starting from the defaults
        (or from those of ``variant``)."""
        if isinstance(data, ArgsKwargs):
            return data
        fields = _mapping(data, {"variant", *PARTS, "capture"})
        base = cls.from_variant(str(fields["variant"])) if "variant" in fields else cls()
        merged = {}
        for name in (*PARTS, "capture"):
            given = fields.get(name, getattr(base, name))
            merged[name] = {**_keys_of(getattr(base, name)), **given} if isinstance(given, dict) else given
        return merged

    @property
    def enabled_parts(self) -> tuple[str, ...]:
        return tuple(part for part in PARTS if getattr(self, part).enabled)

    @property
    def variant(self) -> str:
        """``none``, ``full`` (all three parts) or the enabled parts joined by ``+`` in the fixed order of PARTS."""
        parts = self.enabled_parts
        if not parts:
            return "none"
        if len(parts) == len(PARTS):
            return "full"
        return "+".join(parts)

    @property
    def modulates(self) -> bool:
        return bool(self.enabled_parts)

    @classmethod
    def from_variant(cls, name: str) -> ModulationConfig:
        """A preset: ``none``, ``temperature``, ``masking``, ``reweighting``, ``full`` or a ``+`` combination."""
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
        payload: dict = {"variant": self.variant}
        for part in PARTS:
            section = getattr(self, part)
            entry = {}
            for field in dataclasses.fields(section):
                value = getattr(section, field.name)
                if isinstance(value, (Window, Curve)):
                    value = value.to_json()
                elif isinstance(value, tuple):
                    value = list(value)
                entry[field.name] = value
            payload[part] = entry
        payload["capture"] = {
            "phases": [dataclasses.asdict(phase) for phase in self.capture.phases],
            "self_attention": self.capture.self_attention,
        }
        return payload

    @classmethod
    def from_json(cls, data) -> ModulationConfig:
        """Build from the JSON form; missing keys take the defaults (or those of ``variant``). Raises AttnmodError."""
        try:
            return _JSON_FORM.validate_python(data)
        except ValidationError as error:
            raise _user_error(error, "") from None

    @classmethod
    def load(cls, path: str | Path) -> ModulationConfig:
        """Read a ``.json``, ``.yaml`` or ``.yml`` file (also a generation's ``config.json``: its ``config`` entry)."""
        data = read_settings_file(path, "modulation config")
        if isinstance(data, dict) and isinstance(data.get("config"), dict) and "prompt" in data:
            data = data["config"]  # a generation's config.json: reuse the modulation it recorded
        return cls.from_json(data)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        return path

    def with_overrides(self, assignments: Sequence[str]) -> ModulationConfig:
        """Apply ``section.key=value`` settings (value in YAML syntax), e.g. ``temperature.tau=0.6``."""
        import yaml

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
                    raise AttnmodError(f"cannot apply setting {assignment!r}: {error}") from error
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
                raise AttnmodError(f"cannot apply setting {assignment!r}: {error}") from error
        data.pop("variant", None)
        return ModulationConfig.from_json(data)


def variant_parts(name: str) -> tuple[str, ...]:
    """The parts a variant name enables; raises AttnmodError for an unknown name."""
    pieces = [piece.strip().lower() for piece in str(name).split("+")]
    parts: set[str] = set()
    for piece in pieces:
        if piece == "full":
            parts.update(PARTS)
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


_JSON_FORM = TypeAdapter(ModulationConfig)
