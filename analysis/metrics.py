"""Leakage and binding metrics as pure functions of attention maps (tensors in, tensors out).

Nothing here knows about records, prompt trees or files: :mod:`attnmod.analysis.diagnosis` maps an
``AttentionRecord`` and a ``PromptTree`` onto these functions. Every function works on the last two dimensions
(``[..., H, W]``) so the same code scores one captured map or a batch of maps inside an autograd graph
(:mod:`attnmod.analysis.attribution`).

Notation (all maps are non-negative and live on the pixels p of one attention resolution):

* ``A_j``: the cross-attention map of text token j, normalised to sum 1 over pixels.
* ``M_e``: the map of entity e, the mean of ``A_j`` over e's noun tokens (renormalised).
* ``R_e``: e's own region, ``F_e``: e's full region (own region plus all descendants' full regions).

Nested entities ("a cat wearing a red hat": the hat's parent is the cat): regions are assigned top-down. The
top-level entities compete for every pixel; then, inside the own region of an entity, that entity and its direct
children compete again, and so on. Hence a child's full region always lies inside its parent's full region
(``F_child ⊆ F_parent``), the own regions of all entities are disjoint, and the full regions of two entities
that are not ancestor and descendant are disjoint. Leakage compares only entities that are not nested in each
other (a hat is expected to share pixels with the cat that wears it); binding uses the disjoint own regions, so an
attribute of the cat that lands on the hat counts as misbound.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

#: Sums at or below this are "no attention at all": such a map stays all zero instead of dividing by zero.
ZERO_MASS = 1e-12
#: Additive smoothing per pixel before the KL divergence (maps with exact zeros would give infinite KL).
KL_SMOOTHING = 1e-6
BACKGROUND = -1


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


def overlap(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Entity overlap ``O_ef = sum_p min(M_e(p), M_f(p))`` over the last two dimensions.

    For maps that sum to 1 this lies in [0, 1]: 0 when the maps are disjoint, 1 when they are identical
    (it is one minus the total-variation distance). It is symmetric; an all-zero map overlaps nothing (0).
    """
    return torch.minimum(first, second).sum(dim=(-2, -1))


def pairwise_overlap(entity_maps: torch.Tensor) -> torch.Tensor:
    """``O [..., E, E]`` with ``O[e, f] = overlap(M_e, M_f)`` from ``entity_maps [..., E, H, W]`` (diagonal: e's mass)."""
    return torch.minimum(entity_maps.unsqueeze(-3), entity_maps.unsqueeze(-4)).sum(dim=(-2, -1))


def nested_pairs(parents: Sequence[int | None]) -> set[tuple[int, int]]:
    """Unordered pairs ``(a, b)``, a < b, where one entity is an ancestor of the other."""
    pairs = set()
    for index in range(len(parents)):
        parent = parents[index]
        seen = set()
        while parent is not None and parent not in seen:
            seen.add(parent)
            pairs.add((min(index, parent), max(index, parent)))
            parent = parents[parent]
    return pairs


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


def _compete(maps: torch.Tensor, candidates: Sequence[int], allowed: torch.Tensor, background: float) -> torch.Tensor:
    """Labels ``[H, W]`` among ``candidates`` on the ``allowed`` pixels; -1 where no candidate clears its threshold."""
    stack = maps[list(candidates)]
    peaks = stack.flatten(1).max(dim=1).values
    clears = (stack >= background * peaks[:, None, None]) & (peaks[:, None, None] > ZERO_MASS)
    scores = torch.where(clears, stack, torch.full_like(stack, -1.0))
    best = scores.argmax(dim=0)  # ties go to the earlier candidate
    labels = torch.as_tensor(list(candidates), device=maps.device)[best]
    return torch.where(clears.any(dim=0) & allowed, labels, torch.full_like(labels, BACKGROUND))


def assign_regions(
    entity_maps: torch.Tensor, background: float = 0.2, parents: Sequence[int | None] | None = None
) -> torch.Tensor:
    """Own regions as labels ``[H, W]``: the index of the entity owning each pixel, or -1 for background.

    Flat case (no nesting): pixel p belongs to ``argmax_e M_e(p)`` among the entities with
    ``M_e(p) >= background * max_q M_e(q)``; when no entity clears its threshold, p is background. An all-zero
    map never clears it, so such an entity owns no pixel. ``background`` is relative to each entity's own peak,
    so a diffuse map and a compact one are judged alike; 0 assigns every pixel to some entity.

    Nested case: the top-level entities compete as above; then for each entity e (parents before children) the
    pixels of R_e are re-contested by e and its direct children, the children needing to clear their own threshold
    (pixels where none does stay e's). Ties go to the entity listed first.
    """
    if entity_maps.ndim != 3:
        raise ValueError(f"entity maps must be [E, H, W], got {tuple(entity_maps.shape)}")
    count = entity_maps.shape[0]
    parents = list(parents) if parents is not None else [None] * count
    everywhere = torch.ones(entity_maps.shape[-2:], dtype=torch.bool, device=entity_maps.device)
    if count == 0:
        return torch.full(entity_maps.shape[-2:], BACKGROUND, dtype=torch.long, device=entity_maps.device)
    roots = [e for e in range(count) if parents[e] is None]
    labels = _compete(entity_maps, roots, everywhere, background)
    queue = list(roots)
    while queue:
        entity = queue.pop(0)
        children = [c for c in range(count) if parents[c] == entity]
        if not children:
            continue
        inside = labels == entity
        contested = _compete(entity_maps, [entity, *children], inside, background)
        # A pixel of e where no child clears its threshold stays e's (it already belongs to e).
        labels = torch.where(inside & (contested != BACKGROUND), contested, labels)
        queue.extend(children)
    return labels


def own_region_masks(labels: torch.Tensor, count: int) -> torch.Tensor:
    """Boolean ``[E, H, W]``: ``R_e = {p : label(p) = e}`` (disjoint)."""
    indices = torch.arange(count, device=labels.device)[:, None, None]
    return labels.unsqueeze(0) == indices


def full_region_masks(labels: torch.Tensor, parents: Sequence[int | None]) -> torch.Tensor:
    """Boolean ``[E, H, W]``: ``F_e = R_e ∪ F_c`` for every descendant c of e (so ``F_child ⊆ F_parent``)."""
    count = len(parents)
    masks = own_region_masks(labels, count).clone()
    for entity in range(count):
        parent, seen = parents[entity], set()
        while parent is not None and parent not in seen:
            seen.add(parent)
            masks[parent] |= labels == entity
            parent = parents[parent]
    return masks


def region_mass(attribute_map: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """``[..., E]``: ``sum_{p in R_e} A(p)`` for each region mask of ``masks [E, H, W]``."""
    return (attribute_map.unsqueeze(-3) * masks.to(attribute_map.dtype)).sum(dim=(-2, -1))


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
    """``SKL(P, Q) = KL(P'||Q') + KL(Q'||P')`` in nats over the last two dimensions, with
    ``P' = (P + smoothing) / sum(P + smoothing)`` (as in SynGen's loss, smoothed so that zeros stay finite)."""
    p = first.clamp_min(0) + smoothing
    q = second.clamp_min(0) + smoothing
    p = p / p.sum(dim=(-2, -1), keepdim=True)
    q = q / q.sum(dim=(-2, -1), keepdim=True)
    return ((p - q) * (p.log() - q.log())).sum(dim=(-2, -1))


def binding_margin(
    attribute_map: torch.Tensor,
    entity_maps: torch.Tensor,
    entity: int,
    exclude: Sequence[int] = (),
    smoothing: float = KL_SMOOTHING,
) -> tuple[float, float, float, int | None]:
    """SynGen-style distributional binding margin of an attribute of entity e, in nats:

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


def containment(child_map: torch.Tensor, parent_full_mask: torch.Tensor) -> torch.Tensor:
    """Share of a nested child's map that lies in its parent's full region: ``sum_{p in F_parent} M_child(p)``."""
    return (child_map * parent_full_mask.to(child_map.dtype)).sum(dim=(-2, -1))
