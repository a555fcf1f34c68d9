"""The metrics a results row, a comparison or a report shows: name, which direction is better, formula and unit.

One registry for the verdicts (:func:`attnmod.analysis.verdicts.compare_scores`), the run report (its tables,
galleries and "improved" counts) and the image-level evaluation (:mod:`attnmod.analysis.evaluate`); the formulas
themselves are implemented in :mod:`attnmod.analysis.metrics` and :mod:`attnmod.analysis.image_metrics`.
"""

from __future__ import annotations

import dataclasses
import math
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
