"""Scoring one record with every definition (the original and the chance-corrected ones, over a grid of settings)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .intervals import chance_iou
from .settings import DAAM_LEVELS, FLOOR_QUANTILES, REGION_RULES, VIEWS

# ---- scoring one record with every definition ----


def _overall_maps(record, kind: str, source: str) -> list:
    """Per captured resolution, the mean map over all phases (sums over total counts) of ``source`` maps."""
    sums = record.maps(source)
    maps = []
    for resolution in record.resolutions(kind):
        total, count = None, 0
        for phase in record.phase_names():
            key = record.key(kind, resolution, phase)
            if key in sums and record.counts.get(key):
                total = sums[key].float().clone() if total is None else total + sums[key].float()
                count += record.counts[key]
        if total is not None:
            maps.append(total / count)
    return maps


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else (value if math.isfinite(value) else (1e9 if value > 0 else -1e9))


def _upsample(mask, size: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    resized = F.interpolate(mask[None, None].float(), size=size, mode="nearest")[0, 0]
    return resized.to(torch.bool).numpy()


def score_item(record, tree, colour_words: Sequence[str], source: str = "model", object_masks=None) -> dict | None:
    """Every score of one record with every definition of the grid; None when an entity has no token positions.

    ``object_masks``: the judge's masks (bool ``[objects, H, W]`` at image size, in caption order) for the IoU of
    attention regions; entities are matched to objects by order.
    """
    import torch
    from attnmod.analysis import metrics
    from attnmod.analysis.scoring import self_attention_grid

    cross = _overall_maps(record, "cross", source)
    if not cross:
        return None
    token_count = cross[0].shape[0]
    positions = [tuple(t for t in entity.tokens if 0 <= t < token_count) for entity in tree.entities]
    if not positions or not all(positions):
        return None
    token_maps = metrics.combine_resolutions(cross)
    raw = metrics.combine_raw_resolutions(cross)
    words = metrics.word_positions(record.token_ids) if record.token_ids else list(range(1, token_count))
    parents = [entity.parent for entity in tree.entities]
    count = len(positions)
    entity_maps = torch.stack([metrics.group_map(token_maps, p) for p in positions])
    pixels = entity_maps.shape[-1] * entity_maps.shape[-2]
    nested = metrics.nested_pairs(parents)
    pairs = [(e, f) for e in range(count) for f in range(e + 1, count) if (e, f) not in nested]
    colour_positions = []
    for entity in tree.entities:
        found = [a for a in entity.attributes if a.text.lower() in colour_words]
        kept = tuple(t for t in found[0].tokens if 0 <= t < token_count) if found else ()
        colour_positions.append(kept)
    self_maps = _overall_maps(record, "self", source)
    self_map = self_maps[0] if self_maps else None

    entities = []
    for e in range(count):
        peak, mass = metrics.presence(raw, positions[e], words, sigma=0.5)
        flat_peak, _ = metrics.presence(raw, positions[e], words, sigma=0.0)
        entities.append(
            {
                "presence": _number(peak),
                "presence_unsmoothed": _number(flat_peak),
                "presence_mass": _number(mass),
                "contrast": _number(metrics.map_contrast(entity_maps[e])),
                "area": {},
                "iou": {},
                "iou_chance": {},
            }
        )
    attributes = [
        {"entity": e, "share": {}, "misbound_share": {}, "lift": {}, "log_ratio": {}, "misbound": {}}
        for e in range(count)
        if colour_positions[e]
    ]
    pair_rows = [{"entities": [e, f], "self_share": {}, "self_lift": {}} for e, f in pairs]
    overlap_matrix = metrics.pairwise_overlap(entity_maps)
    floor_matrices = {q: metrics.pairwise_floor_overlap(entity_maps, q) for q in FLOOR_QUANTILES}
    daam_matrices = {level: metrics.pairwise_region_iou(entity_maps, level) for level in DAAM_LEVELS}
    for row, (e, f) in zip(pair_rows, pairs, strict=True):
        row["overlap"] = _number(overlap_matrix[e, f])
        row["floor"] = {str(q): _number(m[e, f]) for q, m in floor_matrices.items()}
        row["daam"] = {str(level): _number(m[e, f]) for level, m in daam_matrices.items()}
    for row in attributes:
        attribute_map = metrics.group_map(token_maps, colour_positions[row["entity"]])
        related = {
            other
            for other in range(count)
            if (min(row["entity"], other), max(row["entity"], other)) in nested and other != row["entity"]
        }
        margin, *_ = metrics.binding_margin(attribute_map, entity_maps, row["entity"], exclude=sorted(related))
        row["margin"] = _number(margin)
        row["map"] = attribute_map

    for name, settings in REGION_RULES.items():
        candidates = metrics.region_candidates(entity_maps, **settings)
        labels = metrics.assign_regions(entity_maps, parents=parents, candidates=candidates)
        own = metrics.own_region_masks(labels, count)
        full = metrics.full_region_masks(labels, parents)
        for e, row in enumerate(entities):
            row["area"][name] = float(full[e].sum()) / pixels
            if object_masks is not None and e < len(object_masks):
                region = _upsample(full[e], tuple(object_masks[e].shape))
                truth = np.asarray(object_masks[e], dtype=bool)
                union = (region | truth).sum()
                row["iou"][name] = float((region & truth).sum() / union) if union else None
                row["iou_chance"][name] = _number(chance_iou(region.mean(), truth.mean()))
        for row in attributes:
            e = row["entity"]
            shares = metrics.binding_shares(row["map"], own)
            lifts = metrics.binding_lifts(row["map"], own)
            row["share"][name] = _number(shares[e])
            row["misbound_share"][name] = metrics.is_misbound(shares, e)
            row["lift"][name] = _number(lifts[e])
            row["log_ratio"][name] = _number(metrics.binding_log_ratio(lifts, e))
            row["misbound"][name] = metrics.is_misbound_lift(lifts, e)
        if self_map is not None:
            side = self_attention_grid(self_map.shape[-1], tuple(entity_maps.shape[-2:]))
            small_maps = metrics.resize_maps(entity_maps, side)
            small_candidates = metrics.region_candidates(small_maps, **settings)
            small_labels = metrics.assign_regions(small_maps, parents=parents, candidates=small_candidates)
            small_full = metrics.full_region_masks(small_labels, parents)
            share = metrics.self_attention_leakage(self_map.float(), small_full)
            lift = metrics.self_attention_lift(self_map.float(), small_full)
            for row, (e, f) in zip(pair_rows, pairs, strict=True):
                row["self_share"][name] = _nanmax(share[e, f], share[f, e])
                row["self_lift"][name] = _nanmax(lift[e, f], lift[f, e])
    for row in attributes:
        del row["map"]
    content = sorted({t for p in positions for t in p} | {t for p in colour_positions for t in p})
    colour_texts = []
    for entity in tree.entities:
        found = [a.text.lower() for a in entity.attributes if a.text.lower() in colour_words]
        colour_texts.append(found[0] if found else None)
    views = {}
    for view, (phase, resolutions) in VIEWS.items():
        maps = _view_maps(record, phase, resolutions, source)
        if maps is not None:
            views[view] = view_scores(maps, positions, colour_positions, words, content, colour_texts)
    return {
        "entities": entities,
        "attributes": attributes,
        "pairs": pair_rows,
        "views": views,
        "word_count": len([w for w in words if w < token_count]),
    }


def _view_maps(record, phase: str | None, resolutions: str, source: str):
    """Raw cross-attention ``[T, H, W]`` of one view (see VIEWS), or None when that phase was not captured."""
    from attnmod.analysis import metrics

    if phase is not None and phase not in record.phase_names():
        return None
    found = [record.phase_mean("cross", r, phase, source) for r in record.resolutions("cross")]
    found = [m.float() for m in found if m is not None]
    if not found:
        return None
    if resolutions == "finest":
        return max(found, key=lambda m: m.shape[-1] * m.shape[-2])
    return metrics.combine_raw_resolutions(found)


def view_scores(raw, positions, colour_positions, words, content, colour_texts=None) -> dict:
    """Candidate region-free scores of one view of the raw maps ``[T, H, W]`` (per-pixel distributions over tokens).

    Per entity e (``P_j``: token j's share of each pixel's word-token attention, ``M_e``: e's normalised map):

    * ``presence``: ``max_p G * P_e(p)`` (as shipped, on this view); ``mass``: ``mean_p P_e(p)``;
    * ``content_presence``: the same peak with shares over the nouns and attributes only (no "a", "and");
    * ``relative``: ``presence_e / max_f presence_f`` (the weakest entity of a prompt is the one likely lost).

    Per colour attribute a of entity e (``A_a``: its normalised map, N pixels):

    * ``colour_presence``: the colour's own presence peak;
    * ``soft_lift``: ``N sum_p M_e(p) A_a(p)``, the attribute's density under e's soft map (1 = chance), and
      ``soft_margin = soft_lift_e - max_{f != e} soft_lift_f`` (no region rule: never undefined on flat maps);
    * ``competition``: ``sum_p M_e(p) (P_a(p) - max_{b} P_b(p))``, b the other entities' colour tokens: whether,
      where e is drawn, its own colour or another colour of the prompt takes the attention (None without another
      colour).
    """
    from attnmod.analysis import metrics

    token_count = raw.shape[0]
    words = [w for w in words if w < token_count]
    content = [c for c in content if c < token_count]
    peaks = [float(metrics.presence(raw, p, words)[0]) for p in positions]
    masses = [float(metrics.presence(raw, p, words)[1]) for p in positions]
    content_peaks = [float(metrics.presence(raw, p, content)[0]) for p in positions]
    top = max(peaks) if peaks else 0.0
    entities = [
        {
            "presence": _number(peaks[e]),
            "mass": _number(masses[e]),
            "content_presence": _number(content_peaks[e]),
            "relative": _number(peaks[e] / top) if top > 0 else None,
        }
        for e in range(len(positions))
    ]
    normalised = metrics.normalize_maps(raw)
    entity_maps = [metrics.group_map(raw, p) for p in positions]
    shares = metrics.word_attention_shares(raw, words)
    pixels = raw.shape[-1] * raw.shape[-2]
    attributes = []
    for e, colour in enumerate(colour_positions):
        if not colour:
            continue
        attribute_map = normalised[list(colour)].mean(0)
        attribute_map = attribute_map / attribute_map.sum().clamp_min(1e-12)
        lifts = [float(pixels * (m * attribute_map).sum()) for m in entity_maps]
        others = [lifts[f] for f in range(len(lifts)) if f != e]
        own_share = shares[list(colour)].sum(0)
        texts = colour_texts or [None] * len(colour_positions)
        rivals = [
            shares[list(c)].sum(0)
            for f, c in enumerate(colour_positions)
            if f != e and c and (texts[f] is None or texts[f] != texts[e])
        ]
        competition = None
        if rivals:
            strongest = torch_max(rivals)
            competition = _number((entity_maps[e] * (own_share - strongest)).sum())
        attributes.append(
            {
                "entity": e,
                "colour_presence": _number(metrics.presence(raw, colour, words)[0]),
                "soft_lift": _number(lifts[e]),
                "soft_margin": _number(lifts[e] - max(others)) if others else None,
                "competition": competition,
            }
        )
    return {"entities": entities, "attributes": attributes}


def torch_max(maps):
    """Pixel-wise maximum of a list of equally shaped maps."""
    import torch

    return torch.stack(list(maps)).max(dim=0).values


def _nanmax(first, second) -> float | None:
    values = [float(v) for v in (first, second) if not math.isnan(float(v))]
    return max(values) if values else None
