"""Confidence intervals and the AUROC: one percentile bootstrap (plain, grouped, or of any statistic over clusters)
for every interval attnmod reports."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator, Sequence

import numpy as np

from ..toolkit.errors import AttnmodError


def bootstrap_ci(
    values: Sequence[float | None],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    statistic: Callable[..., np.ndarray] = np.mean,
) -> tuple[float, float, float]:
    """Percentile-bootstrap confidence interval: ``(estimate, low, high)``.

    ``estimate = statistic(x)`` over the finite values ``x`` (NaN, infinities and None dropped, n of them). Each of
    ``resamples`` resamples draws n values with replacement (numpy ``default_rng(seed)``, so the same inputs give
    the same interval); ``low``/``high`` are the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of
    the resampled statistics. ``statistic`` must accept ``axis=``. n = 0 gives NaNs; n = 1 gives a zero-width
    interval at the value. A confidence outside (0, 1) or fewer than one resample is an :class:`AttnmodError`.
    """
    _check_bootstrap(resamples, confidence)
    array = finite_values(values)
    if array.size == 0:
        return (math.nan, math.nan, math.nan)
    estimate = float(statistic(array))
    if array.size == 1:
        return (estimate, estimate, estimate)
    generator = np.random.default_rng(seed)
    draws = array[generator.integers(0, array.size, size=(resamples, array.size))]
    low, high = np.quantile(statistic(draws, axis=1), [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    return (estimate, float(low), float(high))


def bootstrap_ci_grouped(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The mean of ``values`` with a percentile-bootstrap interval that resamples whole groups: ``(mean, low, high)``.

    ``groups[i]`` labels ``values[i]`` (for example its prompt, so that the seeds of one prompt are drawn together:
    images of one prompt are not independent, and resampling them one by one gives too narrow an interval). The
    estimate is the mean of the finite values; each resample draws as many groups as there are, with replacement
    (numpy ``default_rng(seed)``), and takes the mean of the values they hold. With every value in a group of its
    own this is :func:`bootstrap_ci` exactly. No finite value gives NaNs. With a single group there is no
    variation between groups to resample, and a zero-width interval would claim certainty: the values are then
    resampled one by one (:func:`bootstrap_ci`), the only variation there is.
    """
    if len(values) != len(groups):
        raise AttnmodError(f"{len(values)} values but {len(groups)} group labels")
    _check_bootstrap(resamples, confidence)
    index: dict[Hashable, int] = {}
    sums: list[float] = []
    counts: list[int] = []
    for value, group in zip(values, groups, strict=True):
        if value is None or not math.isfinite(float(value)):
            continue
        slot = index.setdefault(group, len(index))
        if slot == len(sums):
            sums.append(0.0)
            counts.append(0)
        sums[slot] += float(value)
        counts[slot] += 1
    if not sums:
        return (math.nan, math.nan, math.nan)
    total, count = np.asarray(sums), np.asarray(counts, dtype=np.float64)
    estimate = float(total.sum() / count.sum())
    if len(sums) == 1:
        return bootstrap_ci(values, resamples, confidence, seed)
    generator = np.random.default_rng(seed)
    draws = generator.integers(0, len(sums), size=(resamples, len(sums)))
    means = total[draws].sum(axis=1) / count[draws].sum(axis=1)
    low, high = np.quantile(means, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    return (estimate, float(low), float(high))


def _check_bootstrap(resamples: int, confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise AttnmodError(f"confidence must lie between 0 and 1, got {confidence}")
    if resamples < 1:
        raise AttnmodError(f"bootstrap resamples must be at least 1, got {resamples}")


def finite_values(values: Sequence[float | None]) -> np.ndarray:
    """The finite numbers of ``values`` as float64 (None, NaN and infinities dropped)."""
    array = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return array[np.isfinite(array)]


def cluster_resamples(clusters: Sequence[Hashable], resamples: int, seed: int = 0) -> Iterator[np.ndarray]:
    """``resamples`` bootstrap samples as index arrays: each draws as many clusters as there are (labels in sorted
    order, numpy ``default_rng(seed)``), with replacement, and takes every member of each drawn cluster."""
    generator = np.random.default_rng(seed)
    names, index = np.unique(np.asarray(clusters), return_inverse=True)
    members = [np.flatnonzero(index.reshape(-1) == i) for i in range(len(names))]
    for _ in range(resamples):
        yield np.concatenate([members[i] for i in generator.integers(0, len(names), len(names))])


def bootstrap_clusters(
    statistic: Callable[[np.ndarray], float],
    clusters: Sequence[Hashable],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_defined: int = 1,
) -> tuple[float, float]:
    """Percentile-bootstrap interval ``(low, high)`` of any statistic of clustered data, whole clusters resampled.

    ``statistic(indices)`` computes the statistic on the units at ``indices`` (one resample of
    :func:`cluster_resamples`); NaN results (a resample the statistic is undefined on) are dropped, and fewer than
    ``min_defined`` defined results give NaNs. ``low``/``high`` are the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` percentiles of the defined results. For the mean of values grouped by prompt,
    :func:`bootstrap_ci_grouped` gives the same kind of interval without a Python loop.
    """
    _check_bootstrap(resamples, confidence)
    values = [value for value in map(statistic, cluster_resamples(clusters, resamples, seed)) if not math.isnan(value)]
    if not values or len(values) < min_defined:
        return (math.nan, math.nan)
    low, high = np.percentile(values, [50.0 * (1.0 - confidence), 50.0 * (1.0 + confidence)])
    return (float(low), float(high))


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve of ``scores`` for the positive ``labels``: ``P(score of a positive > score of a
    negative) + P(tie) / 2`` (torchmetrics' ``binary_auroc``, exact, in float64). NaN without both classes; a binary
    score gets its balanced accuracy ``(TPR + TNR) / 2``."""
    import torch
    from torchmetrics.functional.classification import binary_auroc

    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return math.nan
    # The AUROC depends on the order of the scores only. binary_auroc takes scores outside [0, 1] for logits and
    # applies a sigmoid, which in floating point merges large scores into ties: hand it the scores' dense ranks
    # scaled to [0, 1] instead (the same order and the same ties).
    distinct, ranks = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True)
    preds = torch.as_tensor(ranks.reshape(-1) / max(len(distinct) - 1, 1))
    return float(binary_auroc(preds, torch.as_tensor(labels, dtype=torch.long), thresholds=None, validate_args=False))
