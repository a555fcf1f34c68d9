"""Entity regions: which entity owns each pixel (nested entities re-contest their parent's region), the rules
that say where a map is high enough to claim a pixel, and region masks.

Nested entities ("a cat wearing a red hat": the hat's parent is the cat): regions are assigned top-down. The
top-level entities compete for every pixel; then, inside the own region of an entity, that entity and its direct
children compete again, and so on. Hence a child's full region always lies inside its parent's full region
(``F_child ⊆ F_parent``), the own regions of all entities are disjoint, and the full regions of two entities that
are not ancestor and descendant are disjoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .attention_maps import FLOOR_QUANTILE, ZERO_MASS, map_contrast, map_floor

BACKGROUND = -1
#: Default spread rule: a pixel is a candidate when it lies at least this far from the floor towards the peak.
REGION_LEVEL = 0.4
#: Default minimum contrast ``(peak - floor) / mean`` below which a map is "flat" and claims no pixel.
MIN_CONTRAST = 0.25
#: Region rules of :func:`region_candidates`.
REGION_RULES = ("spread", "otsu", "peak")


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
      ``quantile`` (median), and only for maps whose contrast (:func:`~attnmod.analysis.attention_maps.map_contrast`) is at least ``min_contrast``.
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
