"""The statistics of the validation: AUROC and cluster-bootstrap intervals (attnmod.analysis.statistics), chance IoU, Youden thresholds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attnmod.analysis import statistics

# ---- statistics ----


# The AUROC (torchmetrics' binary_auroc) and the cluster bootstrap are analysis.statistics' own.
auroc = statistics.auroc


def bootstrap_auroc(
    scores: np.ndarray, labels: np.ndarray, clusters: np.ndarray, resamples: int, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of the AUROC with whole clusters (prompts) resampled with replacement; NaNs when
    fewer than a tenth of the resamples (at least 10) hold both classes."""
    if resamples <= 0:
        return float("nan"), float("nan")
    if len(scores) and np.all(scores == scores[0]) and labels.any() and not labels.all():
        return 0.5, 0.5  # a constant score ties every pair in every resample
    return statistics.bootstrap_clusters(
        lambda picked: auroc(scores[picked], labels[picked]),
        clusters,
        resamples,
        seed=seed,
        min_defined=max(10, resamples // 10),
    )


def bootstrap_mean(values: np.ndarray, clusters: np.ndarray, resamples: int, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of a mean with whole clusters resampled."""
    if resamples <= 0 or len(values) == 0:
        return float("nan"), float("nan")
    return statistics.bootstrap_clusters(lambda picked: float(values[picked].mean()), clusters, resamples, seed=seed)


def chance_iou(area_a: float, area_b: float) -> float:
    """Expected IoU of a region with area share ``a`` placed at random against a fixed mask of area share ``b``:
    ``a b / (a + b - a b)`` (intersection ``a b N``, union ``(a + b - a b) N``). NaN when both are empty."""
    union = area_a + area_b - area_a * area_b
    return float("nan") if union <= 0 else area_a * area_b / union


def youden_threshold(scores: np.ndarray, labels: np.ndarray, grid: Sequence[float], below: bool) -> float:
    """The threshold of ``grid`` with the largest ``TPR - FPR`` when a failure is predicted by ``score < t``
    (``below``) or ``score >= t``; NaN without both classes."""
    if labels.all() or not labels.any():
        return float("nan")
    best, best_gain = float("nan"), -2.0
    for threshold in grid:
        flagged = scores < threshold if below else scores >= threshold
        gain = flagged[labels].mean() - flagged[~labels].mean()
        if gain > best_gain:
            best, best_gain = threshold, gain
    return best
