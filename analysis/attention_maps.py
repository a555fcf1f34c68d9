"""Attention maps made comparable: normalised, grouped per token group, resized, averaged over resolutions, and
their floor (the near-uniform level every averaged map sits on) and contrast.

Pure functions of tensors over the last two dimensions (``[..., H, W]``); the notation is in
:mod:`attnmod.analysis.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

#: Sums at or below this are "no attention at all": such a map stays all zero instead of dividing by zero.
ZERO_MASS = 1e-12
#: Default floor estimate: each map's median. It is the floor whenever the object covers less than half the image.
FLOOR_QUANTILE = 0.5


def normalize_maps(maps: torch.Tensor) -> torch.Tensor:
    """``A(p) / sum_q A(q)`` over the last two dimensions; a map whose sum is <= ZERO_MASS stays all zero.

    Negative values (numerical noise of a softmax) are clipped to 0 first. Shape is kept: ``[..., H, W]``.
    """
    maps = maps.clamp_min(0)
    totals = maps.sum(dim=(-2, -1), keepdim=True)
    return torch.where(totals > ZERO_MASS, maps / totals.clamp_min(ZERO_MASS), torch.zeros_like(maps))


def group_map(token_maps: torch.Tensor, positions: Sequence[int]) -> torch.Tensor:
    """The map of a token group: ``M = normalize(mean_{j in positions} A_j)`` from ``token_maps [..., T, H, W]``.

    The token maps are normalised first, so every token weighs the same whatever its raw attention mass (the start
    token takes most of the raw mass in CLIP-conditioned UNets). No positions, or only all-zero maps: all zeros.
    """
    if not positions:
        return torch.zeros_like(token_maps[..., 0, :, :])
    selected = normalize_maps(token_maps[..., list(positions), :, :])
    return normalize_maps(selected.mean(dim=-3))


def resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resample ``[..., H, W]`` maps to ``size`` and renormalise: area averaging to shrink, bilinear to enlarge."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    leading = maps.shape[:-2]
    flat = maps.reshape(-1, 1, *maps.shape[-2:])
    shrinking = size[0] <= maps.shape[-2] and size[1] <= maps.shape[-1]
    if shrinking:
        resized = F.interpolate(flat, size=size, mode="area")
    else:
        resized = F.interpolate(flat, size=size, mode="bilinear", align_corners=False)
    return normalize_maps(resized.reshape(*leading, *size))


def combine_resolutions(maps: Sequence[torch.Tensor], size: tuple[int, int] | None = None) -> torch.Tensor:
    """Average maps captured at several resolutions: each is normalised, resized to ``size`` (default: the
    coarsest, i.e. fewest pixels), and the mean is renormalised. Every resolution weighs the same."""
    if not maps:
        raise ValueError("no maps to combine")
    if size is None:
        size = tuple(min((m.shape[-2:] for m in maps), key=lambda s: s[0] * s[1]))
    return normalize_maps(torch.stack([resize_maps(normalize_maps(m), size) for m in maps]).mean(dim=0))


def combine_raw_resolutions(maps: Sequence[torch.Tensor], size: tuple[int, int] | None = None) -> torch.Tensor:
    """Average raw token maps ``[T, H, W]`` (per-pixel probabilities over tokens) of several resolutions at ``size``
    (default: the coarsest) without normalising per token: area averaging keeps each pixel's distribution over
    tokens a distribution, so absolute attention (:func:`~attnmod.analysis.word_attention.presence`) survives. Enlarging uses bilinear resampling."""
    if not maps:
        raise ValueError("no maps to combine")
    if size is None:
        size = tuple(min((m.shape[-2:] for m in maps), key=lambda s: s[0] * s[1]))
    resized = []
    for m in maps:
        if tuple(m.shape[-2:]) == tuple(size):
            resized.append(m.float())
            continue
        shrinking = size[0] <= m.shape[-2] and size[1] <= m.shape[-1]
        mode = {"mode": "area"} if shrinking else {"mode": "bilinear", "align_corners": False}
        resized.append(F.interpolate(m.float().unsqueeze(0), size=size, **mode)[0])
    return torch.stack(resized).mean(dim=0)


def map_floor(maps: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """Each map's floor ``f = quantile_q {M(p)}`` over its pixels, shaped ``[..., 1, 1]`` (q = 0: the minimum)."""
    flat = maps.flatten(-2).float()
    return torch.quantile(flat, quantile, dim=-1, keepdim=True)[..., None].to(maps.dtype)


def remove_floor(maps: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """``M'(p) = normalize(max(M(p) - f, 0))`` with ``f`` = :func:`map_floor`: the map's excess over its floor.

    A perfectly flat map has no excess and becomes all zero ("no localised attention").
    """
    return normalize_maps((maps - map_floor(maps, quantile)).clamp_min(0))


def map_contrast(maps: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """``c = (max M - f) / mean M`` per map (``[...]``): how far the peak rises above the floor, in units of the
    map's mean. 0 for a flat or all-zero map; a block covering a share ``a < 1/2`` of an otherwise empty map gives
    ``1 / a``."""
    mean = maps.mean(dim=(-2, -1))
    peak = maps.flatten(-2).max(dim=-1).values
    floor = map_floor(maps, quantile)[..., 0, 0]
    return torch.where(mean > ZERO_MASS, (peak - floor) / mean.clamp_min(ZERO_MASS), torch.zeros_like(mean))
