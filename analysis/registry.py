"""The metrics a results row, a comparison or a report shows: name, which direction is better, formula and unit.

One registry for the verdicts (:func:`attnmod.analysis.verdicts.compare_scores`), the run report (its tables,
galleries and "improved" counts) and the image-level evaluation (:mod:`attnmod.analysis.evaluate`); the formulas
themselves are implemented in :mod:`attnmod.analysis.metrics` and :mod:`attnmod.analysis.image_metrics`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Literal


@dataclasses.dataclass(frozen=True)
class Metric:
    """``better``: ``"lower"`` or ``"higher"``; ``kind``: ``"attention"`` (from captured maps, per item) or
    ``"image"`` (from the generated image, per item or per variant)."""

    name: str
    better: Literal["lower", "higher"]
    formula: str
    unit: str
    kind: Literal["attention", "image"]

    @property
    def higher_is_better(self) -> bool:
        return self.better == "higher"

    def improved(self, change: float, tolerance: float = 1e-9) -> bool | None:
        """Whether a change (``after - before``) is an improvement; None when undefined or within ``tolerance``."""
        if change is None or math.isnan(change) or abs(change) <= tolerance:
            return None
        return change > 0 if self.higher_is_better else change < 0


_ALL = (
    Metric(
        "leakage",
        "lower",
        "max over non-nested entity pairs of O'_ef = sum_p min(M'_e(p), M'_f(p)), M' = each map minus its floor "
        "(median), renormalised; undefined without a scorable pair",
        "share of a map, 0-1",
        "attention",
    ),
    Metric(
        "binding",
        "higher",
        "mean over attributes of the lift mean_{R_e} A_a / mean_p A_a (share of a's attention on e's region over "
        "the share of the image e covers)",
        "ratio, 1 = chance",
        "attention",
    ),
    Metric(
        "misbound",
        "lower",
        "number of attributes that lie more densely (higher lift) on another entity's region than on their own",
        "count",
        "attention",
    ),
    Metric(
        "self_leakage",
        "lower",
        "max over ordered non-nested pairs of L'_ef = (sum over F_f of the mean self-attention row of F_e) / (|F_f| / N)",
        "ratio, 1 = chance",
        "attention",
    ),
    Metric(
        "clip_score",
        "higher",
        "100 * max(cos(E_image, E_caption), 0), E the projected CLIP embeddings",
        "0-100",
        "image",
    ),
    Metric(
        "reward",
        "higher",
        "exp(logit_scale) * cos(E_image, E_caption) of a CLIP-form preference model",
        "the model's logit scale",
        "image",
    ),
    Metric(
        "fid",
        "lower",
        "||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) between Gaussian fits of features",
        "squared feature units",
        "image",
    ),
)

#: Every metric by name.
METRICS: dict[str, Metric] = {metric.name: metric for metric in _ALL}
#: Per-item numbers from captured attention, in the order tables show them.
ATTENTION_METRICS: tuple[str, ...] = tuple(m.name for m in _ALL if m.kind == "attention")
#: Per-item numbers from the image (FID is per variant, not per item).
IMAGE_ITEM_METRICS: tuple[str, ...] = ("clip_score", "reward")


def better(name: str) -> str:
    """``"lower"`` or ``"higher"`` for a registered metric (KeyError names the unknown one)."""
    return METRICS[name].better


# ---- measured validity of the verdicts ----

#: Where the measured validity of each verdict lives: written by ``benchmarks/score_validity --validation``
#: (the shapes world's judge as ground truth, test half; docs/validity.md), read here so that a rerun of that
#: benchmark updates the wording of every verdict.
VALIDATION_FILE = Path(__file__).with_name("validation.json")
#: The verdicts whose wording follows the validation (keys of ``validation.json``'s ``verdicts``).
VALIDATED_VERDICTS: tuple[str, ...] = (
    "misbound",
    "weak_binding",
    "margin",
    "neglected",
    "no_pixels",
    "overlap",
    "self_leakage",
)
_WHAT = {
    "wrong_colour": "the judge's wrong colours",
    "missing": "the judge's missing objects",
    "merged": "the judge's merged objects",
}


def load_validation(path: str | Path = VALIDATION_FILE) -> dict[str, dict | None]:
    """``{verdict: entry | None}`` from a validation file; every verdict None when the file is absent or unreadable.

    An entry: ``{"reading": "predicts" | "weak" | "nothing" | "opposite", "failure": "wrong_colour" | "missing" |
    "merged", "predictor", "auroc", "ci": [low, high], "units", "failures"}`` (AUROC on the test half with its 95%
    bootstrap interval)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    entries = data.get("verdicts") if isinstance(data, dict) else None
    entries = entries if isinstance(entries, dict) else {}
    return {kind: entries[kind] if isinstance(entries.get(kind), dict) else None for kind in VALIDATED_VERDICTS}


def validity_note(entry: dict | str | None) -> str:
    """The words a verdict carries about its measured validity (empty when it was not measured).

    ``" [not validated: on the shapes world this predicted the judge's wrong colours no better than chance, AUROC
    0.51 (95% CI 0.44-0.58); see docs/validity.md]"`` when the interval includes 0.5, similar words for an
    interval below 0.5 ("pointed away from"), above 0.5 but under 0.6 at its low end ("weak evidence") and above
    ("validated"). A bare ``"nothing"`` (no figures) still says the score did not predict the judge's failures.
    """
    if entry is None:
        return ""
    if isinstance(entry, str):
        if entry == "nothing":
            return (
                " [not validated: in validation this score did not predict the judge's failures; see docs/validity.md]"
            )
        return ""
    try:
        auroc, (low, high) = float(entry["auroc"]), (float(v) for v in entry["ci"])
    except (KeyError, TypeError, ValueError):
        return ""
    what = _WHAT.get(str(entry.get("failure")), "the judge's failures")
    figures = f"AUROC {auroc:.2f} (95% CI {low:.2f}-{high:.2f})"
    reading = entry.get("reading")
    if reading == "nothing":
        return f" [not validated: on the shapes world this predicted {what} no better than chance, {figures}; see docs/validity.md]"
    if reading == "opposite":
        return f" [not validated: on the shapes world this pointed away from {what}, {figures}; see docs/validity.md]"
    if reading == "weak":
        return f" [weak evidence: on the shapes world this predicted {what} with {figures}; see docs/validity.md]"
    if reading == "predicts":
        return f" [validated: on the shapes world this predicted {what} with {figures}]"
    return ""


#: The measured validity of each verdict, loaded once (shared by analysis.verdicts and reports.findings).
VALIDATION: dict[str, dict | str | None] = load_validation()

#: Readings of the validation, best validated first; "unmeasured" for a verdict without a measurement.
READINGS = ("predicts", "weak", "unmeasured", "nothing", "opposite")
#: Readings whose verdicts did not predict the judge's failures: folded away unless asked for.
UNVALIDATED_READINGS = ("nothing", "opposite")


def reading_of(entry: dict | str | None) -> str:
    """The reading of one validation entry (``"unmeasured"`` when there is none)."""
    if isinstance(entry, str):
        return entry if entry in READINGS else "unmeasured"
    if isinstance(entry, dict) and entry.get("reading") in READINGS and validity_note(entry):
        return str(entry["reading"])
    return "unmeasured"


def verdict_reading(line: str, validation: dict[str, dict | str | None] | None = None) -> str:
    """The validation reading a verdict line carries: the reading of the validated verdict whose note
    (:func:`validity_note`) ends the line, ``"unmeasured"`` when none does."""
    validation = VALIDATION if validation is None else validation
    for entry in validation.values():
        note = validity_note(entry)
        if note and line.endswith(note):
            return reading_of(entry)
    return "unmeasured"
