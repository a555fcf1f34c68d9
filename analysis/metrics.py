"""Leakage and binding metrics as pure functions of attention maps (tensors in, tensors out).

Nothing here knows about records, prompt trees or files: :mod:`attnmod.analysis.scoring` maps an
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

import math
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


def combine_raw_resolutions(maps: Sequence[torch.Tensor], size: tuple[int, int] | None = None) -> torch.Tensor:
    """Average raw token maps ``[T, H, W]`` (per-pixel probabilities over tokens) of several resolutions at ``size``
    (default: the coarsest) without normalising per token: area averaging keeps each pixel's distribution over
    tokens a distribution, so absolute attention (:func:`presence`) survives. Enlarging uses bilinear resampling."""
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


def peak_candidates(entity_maps: torch.Tensor, background: float = 0.2) -> torch.Tensor:
    """The original region rule, ``[E, H, W]`` bool: ``M_e(p) >= background x max_q M_e(q)`` (and the map not all
    zero). On a flat map every pixel clears it, so a diffuse entity claims most of the image: kept for comparison
    (``region_rule="peak"``); :func:`spread_candidates` is the default."""
    peaks = entity_maps.flatten(-2).max(dim=-1).values[..., None, None]
    return (entity_maps >= background * peaks) & (peaks > ZERO_MASS)


def _compete(
    maps: torch.Tensor, candidates: Sequence[int], allowed: torch.Tensor, clears_all: torch.Tensor
) -> torch.Tensor:
    """Labels ``[H, W]`` among ``candidates`` on the ``allowed`` pixels; -1 where no candidate clears its rule."""
    stack = maps[list(candidates)]
    clears = clears_all[list(candidates)]
    scores = torch.where(clears, stack, torch.full_like(stack, -1.0))
    best = scores.argmax(dim=0)  # ties go to the earlier candidate
    labels = torch.as_tensor(list(candidates), device=maps.device)[best]
    return torch.where(clears.any(dim=0) & allowed, labels, torch.full_like(labels, BACKGROUND))


def assign_regions(
    entity_maps: torch.Tensor,
    background: float = 0.2,
    parents: Sequence[int | None] | None = None,
    candidates: torch.Tensor | None = None,
) -> torch.Tensor:
    """Own regions as labels ``[H, W]``: the index of the entity owning each pixel, or -1 for background.

    ``candidates [E, H, W]`` (bool) says where each entity's map is high enough to claim a pixel; by default the
    peak rule ``M_e(p) >= background x max_q M_e(q)`` (:func:`peak_candidates`; the scoring passes the spread rule,
    :func:`region_candidates`). Flat case (no nesting): pixel p belongs to ``argmax_e M_e(p)`` among the entities
    that are candidates at p; when none is, p is background. An all-zero map is never a candidate, so such an
    entity owns no pixel.

    Nested case: the top-level entities compete as above; then for each entity e (parents before children) the
    pixels of R_e are re-contested by e and its direct children, the children needing to be candidates there
    (pixels where none is stay e's). Ties go to the entity listed first.
    """
    if entity_maps.ndim != 3:
        raise ValueError(f"entity maps must be [E, H, W], got {tuple(entity_maps.shape)}")
    count = entity_maps.shape[0]
    parents = list(parents) if parents is not None else [None] * count
    everywhere = torch.ones(entity_maps.shape[-2:], dtype=torch.bool, device=entity_maps.device)
    if count == 0:
        return torch.full(entity_maps.shape[-2:], BACKGROUND, dtype=torch.long, device=entity_maps.device)
    clears = candidates if candidates is not None else peak_candidates(entity_maps, background)
    roots = [e for e in range(count) if parents[e] is None]
    labels = _compete(entity_maps, roots, everywhere, clears)
    queue = list(roots)
    while queue:
        entity = queue.pop(0)
        children = [c for c in range(count) if parents[c] == entity]
        if not children:
            continue
        inside = labels == entity
        # The parent always stays a candidate on its own region: a pixel no child claims remains e's.
        local = clears.clone()
        local[entity] = True
        contested = _compete(entity_maps, [entity, *children], inside, local)
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


# ---- chance-corrected scores ----
#
# The scores above compare normalised maps directly and inherit two biases of averaged attention: every map sits on
# a near-uniform floor (averages over steps, layers and heads are diffuse), so the overlap of two disjoint objects
# equals the floor's mass; and a share of attention over regions grows with the region's area, so a uniform
# attribute map looks bound to the biggest entity. The functions below remove the floor, divide by the area a
# uniform map would give (a lift: 1 = chance), and read presence from the raw attention mass.

#: Default floor estimate: each map's median. It is the floor whenever the object covers less than half the image.
FLOOR_QUANTILE = 0.5
#: Default spread rule: a pixel is a candidate when it lies at least this far from the floor towards the peak.
REGION_LEVEL = 0.4
#: Default minimum contrast ``(peak - floor) / mean`` below which a map is "flat" and claims no pixel.
MIN_CONTRAST = 0.25
#: Region rules of :func:`region_candidates`.
REGION_RULES = ("spread", "otsu", "peak")


def map_floor(maps: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """Each map's floor ``f = quantile_q {M(p)}`` over its pixels, shaped ``[..., 1, 1]`` (q = 0: the minimum)."""
    flat = maps.flatten(-2).float()
    return torch.quantile(flat, quantile, dim=-1, keepdim=True)[..., None].to(maps.dtype)


def remove_floor(maps: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """``M'(p) = normalize(max(M(p) - f, 0))`` with ``f`` = :func:`map_floor`: the map's excess over its floor.

    A perfectly flat map has no excess and becomes all zero ("no localised attention").
    """
    return normalize_maps((maps - map_floor(maps, quantile)).clamp_min(0))


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


def thresholded_region(maps: torch.Tensor, level: float = REGION_LEVEL) -> torch.Tensor:
    """DAAM's region of a heat map: ``(M - min M) / (max M - min M) >= level`` (bool, same shape). A flat map
    (``max = min``) has an empty region."""
    low = maps.flatten(-2).min(dim=-1).values[..., None, None]
    high = maps.flatten(-2).max(dim=-1).values[..., None, None]
    span = high - low
    scaled = (maps - low) / span.clamp_min(ZERO_MASS)
    return (scaled >= level) & (span > ZERO_MASS)


def region_iou(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """``IoU(A, B) = |A ∩ B| / |A ∪ B|`` of boolean masks over the last two dimensions; NaN when both are empty."""
    inter = (first & second).sum(dim=(-2, -1)).float()
    union = (first | second).sum(dim=(-2, -1)).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.full_like(union, float("nan")))


def pairwise_region_iou(entity_maps: torch.Tensor, level: float = REGION_LEVEL) -> torch.Tensor:
    """``[..., E, E]``: IoU of the DAAM regions (:func:`thresholded_region`) of every pair of entity maps."""
    regions = thresholded_region(entity_maps, level)
    return region_iou(regions.unsqueeze(-3), regions.unsqueeze(-4))


def map_contrast(maps: torch.Tensor, quantile: float = FLOOR_QUANTILE) -> torch.Tensor:
    """``c = (max M - f) / mean M`` per map (``[...]``): how far the peak rises above the floor, in units of the
    map's mean. 0 for a flat or all-zero map; a block covering a share ``a < 1/2`` of an otherwise empty map gives
    ``1 / a``."""
    mean = maps.mean(dim=(-2, -1))
    peak = maps.flatten(-2).max(dim=-1).values
    floor = map_floor(maps, quantile)[..., 0, 0]
    return torch.where(mean > ZERO_MASS, (peak - floor) / mean.clamp_min(ZERO_MASS), torch.zeros_like(mean))


def otsu_threshold(values: torch.Tensor, bins: int = 64) -> float:
    """Otsu's threshold of a 1-D tensor: the cut between histogram bins that maximises the between-class variance
    ``w_0 w_1 (mu_0 - mu_1)^2``. Returns the upper edge of the lower class (a value of ``values``' range)."""
    low, high = float(values.min()), float(values.max())
    if high - low <= ZERO_MASS:
        return high
    histogram = torch.histc(values.float(), bins=bins, min=low, max=high).double()
    centres = torch.linspace(low, high, bins + 1, dtype=torch.float64)
    centres = (centres[:-1] + centres[1:]) / 2
    weight_low = histogram.cumsum(0)
    weight_high = histogram.sum() - weight_low
    sum_low = (histogram * centres).cumsum(0)
    mean_low = sum_low / weight_low.clamp_min(1e-12)
    mean_high = (sum_low[-1] - sum_low) / weight_high.clamp_min(1e-12)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    cut = int(between[:-1].argmax())
    return low + (high - low) * (cut + 1) / bins


def region_candidates(
    entity_maps: torch.Tensor,
    rule: str = "spread",
    level: float = REGION_LEVEL,
    quantile: float = FLOOR_QUANTILE,
    min_contrast: float = MIN_CONTRAST,
) -> torch.Tensor:
    """Where each entity's map is high enough to claim a pixel, ``[E, H, W]`` bool (input to :func:`assign_regions`).

    * ``spread`` (default): ``(M_e(p) - f_e) / (max M_e - f_e) >= level`` with the floor ``f_e`` = the map's
      ``quantile`` (median), and only for maps whose contrast (:func:`map_contrast`) is at least ``min_contrast``.
      The threshold sits between the map's own floor and peak, so it works on diffuse maps, and a flat map (no
      contrast) claims no pixel instead of every pixel.
    * ``otsu``: ``M_e(p) > t_e`` with ``t_e`` Otsu's threshold of e's pixel values, same contrast gate.
    * ``peak``: the original ``M_e(p) >= level x max M_e`` (no floor, no gate); every pixel of a flat map clears it.
    """
    if rule == "peak":
        return peak_candidates(entity_maps, level)
    if rule not in REGION_RULES:
        raise ValueError(f"unknown region rule {rule!r} (known: {', '.join(REGION_RULES)})")
    contrast_ok = (map_contrast(entity_maps, quantile) >= min_contrast) & (entity_maps.sum(dim=(-2, -1)) > ZERO_MASS)
    if rule == "spread":
        floor = map_floor(entity_maps, quantile)
        peak = entity_maps.flatten(-2).max(dim=-1).values[..., None, None]
        high = (entity_maps - floor) >= level * (peak - floor)
    else:
        thresholds = torch.tensor(
            [otsu_threshold(m.flatten()) for m in entity_maps.reshape(-1, *entity_maps.shape[-2:])]
        )
        thresholds = thresholds.reshape(*entity_maps.shape[:-2], 1, 1).to(entity_maps.dtype)
        high = entity_maps > thresholds
    return high & contrast_ok[..., None, None]


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


def word_attention_shares(token_maps: torch.Tensor, word_positions: Sequence[int]) -> torch.Tensor:
    """``P_j(p) = A_j(p) / sum_{k in words} A_k(p)`` for every token j, ``[..., T, H, W]``, from raw (unnormalised)
    cross-attention maps: each pixel's attention renormalised over the prompt's word tokens, so the start, end and
    padding tokens (which take most of the raw mass in CLIP-conditioned UNets) do not count. Pixels with no
    attention on any word token get 0. This is the quantity Attend-and-Excite maximises."""
    words = list(word_positions)
    raw = token_maps.clamp_min(0)
    if not words:
        return torch.zeros_like(raw)
    total = raw[..., words, :, :].sum(dim=-3, keepdim=True)
    return torch.where(total > ZERO_MASS, raw / total.clamp_min(ZERO_MASS), torch.zeros_like(raw))


#: CLIP's start and end token ids (the end id also pads the first SDXL tokenizer's sequence).
CLIP_START_ID, CLIP_END_ID = 49406, 49407


def word_positions(token_ids: Sequence[int], start_id: int = CLIP_START_ID, end_id: int = CLIP_END_ID) -> list[int]:
    """The positions of the prompt's word tokens: after the start token and before the first end token (so the
    start, end and padding positions are left out, whatever the padding token is)."""
    ids = list(token_ids)
    stop = ids.index(end_id) if end_id in ids else len(ids)
    return [position for position in range(stop) if ids[position] not in (start_id, end_id)]


def _gaussian_smooth(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """3 x 3 Gaussian smoothing with reflected borders over the last two dimensions (Attend-and-Excite's kernel)."""
    if sigma <= 0:
        return maps
    coordinates = torch.tensor([-1.0, 0.0, 1.0], dtype=maps.dtype, device=maps.device)
    kernel_1d = torch.exp(-(coordinates**2) / (2 * sigma**2))
    kernel = kernel_1d[:, None] * kernel_1d[None, :]
    kernel = (kernel / kernel.sum())[None, None]
    leading = maps.shape[:-2]
    flat = maps.reshape(-1, 1, *maps.shape[-2:])
    if min(maps.shape[-2:]) >= 2:
        padded = F.pad(flat, (1, 1, 1, 1), mode="reflect")
    else:
        padded = F.pad(flat, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, kernel).reshape(*leading, *maps.shape[-2:])


def presence(
    token_maps: torch.Tensor,
    positions: Sequence[int],
    word_positions: Sequence[int],
    sigma: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Presence of an entity from absolute attention: ``(peak, mass)`` (each ``[...]``) for the tokens ``positions``.

    With ``P_e(p) = sum_{j in e} P_j(p)`` the entity's share of each pixel's word-token attention
    (:func:`word_attention_shares`):

    * ``peak = max_p G_sigma * P_e(p)``: the largest share at any (3 x 3 Gaussian-smoothed) pixel, the quantity
      Attend-and-Excite raises for neglected subjects. An object the model draws has some patch where its token
      dominates (peak near 1); a neglected object has none.
    * ``mass = mean_p P_e(p)``: the entity's share of the word-token attention over the whole image.

    Unlike the per-token maps of the other scores, nothing is renormalised per token, so an entity the model
    ignores keeps a small value instead of a full-looking map. 0 when no word token receives attention.
    """
    shares = word_attention_shares(token_maps, word_positions)
    if not positions:
        zero = torch.zeros(token_maps.shape[:-3], dtype=token_maps.dtype, device=token_maps.device)
        return zero, zero
    entity = shares[..., list(positions), :, :].sum(dim=-3)
    peak = _gaussian_smooth(entity, sigma).flatten(-2).max(dim=-1).values
    return peak, entity.mean(dim=(-2, -1))


def is_neglected(peak: float, threshold: float) -> bool:
    """An entity is neglected when its presence peak is below ``threshold``: no patch of the image attends to it
    as a clear share of the prompt's words."""
    return not math.isnan(peak) and peak < threshold
