"""Leakage: how much the maps of different entities share pixels (cross-attention overlap, raw and with the floor
removed), how much one entity's pixels attend to another's region (self-attention), and how much of a nested child
lies inside its parent.

Leakage compares only entities that are not nested in each other: a hat is expected to share pixels with the cat
that wears it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .attention_maps import FLOOR_QUANTILE, ZERO_MASS, remove_floor
from .regions import nested_pairs


def overlap(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Entity overlap ``O_ef = sum_p min(M_e(p), M_f(p))`` over the last two dimensions.

    For maps that sum to 1 this lies in [0, 1]: 0 when the maps are disjoint, 1 when they are identical
    (it is one minus the total-variation distance). It is symmetric; an all-zero map overlaps nothing (0).
    """
    return torch.minimum(first, second).sum(dim=(-2, -1))


def pairwise_overlap(entity_maps: torch.Tensor) -> torch.Tensor:
    """``O [..., E, E]`` with ``O[e, f] = overlap(M_e, M_f)`` from ``entity_maps [..., E, H, W]`` (diagonal: e's mass)."""
    return torch.minimum(entity_maps.unsqueeze(-3), entity_maps.unsqueeze(-4)).sum(dim=(-2, -1))


def leakage(entity_maps: torch.Tensor, parents: Sequence[int | None] | None = None) -> torch.Tensor:
    """The prompt's cross-attention leakage ``max_{e<f, not nested} O_ef`` (``[...]``); 0 with fewer than two
    entities, since there is nothing to leak into."""
    count = entity_maps.shape[-3]
    parents = list(parents) if parents is not None else [None] * count
    nested = nested_pairs(parents)
    pairs = [(e, f) for e in range(count) for f in range(e + 1, count) if (e, f) not in nested]
    if not pairs:
        return torch.zeros(entity_maps.shape[:-3], dtype=entity_maps.dtype, device=entity_maps.device)
    matrix = pairwise_overlap(entity_maps)
    values = torch.stack([matrix[..., e, f] for e, f in pairs], dim=-1)
    return values.max(dim=-1).values


def pairwise_floor_overlap(entity_maps: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """``O'[..., E, E]``: :func:`pairwise_overlap` of the floor-removed maps, ``O'_ef = sum_p min(M'_e, M'_f)``.

    Two disjoint blobs on any uniform floor give 0 (the floor no longer counts as shared attention); identical
    maps give 1. NaN where either map has no excess over its floor (a flat map localises nothing, so its overlap
    is undefined rather than 0 or 1).
    """
    excess = remove_floor(entity_maps, quantile)
    matrix = pairwise_overlap(excess)
    flat = excess.sum(dim=(-2, -1)) <= ZERO_MASS
    undefined = flat.unsqueeze(-1) | flat.unsqueeze(-2)
    return torch.where(undefined, torch.full_like(matrix, float("nan")), matrix)


def floor_overlap(first: torch.Tensor, second: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """``O'_ef`` of two maps (see :func:`pairwise_floor_overlap`)."""
    return pairwise_floor_overlap(torch.stack([first, second], dim=-3), quantile)[..., 0, 1]


def self_attention_leakage(self_map: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Self-attention leakage ``L [E, E]`` from ``self_map [N, N]`` (rows: query pixels, each row sums to 1) and
    region masks ``[E, H, W]`` with ``H W = N``:

    ``s_e = mean_{p in R_e} S[p, :]`` (the mean self-attention row over e's region, a distribution over pixels) and
    ``L[e, f] = sum_{q in R_f} s_e(q)``, the share of e's self-attention that falls in f's region. ``L[e, e]`` is
    the share that stays home. Rows of entities with an empty region are NaN. Not symmetric.
    """
    flat = masks.flatten(1).to(self_map.dtype)  # [E, N]
    sizes = flat.sum(dim=1, keepdim=True)
    mean_rows = (flat @ self_map) / sizes.clamp_min(1)  # [E, N]
    shares = mean_rows @ flat.T
    return torch.where(sizes > 0, shares, torch.full_like(shares, float("nan")))


def self_attention_lift(self_map: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Chance-corrected self-attention leakage ``L'[E, E]``: ``L'_ef = L_ef / (|R_f| / N)``, the share of e's mean
    self-attention row that falls in f's region (:func:`self_attention_leakage`) over the share of pixels f covers.

    1 = e's pixels attend to f's region as much as a uniform row would; < 1: less; > 1: more. NaN rows for entities
    with an empty region and NaN columns for targets with an empty region.
    """
    shares = self_attention_leakage(self_map, masks)
    pixels = masks.shape[-2] * masks.shape[-1]
    areas = masks.flatten(1).sum(dim=1).to(shares.dtype) / pixels
    return torch.where(
        areas[None, :] > 0, shares / areas.clamp_min(1.0 / pixels)[None, :], torch.full_like(shares, float("nan"))
    )


def containment(child_map: torch.Tensor, parent_full_mask: torch.Tensor) -> torch.Tensor:
    """Share of a nested child's map that lies in its parent's full region: ``sum_{p in F_parent} M_child(p)``."""
    return (child_map * parent_full_mask.to(child_map.dtype)).sum(dim=(-2, -1))
