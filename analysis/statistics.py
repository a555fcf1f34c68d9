"""Confidence intervals: one percentile bootstrap for every interval attnmod reports."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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
    if not 0.0 < confidence < 1.0:
        raise AttnmodError(f"confidence must lie between 0 and 1, got {confidence}")
    if resamples < 1:
        raise AttnmodError(f"bootstrap resamples must be at least 1, got {resamples}")
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


def finite_values(values: Sequence[float | None]) -> np.ndarray:
    """The finite numbers of ``values`` as float64 (None, NaN and infinities dropped)."""
    array = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return array[np.isfinite(array)]
