"""diagnosis.json: typed models, the JSON Schema generated from them, validation, reading and writing.

The pydantic models below, with the score models of :mod:`attnmod.analysis.scores` (one record's scores, which each
variant holds), are the one description of the file: :data:`DIAGNOSIS_SCHEMA` (JSON Schema, draft
2020-12, printed in docs/diagnosis.md and kept identical by a test) is generated from them, files are checked
against it by ``jsonschema`` (a maintained validator that implements every keyword), and
:func:`load_diagnosis` (``typed=True``) returns a :class:`DiagnosisFile` object instead of the plain dict.

Every object allows fields beyond the documented ones, so that a newer attnmod can add scores without breaking
older readers; the listed fields are what a reader may rely on. Undefined numbers are ``null``; the file is strict
JSON (no NaN).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import GenerateJsonSchema

from ..toolkit.errors import AttnmodError
from ..toolkit.run_files import DIAGNOSIS_FILE, write_atomic
from .scores import (  # noqa: F401 - the score models are part of the file's description
    SCORES_FORMAT,
    Binding,
    EntityRegion,
    NestedPair,
    Number,
    Overlap,
    PhaseScores,
    RecordScores,
    ScoredAttribute,
    ScoredEntity,
    SelfLeak,
    Share,
)

DIAGNOSIS_FORMAT = "attnmod.diagnosis/2"


class _Open(BaseModel):
    """An object that keeps fields it does not list (a newer writer's additions)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ---- the diagnosis ----


class Settings(_Open):
    model: str
    family: str
    seed: int
    steps: int
    guidance: float
    height: int
    width: int
    device: str
    dtype: str


class TreeJson(_Open):
    prompt: str
    entities: list[dict[str, Any]]


class ThresholdsJson(_Open):
    background: float
    overlap: float
    binding: float
    self_leakage: float
    margin: float
    resolution: str | None
    presence: float | None = None
    region_rule: str | None = None
    floor_quantile: float | None = None
    min_contrast: float | None = None


class VariantResult(_Open):
    variant: str
    config: dict[str, Any]
    image: str
    record: str
    seconds: float
    warnings: list[str]
    scores: RecordScores
    summary: dict[str, Number]
    verdicts: list[str]
    applied_scores: RecordScores | None = None


class Variants(_Open):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, VariantResult]
    baseline: VariantResult
    modulated: VariantResult


class ComparedMetric(_Open):
    name: str
    baseline: Number
    modulated: Number
    change: Number
    better: Literal["lower", "higher"]
    improved: bool | None


class Comparison(_Open):
    metrics: list[ComparedMetric]
    verdicts: list[str]


class Images(_Open):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str]
    baseline: str
    modulated: str


class JudgedObject(_Open):
    shape: str
    colour: str
    size: str
    found: bool
    missing: bool
    wrong_colour: bool
    detected_colour: str | None
    merged: bool


class JudgedImage(_Open):
    all_correct: bool
    present: bool
    object_accuracy: float
    colour_binding: bool | None
    missing: bool
    wrong_colour: bool
    merged: bool
    no_extra: bool
    counts: bool
    relation: bool | None
    size_correct: bool | None
    objects: list[JudgedObject]
    extra: list[str]
    seen: list[str]
    line: str


class JudgedImages(_Open):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, JudgedImage]
    baseline: JudgedImage
    modulated: JudgedImage


class Truth(_Open):
    judge: Literal["shapes"]
    caption: str
    objects: list[str]
    images: JudgedImages
    comparison: str | None
    lines: list[str]


class RankedFinding(_Open):
    text: str
    reading: Literal["predicts", "weak", "unmeasured", "nothing", "opposite"]
    folded: bool


class DiagnosisFile(_Open):
    """diagnosis.json as typed objects (see docs/diagnosis.md). Not the API's ``attnmod.Diagnosis``, which holds a
    diagnosis with its folder, images and report; its ``typed()`` returns this model."""

    format: Literal["attnmod.diagnosis/2"]
    prompt: str
    truth: Truth | None = None
    settings: Settings
    tree: TreeJson
    thresholds: ThresholdsJson
    variants: Variants
    comparison: Comparison
    verdicts: list[str]
    findings: list[RankedFinding] | None = None
    attributions: dict[str, Any] | None
    images: Images
    versions: dict[str, str]
    seconds: float


assert DIAGNOSIS_FORMAT == "attnmod.diagnosis/2"  # the Literal type above


class _PlainSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema without the per-field titles it derives from Python names (noise for a reader)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def _schema() -> dict:
    generated = DiagnosisFile.model_json_schema(by_alias=True, schema_generator=_PlainSchema)
    for definition in generated.get("$defs", {}).values():
        definition.pop("title", None)
        definition.pop("description", None)
    generated.pop("title", None)
    generated.pop("description", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "attnmod diagnosis", **generated}


#: JSON Schema of diagnosis.json, generated from :class:`DiagnosisFile`; docs/diagnosis.md prints the same document.
DIAGNOSIS_SCHEMA: dict = _schema()


def _location(path) -> str:
    where = "$"
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where


def _non_finite(data, where: str = "$"):
    """``(path, value)`` of each NaN or infinite number (strict JSON has neither; Python's json module reads them)."""
    if isinstance(data, float) and not math.isfinite(data):
        yield where, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _non_finite(value, f"{where}.{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _non_finite(value, f"{where}[{index}]")


def schema_errors(data) -> list[str]:
    """One message per problem of ``data`` against :data:`DIAGNOSIS_SCHEMA` (``"$.path: what is wrong"``), in
    document order; empty when valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(DIAGNOSIS_SCHEMA)
    found = sorted(validator.iter_errors(data), key=lambda error: [str(part) for part in error.absolute_path])
    errors = [f"{_location(error.absolute_path)}: {error.message}" for error in found]
    errors.extend(
        f"{where}: {value} is not allowed (strict JSON has no NaN or infinity)" for where, value in _non_finite(data)
    )
    return errors


def validate_diagnosis(data: dict) -> None:
    """Raise AttnmodError naming the first problems when ``data`` does not follow :data:`DIAGNOSIS_SCHEMA`."""
    errors = schema_errors(data)
    if errors:
        shown = "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
        raise AttnmodError(f"diagnosis does not follow the {DIAGNOSIS_FORMAT} schema: {shown}")


def load_diagnosis(path: str | Path, typed: bool = False) -> dict | DiagnosisFile:
    """Read and validate ``diagnosis.json`` (or the folder holding it): the dict, or with ``typed`` a
    :class:`DiagnosisFile`."""
    path = Path(path)
    if path.is_dir():
        path = path / DIAGNOSIS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AttnmodError(f"cannot read diagnosis {str(path)!r}: {error}") from error
    validate_diagnosis(data)
    return DiagnosisFile.model_validate(data) if typed else data


def write_diagnosis(data: dict, out_dir: str | Path) -> Path:
    """Validate and write ``out_dir/diagnosis.json`` (strict JSON: no NaN), atomically."""
    validate_diagnosis(data)
    return write_atomic(Path(out_dir) / DIAGNOSIS_FILE, json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False))


#: Old names of models that shared their name with the API's classes: old name -> (model, what to write now).
_RENAMED = {
    # docs/diagnosis.md named it; attnmod.Diagnosis is the API's class
    "Diagnosis": (lambda: DiagnosisFile, "DiagnosisFile (attnmod.Diagnosis is the API's class)"),
    # attnmod.Scores is the API's class, built on this model
    "Scores": (lambda: RecordScores, "attnmod.analysis.scores.RecordScores (attnmod.Scores is the API's class)"),
}


def __getattr__(name: str):
    if name in _RENAMED:
        import warnings

        model, now = _RENAMED[name]
        warnings.warn(f"attnmod.analysis.schema.{name} is now {now}", DeprecationWarning, stacklevel=2)
        return model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
