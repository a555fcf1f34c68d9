"""The leakage and binding metrics, one namespace: pure functions of attention maps (tensors in, tensors out).

Each family lives in its own module; this one gathers them under one name for users and scripts
(``from attnmod.analysis import metrics``; ``metrics.leakage(...)``):

* :mod:`~attnmod.analysis.attention_maps`: normalising, grouping, resizing and combining maps; floor and contrast;
* :mod:`~attnmod.analysis.regions`: which entity owns each pixel, the region rules, region masks;
* :mod:`~attnmod.analysis.map_overlap`: leakage (cross-attention overlap, self-attention), containment;
* :mod:`~attnmod.analysis.binding`: attribute binding by region shares, lifts and the symmetric-KL margin;
* :mod:`~attnmod.analysis.word_attention`: presence from absolute attention on the prompt's word tokens.

Nothing here knows about records, prompt trees or files: :mod:`attnmod.analysis.scoring` maps an
``AttentionRecord`` and a ``PromptTree`` onto these functions. Every function works on the last two dimensions
(``[..., H, W]``) so the same code scores one captured map or a batch of maps inside an autograd graph
(:mod:`attnmod.analysis.attribution`).

Notation (all maps are non-negative and live on the pixels p of one attention resolution):

* ``A_j``: the cross-attention map of text token j, normalised to sum 1 over pixels.
* ``M_e``: the map of entity e, the mean of ``A_j`` over e's noun tokens (renormalised).
* ``R_e``: e's own region, ``F_e``: e's full region (own region plus all descendants' full regions).

Nested entities ("a cat wearing a red hat": the hat's parent is the cat) are assigned regions top-down (see
:mod:`~attnmod.analysis.regions`), so the own regions of all entities are disjoint and a child's full region lies
inside its parent's. Leakage compares only entities that are not nested in each other (a hat is expected to share
pixels with the cat that wears it); binding uses the disjoint own regions, so an attribute of the cat that lands on
the hat counts as misbound.

Chance-corrected scores: comparing normalised maps directly inherits two biases of averaged attention. Every map
sits on a near-uniform floor (averages over steps, layers and heads are diffuse), so the overlap of two disjoint
objects equals the floor's mass; and a share of attention over regions grows with the region's area, so a uniform
attribute map looks bound to the biggest entity. The corrected scores remove the floor
(:func:`~attnmod.analysis.attention_maps.remove_floor`, :func:`~attnmod.analysis.map_overlap.pairwise_floor_overlap`),
divide by the area a uniform map would give (lifts: 1 = chance, :func:`~attnmod.analysis.binding.binding_lifts`,
:func:`~attnmod.analysis.map_overlap.self_attention_lift`), and read presence from the raw attention mass
(:func:`~attnmod.analysis.word_attention.presence`).
"""

from __future__ import annotations

from .attention_maps import (
    FLOOR_QUANTILE,
    ZERO_MASS,
    combine_raw_resolutions,
    combine_resolutions,
    group_map,
    map_contrast,
    map_floor,
    normalize_maps,
    remove_floor,
    resize_maps,
)
from .binding import (
    KL_SMOOTHING,
    attribute_binding,
    binding_lifts,
    binding_log_ratio,
    binding_margin,
    binding_shares,
    is_misbound,
    is_misbound_lift,
    symmetric_kl,
)
from .map_overlap import (
    containment,
    floor_overlap,
    leakage,
    overlap,
    pairwise_floor_overlap,
    pairwise_overlap,
    self_attention_leakage,
    self_attention_lift,
)
from .regions import (
    BACKGROUND,
    MIN_CONTRAST,
    REGION_LEVEL,
    REGION_RULES,
    assign_regions,
    full_region_masks,
    nested_pairs,
    otsu_threshold,
    own_region_masks,
    pairwise_region_iou,
    peak_candidates,
    region_candidates,
    region_iou,
    region_mass,
    thresholded_region,
)
from .word_attention import (
    CLIP_END_ID,
    CLIP_START_ID,
    is_neglected,
    presence,
    word_attention_shares,
    word_positions,
)

__all__ = [
    "ZERO_MASS",
    "FLOOR_QUANTILE",
    "normalize_maps",
    "group_map",
    "resize_maps",
    "combine_resolutions",
    "combine_raw_resolutions",
    "map_floor",
    "remove_floor",
    "map_contrast",
    "BACKGROUND",
    "REGION_LEVEL",
    "MIN_CONTRAST",
    "REGION_RULES",
    "nested_pairs",
    "peak_candidates",
    "assign_regions",
    "own_region_masks",
    "full_region_masks",
    "region_mass",
    "otsu_threshold",
    "region_candidates",
    "thresholded_region",
    "region_iou",
    "pairwise_region_iou",
    "overlap",
    "pairwise_overlap",
    "leakage",
    "pairwise_floor_overlap",
    "floor_overlap",
    "self_attention_leakage",
    "self_attention_lift",
    "containment",
    "KL_SMOOTHING",
    "binding_shares",
    "attribute_binding",
    "is_misbound",
    "symmetric_kl",
    "binding_margin",
    "binding_lifts",
    "binding_log_ratio",
    "is_misbound_lift",
    "CLIP_START_ID",
    "CLIP_END_ID",
    "word_attention_shares",
    "word_positions",
    "presence",
    "is_neglected",
]
