"""Attribute binding: where an attribute's attention lies among the entities' own regions (shares, and lifts
that divide by each region's area), and how close its map is to its own noun's map (symmetric KL margin).

Binding uses the disjoint own regions, so an attribute of the cat that lands on the hat it wears counts as
misbound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .attention_maps import ZERO_MASS
from .regions import region_mass

#: Additive smoothing per pixel before the KL divergence (maps with exact zeros would give infinite KL).
KL_SMOOTHING = 1e-6


def binding_shares(attribute_map: torch.Tensor, own_masks: torch.Tensor) -> torch.Tensor:
    """``s_f = sum_{p in R_f} A_a(p) / sum_{p in R_1 ∪ ... ∪ R_E} A_a(p)`` for every entity f (``[..., E]``).

    The shares sum to 1 over entities. Undefined (NaN) when the attribute puts no attention on any entity region
    (it then lies wholly on the background).
    """
    masses = region_mass(attribute_map, own_masks)
    total = masses.sum(dim=-1, keepdim=True)
    return torch.where(total > ZERO_MASS, masses / total.clamp_min(ZERO_MASS), torch.full_like(masses, float("nan")))


def attribute_binding(attribute_map: torch.Tensor, own_masks: torch.Tensor, entity: int) -> torch.Tensor:
    """Attribute binding ``B_a = sum_{R_e} A_a / sum_{∪_f R_f} A_a`` in [0, 1] for attribute a of entity e.

    1: all of the attribute's attention on entity regions lies on its own entity; 0: none of it does. NaN when
    the attribute has no attention on any entity region.
    """
    return binding_shares(attribute_map, own_masks)[..., entity]


def is_misbound(shares: torch.Tensor, entity: int) -> bool:
    """An attribute is misbound when another entity's region holds more of it than its own: ``max_{f≠e} s_f > s_e``.

    Undefined shares (NaN) are never misbound.
    """
    if shares.shape[-1] < 2 or bool(torch.isnan(shares).any()):
        return False
    others = torch.cat([shares[:entity], shares[entity + 1 :]])
    return bool(others.max() > shares[entity])


def symmetric_kl(first: torch.Tensor, second: torch.Tensor, smoothing: float = KL_SMOOTHING) -> torch.Tensor:
    """``SKL(P, Q) = (KL(P'||Q') + KL(Q'||P')) / 2`` in nats over the last two dimensions, with
    ``P' = (P + smoothing) / sum(P + smoothing)`` (smoothed so that zeros stay finite).

    SynGen's distance between a modifier's and a noun's attention map is this mean of the two directions (an
    earlier version of attnmod summed them, which doubles every value and margin)."""
    p = first.clamp_min(0) + smoothing
    q = second.clamp_min(0) + smoothing
    p = p / p.sum(dim=(-2, -1), keepdim=True)
    q = q / q.sum(dim=(-2, -1), keepdim=True)
    return 0.5 * ((p - q) * (p.log() - q.log())).sum(dim=(-2, -1))


def binding_margin(
    attribute_map: torch.Tensor,
    entity_maps: torch.Tensor,
    entity: int,
    exclude: Sequence[int] = (),
    smoothing: float = KL_SMOOTHING,
) -> tuple[float, float, float, int | None]:
    """KL binding margin of an attribute of entity e, in nats, with SynGen's symmetric KL (:func:`symmetric_kl`):

    ``margin = min_{f ≠ e, f not excluded} SKL(A_a, M_f) - SKL(A_a, M_e)``.

    Positive: the attribute's map is closer to its own noun's map than to any other noun's. ``exclude`` removes
    competitors (the diagnosis excludes e's ancestors and descendants, whose maps legitimately share pixels with e's),
    and all-zero entity maps are never competitors. Returns ``(margin, SKL to own, SKL to nearest other, nearest
    other's index)``; NaN (and None) when there is no competitor or the attribute or own map is all zero.
    """
    nan = float("nan")
    if float(attribute_map.sum()) <= ZERO_MASS or float(entity_maps[entity].sum()) <= ZERO_MASS:
        return nan, nan, nan, None
    own = float(symmetric_kl(attribute_map, entity_maps[entity], smoothing))
    competitors = [
        f
        for f in range(entity_maps.shape[0])
        if f != entity and f not in exclude and float(entity_maps[f].sum()) > ZERO_MASS
    ]
    if not competitors:
        return nan, own, nan, None
    divergences = [float(symmetric_kl(attribute_map, entity_maps[f], smoothing)) for f in competitors]
    nearest = min(range(len(competitors)), key=lambda i: divergences[i])
    return divergences[nearest] - own, own, divergences[nearest], competitors[nearest]


def binding_lifts(attribute_map: torch.Tensor, own_masks: torch.Tensor) -> torch.Tensor:
    """Binding lift of an attribute on every entity region, ``[..., E]``:

    ``lift_f = (sum_{p in R_f} A_a(p) / sum_p A_a(p)) / (|R_f| / N) = mean_{p in R_f} A_a(p) / mean_p A_a(p)``

    the share of the attribute's attention that lies in f's region over the share of the image f covers (N pixels).
    Dividing by the area share is the chance correction: a uniform attribute map gives lift 1 on every region
    whatever their sizes; > 1 means the attribute concentrates on f beyond its area, < 1 that it avoids f. A lift
    rather than a kappa-style ``(s - a) / (1 - a)``: it compares densities, so "another region holds more of it
    than its own" becomes "another region holds it more densely", a comparison free of area, and the ratio of two
    lifts does not depend on what the reference area is. NaN for a region with no pixel and for an all-zero map.
    """
    masses = region_mass(attribute_map, own_masks)
    sizes = own_masks.flatten(-2).sum(dim=-1).to(masses.dtype)
    pixels = own_masks.shape[-2] * own_masks.shape[-1]
    total = attribute_map.sum(dim=(-2, -1)).unsqueeze(-1)
    lifts = (masses / total.clamp_min(ZERO_MASS)) / (sizes.clamp_min(1) / pixels)
    defined = (sizes > 0) & (total > ZERO_MASS)
    return torch.where(defined, lifts, torch.full_like(lifts, float("nan")))


def binding_log_ratio(lifts: torch.Tensor, entity: int) -> float:
    """``log(lift_e / max_{f ≠ e} lift_f)``: > 0 when the attribute is densest on its own entity, < 0 when another
    entity's region holds it more densely (misbound). NaN when e's lift is undefined, when there is no other entity
    with a defined lift, or when the attribute lies on no entity region at all. Chance (a uniform attribute map)
    gives 0; +-inf when only one side holds any of it."""
    values = [float(v) for v in lifts.tolist()]
    own = values[entity]
    others = [v for i, v in enumerate(values) if i != entity and not math.isnan(v)]
    if math.isnan(own) or not others:
        return float("nan")
    best = max(others)
    if own <= 0 and best <= 0:
        return float("nan")
    if own <= 0:
        return float("-inf")
    if best <= 0:
        return float("inf")
    return math.log(own / best)


def is_misbound_lift(lifts: torch.Tensor, entity: int) -> bool:
    """Misbound by density: ``max_{f ≠ e} lift_f > lift_e`` (another entity's region holds the attribute more
    densely than its own). Undefined lifts (own region empty, no attention on any region) are never misbound."""
    ratio = binding_log_ratio(lifts, entity)
    return not math.isnan(ratio) and ratio < 0
