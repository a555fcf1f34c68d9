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

Keys may be left out (they take the defaults, or those of ``variant`` when it is given).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from .attention_record import DEFAULT_PHASES, Phase
from .errors import AttnmodError
from .run_files import read_settings_file

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


@dataclasses.dataclass(frozen=True)
class Window:
    """A part of denoising progress: active when ``start <= progress < end`` (``end >= 1`` includes the last step)."""

    start: float = 0.0
    end: float = 1.0

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

    @classmethod
    def from_json(cls, data, where: str) -> Window:
        if not isinstance(data, (list, tuple)) or len(data) != 2:
            raise AttnmodError(f"{where}: a window is a pair [start, end] of progress fractions, got {data!r}")
        start, end = (_number(value, where) for value in data)
        if not 0.0 <= start <= end <= 1.0:
            raise AttnmodError(f"{where}: a window needs 0 <= start <= end <= 1, got [{start}, {end}]")
        return cls(start, end)


@dataclasses.dataclass(frozen=True)
class Curve:
    """A token weight as a function of progress within a window (see the module docstring for the formulas)."""

    kind: str = "constant"
    start: float = 1.0
    end: float = 1.0
    at: float = 0.5  # where a ``step`` curve switches from start to end

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

    @classmethod
    def from_json(cls, data, where: str) -> Curve:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return cls("constant", float(data), float(data))
        fields = _fields(data, where, {"kind", "start", "end", "at"})
        curve = cls(
            kind=str(fields.get("kind", "constant")),
            start=_number(fields.get("start", 1.0), where + ".start"),
            end=_number(fields.get("end", fields.get("start", 1.0)), where + ".end"),
            at=_number(fields.get("at", 0.5), where + ".at"),
        )
        if curve.kind not in CURVE_KINDS:
            raise AttnmodError(f"{where}: unknown curve kind {curve.kind!r}: use one of {', '.join(CURVE_KINDS)}")
        if curve.start <= 0 or curve.end <= 0:
            raise AttnmodError(f"{where}: curve weights must be positive, got start {curve.start}, end {curve.end}")
        return curve


@dataclasses.dataclass(frozen=True)
class TemperatureConfig:
    """Self-attention temperature: ``softmax(Q K^T / (tau sqrt(d)))`` inside ``window`` on ``layers``."""

    enabled: bool = False
    tau: float = 0.8
    window: Window = Window(0.0, 0.3)
    layers: tuple[str, ...] = ("all",)
    halves: str = "both"  # "both" halves of classifier-free guidance, or "cond" only


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
    """Object-focused cross-attention masking (assignment rule in the module docstring)."""

    enabled: bool = False
    window: Window = Window(0.0, 0.5)
    layers: tuple[str, ...] = ("all",)
    margin: float = 0.05
    nested: str = "family"
    assign_by: str = "nouns"
    score: str = "mean"
    assignment: str = "per_step"
    smoothing: float = 1.0  # Gaussian standard deviation in patches of the assignment grid
    special: str = "keep"
    special_weight: float = 0.5


@dataclasses.dataclass(frozen=True)
class ReweightingConfig:
    """Phase-wise token reweighting: post-softmax column weights per token class, then row renormalisation."""

    enabled: bool = False
    window: Window = Window(0.0, 1.0)
    layers: tuple[str, ...] = ("all",)
    entity: Curve = Curve("cosine", 1.5, 1.0)  # layout first: nouns emphasised early
    attribute: Curve = Curve("linear", 1.0, 1.5)  # appearance later
    other: Curve = Curve("linear", 1.0, 1.25)


@dataclasses.dataclass(frozen=True)
class CaptureConfig:
    """What attention capture keeps: cross-attention per phase; self-attention at the coarsest resolution if asked."""

    phases: tuple[Phase, ...] = DEFAULT_PHASES
    self_attention: bool = False


@dataclasses.dataclass(frozen=True)
class ModulationConfig:
    """The whole modulation: three independently switchable parts plus what the capture keeps."""

    temperature: TemperatureConfig = TemperatureConfig()
    masking: MaskingConfig = MaskingConfig()
    reweighting: ReweightingConfig = ReweightingConfig()
    capture: CaptureConfig = CaptureConfig()

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
        fields = _fields(data, "modulation config", {"variant", *PARTS, "capture"})
        base = cls.from_variant(str(fields["variant"])) if "variant" in fields else cls()
        changes = {}
        if "temperature" in fields:
            changes["temperature"] = _temperature(fields["temperature"], base.temperature)
        if "masking" in fields:
            changes["masking"] = _masking(fields["masking"], base.masking)
        if "reweighting" in fields:
            changes["reweighting"] = _reweighting(fields["reweighting"], base.reweighting)
        if "capture" in fields:
            changes["capture"] = _capture(fields["capture"], base.capture)
        return dataclasses.replace(base, **changes)

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


# ---- parsing helpers: every error names where in the config it is ----


def _fields(data, where: str, allowed: set[str]) -> dict:
    if not isinstance(data, dict):
        raise AttnmodError(f"{where}: expected a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise AttnmodError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(sorted(allowed))})"
        )
    return data


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AttnmodError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _flag(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise AttnmodError(f"{where}: expected true or false, got {value!r}")
    return value


def _choice(value, choices: Sequence[str], where: str) -> str:
    if value not in choices:
        raise AttnmodError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _layers(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        raise AttnmodError(f"{where}: expected a list of layer selectors such as ['all'] or ['down_blocks.2']")
    return tuple(value)


def _common(fields: dict, where: str) -> dict:
    changes = {}
    if "enabled" in fields:
        changes["enabled"] = _flag(fields["enabled"], where + ".enabled")
    if "window" in fields:
        changes["window"] = Window.from_json(fields["window"], where + ".window")
    if "layers" in fields:
        changes["layers"] = _layers(fields["layers"], where + ".layers")
    return changes


def _temperature(data, base: TemperatureConfig) -> TemperatureConfig:
    fields = _fields(data, "temperature", {"enabled", "tau", "window", "layers", "halves"})
    changes = _common(fields, "temperature")
    if "halves" in fields:
        changes["halves"] = _choice(fields["halves"], HALVES, "temperature.halves")
    if "tau" in fields:
        tau = _number(fields["tau"], "temperature.tau")
        if tau <= 0:
            raise AttnmodError(f"temperature.tau must be positive, got {tau}")
        changes["tau"] = tau
    return dataclasses.replace(base, **changes)


def _masking(data, base: MaskingConfig) -> MaskingConfig:
    fields = _fields(
        data,
        "masking",
        {"enabled", "window", "layers", "margin", "nested", "assign_by", "score", "assignment", "smoothing", "special",
         "special_weight"},
    )  # fmt: skip
    changes = _common(fields, "masking")
    for key, choices in (("assign_by", ASSIGN_BY), ("score", SCORES), ("assignment", ASSIGNMENTS),
                         ("special", SPECIAL_RULES)):  # fmt: skip
        if key in fields:
            changes[key] = _choice(fields[key], choices, f"masking.{key}")
    if "smoothing" in fields:
        smoothing = _number(fields["smoothing"], "masking.smoothing")
        if not 0.0 <= smoothing <= 16.0:
            raise AttnmodError(f"masking.smoothing is a blur width in patches in [0, 16], got {smoothing}")
        changes["smoothing"] = smoothing
    if "special_weight" in fields:
        weight = _number(fields["special_weight"], "masking.special_weight")
        if not 0.0 < weight <= 1.0:
            raise AttnmodError(f"masking.special_weight is a factor in (0, 1], got {weight}")
        changes["special_weight"] = weight
    if "margin" in fields:
        margin = _number(fields["margin"], "masking.margin")
        if not 0.0 <= margin < 1.0:
            raise AttnmodError(f"masking.margin is a share difference in [0, 1), got {margin}")
        changes["margin"] = margin
    if "nested" in fields:
        if fields["nested"] not in NESTED_RULES:
            raise AttnmodError(f"masking.nested must be one of {', '.join(NESTED_RULES)}, got {fields['nested']!r}")
        changes["nested"] = fields["nested"]
    return dataclasses.replace(base, **changes)


def _reweighting(data, base: ReweightingConfig) -> ReweightingConfig:
    fields = _fields(data, "reweighting", {"enabled", "window", "layers", "entity", "attribute", "other"})
    changes = _common(fields, "reweighting")
    for name in ("entity", "attribute", "other"):
        if name in fields:
            changes[name] = Curve.from_json(fields[name], f"reweighting.{name}")
    return dataclasses.replace(base, **changes)


def _capture(data, base: CaptureConfig) -> CaptureConfig:
    fields = _fields(data, "capture", {"phases", "self_attention"})
    changes = {}
    if "self_attention" in fields:
        changes["self_attention"] = _flag(fields["self_attention"], "capture.self_attention")
    if "phases" in fields:
        raw = fields["phases"]
        if not isinstance(raw, list) or not raw:
            raise AttnmodError("capture.phases: expected a non-empty list of {name, start, end}")
        phases = []
        for index, entry in enumerate(raw):
            where = f"capture.phases[{index}]"
            item = _fields(entry, where, {"name", "start", "end"})
            if not isinstance(item.get("name"), str) or not item["name"] or "/" in item["name"]:
                raise AttnmodError(f"{where}.name: expected a non-empty name without '/'")
            window = Window.from_json([item.get("start"), item.get("end")], where)
            phases.append(Phase(item["name"], window.start, window.end))
        names = [phase.name for phase in phases]
        if len(set(names)) != len(names):
            raise AttnmodError(f"capture.phases: phase names must be unique, got {names}")
        changes["phases"] = tuple(phases)
    return dataclasses.replace(base, **changes)
