"""Do the attention scores predict what went wrong in the image? Scores against the shapes-world judge.

For every prompt of the shapes world's 2- and 3-object sets (seen and held-out combinations), every seed and the
variants ``none`` (baseline) and ``full``, this generates the image with attention captured, asks the judge
(:func:`attnmod.analysis.judge.image.judge_image`) what went wrong (a wrong colour, a missing object, merged objects),
scores the model's own attention maps with every definition (the original ones and the chance-corrected ones, over
a small grid of their settings) and measures how well each score and verdict predicts the judge's failures:

* AUROC with a 95% bootstrap interval (prompts resampled, so both seeds of a prompt move together) for
  wrong colour binding (unit: a colour attribute of an object the judge found), missing object (unit: an object)
  and merged objects (unit: an image; pair scores are maxima over the pairs, as the leakage headline is);
* the IoU between each entity's attention region (upsampled to the image) and the judge's mask of that object,
  against the IoU a random region of the same area would get on average, ``a b / (a + b - a b)`` for area shares
  ``a`` and ``b``;
* definitions are chosen on the ``/tune`` half of the prompts (the shapes world splits captions in two halves
  that never share a caption) and every number in the tables comes from the ``/test`` half.

Default run: 300 test-half and 160 tune-half prompts (spread over the 4 sets) x seeds 0, 1 x ``none``, ``full``:
1,840 images, about 1.1 s of CPU each on the shapes model. Each image is cached as ``OUT/items/ID.json`` (written
atomically), so a rerun resumes; ``--shard K/N`` makes every N-th prompt (run N processes at once) and ``--merge``
tabulates the cache without a model into ``OUT/items.jsonl`` and ``OUT/validity.json``, with ``--docs
docs/validity.md`` into that page (between its ``<!-- results -->`` markers) and with ``--validation
analysis/validation.json`` the measured validity of each shipped verdict, which analysis/verdicts.py and
reports/findings.py word their verdicts by.

    python benchmarks/score_validity.py --out runs/validity --shard 1/2 --threads 1 &
    python benchmarks/score_validity.py --out runs/validity --shard 2/2 --threads 1 &
    wait
    python benchmarks/score_validity.py --out runs/validity --merge --docs docs/validity.md \\
        --validation analysis/validation.json
    python benchmarks/score_validity.py --quick --out /tmp/validity-smoke        # tiny model, a few prompts
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from attnmod.analysis import statistics

sys.path.insert(0, str(Path(__file__).resolve().parent))

SETS = ("seen-2", "seen-3", "heldout-2", "heldout-3")
HALVES = ("tune", "test")
FAILURES = ("wrong_colour", "missing", "merged")
FAILURE_NAMES = {
    "wrong_colour": "wrong colour binding",
    "missing": "missing object",
    "merged": "merged objects",
}

#: Region rules compared (name -> keyword arguments of metrics.region_candidates). The first is the original.
REGION_RULES = {
    "peak 0.2": {"rule": "peak", "level": 0.2},
    "spread 0.3": {"rule": "spread", "level": 0.3, "min_contrast": 0.25},
    "spread 0.4": {"rule": "spread", "level": 0.4, "min_contrast": 0.25},
    "spread 0.5": {"rule": "spread", "level": 0.5, "min_contrast": 0.25},
    "spread 0.4 c0": {"rule": "spread", "level": 0.4, "min_contrast": 0.0},
    "spread 0.4 c0.5": {"rule": "spread", "level": 0.4, "min_contrast": 0.5},
    "otsu": {"rule": "otsu", "min_contrast": 0.25},
}
OLD_RULE = "peak 0.2"
FLOOR_QUANTILES = (0.0, 0.25, 0.5)
DAAM_LEVELS = (0.3, 0.4, 0.5)
#: Candidate thresholds for verdicts chosen on the tune half (presence for "neglected", floor overlap for "overlap").
VERDICT_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
OLD_OVERLAP_THRESHOLD = 0.4
#: The thresholds the diagnosis ships (analysis.thresholds.Thresholds), measured as they are.
SHIPPED_PRESENCE = 0.2
SHIPPED_OVERLAP = 0.4
#: Where in the run the candidate definitions read attention: (phase or None for all phases, resolutions). The
#: shipped scores read "all" (every phase, every resolution combined at the coarsest).
VIEWS = {
    "all": (None, "combined"),
    "early": ("early", "combined"),
    "middle": ("middle", "combined"),
    "late": ("late", "combined"),
    "all, finest": (None, "finest"),
}


# ---- statistics ----


# The AUROC (torchmetrics' binary_auroc) and the cluster bootstrap are analysis.statistics' own.
auroc = statistics.auroc


def bootstrap_auroc(
    scores: np.ndarray, labels: np.ndarray, clusters: np.ndarray, resamples: int, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of the AUROC with whole clusters (prompts) resampled with replacement; NaNs when
    fewer than a tenth of the resamples (at least 10) hold both classes."""
    if resamples <= 0:
        return float("nan"), float("nan")
    if len(scores) and np.all(scores == scores[0]) and labels.any() and not labels.all():
        return 0.5, 0.5  # a constant score ties every pair in every resample
    return statistics.bootstrap_clusters(
        lambda picked: auroc(scores[picked], labels[picked]),
        clusters,
        resamples,
        seed=seed,
        min_defined=max(10, resamples // 10),
    )


def bootstrap_mean(values: np.ndarray, clusters: np.ndarray, resamples: int, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of a mean with whole clusters resampled."""
    if resamples <= 0 or len(values) == 0:
        return float("nan"), float("nan")
    return statistics.bootstrap_clusters(lambda picked: float(values[picked].mean()), clusters, resamples, seed=seed)


def chance_iou(area_a: float, area_b: float) -> float:
    """Expected IoU of a region with area share ``a`` placed at random against a fixed mask of area share ``b``:
    ``a b / (a + b - a b)`` (intersection ``a b N``, union ``(a + b - a b) N``). NaN when both are empty."""
    union = area_a + area_b - area_a * area_b
    return float("nan") if union <= 0 else area_a * area_b / union


def youden_threshold(scores: np.ndarray, labels: np.ndarray, grid: Sequence[float], below: bool) -> float:
    """The threshold of ``grid`` with the largest ``TPR - FPR`` when a failure is predicted by ``score < t``
    (``below``) or ``score >= t``; NaN without both classes."""
    if labels.all() or not labels.any():
        return float("nan")
    best, best_gain = float("nan"), -2.0
    for threshold in grid:
        flagged = scores < threshold if below else scores >= threshold
        gain = flagged[labels].mean() - flagged[~labels].mean()
        if gain > best_gain:
            best, best_gain = threshold, gain
    return best


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


# ---- the judge ----


def _field(thing, *names, default=None):
    for name in names:
        if isinstance(thing, dict) and name in thing:
            return thing[name]
        if not isinstance(thing, dict) and hasattr(thing, name):
            return getattr(thing, name)
    return default


def judge_labels(verdict, objects: int) -> dict:
    """The judge's verdict as labels: ``{"missing": [bool|None], "wrong_colour": [bool|None], "merged": bool|None,
    "masks": [array|None]}`` per object in caption order. Reads the judge's fields by name (``objects`` rows with
    ``found``/``present``/``missing``, ``colour_correct``/``colour_ok``/``wrong_colour``, ``mask``; a ``merged``
    flag on the verdict or on the objects)."""
    rows = list(_field(verdict, "objects", default=[]) or [])
    missing, wrong, masks, merged_objects = [], [], [], []
    for index in range(objects):
        row = rows[index] if index < len(rows) else None
        if row is None:
            missing.append(None)
            wrong.append(None)
            masks.append(None)
            continue
        found = _field(row, "found", "present")
        gone = _field(row, "missing")
        is_missing = bool(gone) if gone is not None else (None if found is None else not bool(found))
        correct = _field(row, "colour_correct", "colour_ok", "color_correct")
        wrong_flag = _field(row, "wrong_colour", "wrong_color")
        is_wrong = bool(wrong_flag) if wrong_flag is not None else (None if correct is None else not bool(correct))
        if is_missing:
            is_wrong = None  # the colour of an object that is not there cannot be judged
        missing.append(is_missing)
        wrong.append(is_wrong)
        mask = _field(row, "mask")
        masks.append(None if mask is None else np.asarray(mask, dtype=bool))
        merged_objects.append(_field(row, "merged"))
    merged = _field(verdict, "merged")
    if merged is None and any(flag is not None for flag in merged_objects):
        merged = any(bool(flag) for flag in merged_objects)
    return {
        "missing": missing,
        "wrong_colour": wrong,
        "merged": None if merged is None else bool(merged),
        "masks": masks,
    }


def load_judge(required: bool) -> Callable | None:
    try:
        from attnmod.analysis.judge.image import judge_image
    except ImportError as error:
        if required:
            raise SystemExit(f"score_validity: the shapes judge is not available ({error}); use --no-judge") from None
        return None
    return judge_image


# ---- generation ----


def default_run_settings(model) -> dict:
    if model.name == "shapes":
        from attnmod.toolkit.models import shapes as shapes_model

        return {"steps": shapes_model.DEFAULT_STEPS, "size": shapes_model.IMAGE_SIZE}
    if model.name in ("tiny", "tiny-sd"):
        return {"steps": 4, "size": 64}
    pipe = model.pipeline
    return {"steps": 30, "size": int(pipe.unet.config.sample_size) * int(getattr(pipe, "vae_scale_factor", 8))}


@dataclasses.dataclass(frozen=True)
class Item:
    id: str
    set: str
    half: str
    scene: object
    seed: int
    variant: str


def plan_items(prompts_per_set: int | dict[str, int], seeds: Sequence[int], variants: Sequence[str]) -> list[Item]:
    """Every image of the run in a fixed order: per set and half (``prompts_per_set`` per set, or a count per
    half: ``{"tune": 40, "test": 75}``), per prompt, seed and variant."""
    from attnmod.toolkit import shapes_world

    counts = prompts_per_set if isinstance(prompts_per_set, dict) else dict.fromkeys(HALVES, prompts_per_set)
    items = []
    for name in SETS:
        for half in HALVES:
            for index, scene in enumerate(shapes_world.prompt_set(f"{name}/{half}", counts[half])):
                for seed in seeds:
                    for variant in variants:
                        items.append(
                            Item(f"{name}-{half}-{index:03d}-s{seed}-{variant}", name, half, scene, seed, variant)
                        )
    return items


def shard_of(items: list[Item], shard: int, shards: int) -> list[Item]:
    """The items of shard ``shard`` (0-based) of ``shards``: whole prompts (all their seeds and variants) dealt out
    in turn, so shards get the same mix of sets, halves and variants and about the same work."""
    prompts: dict[tuple[str, str, str], int] = {}
    for item in items:
        prompts.setdefault((item.set, item.half, item.scene.caption), len(prompts))
    return [item for item in items if prompts[(item.set, item.half, item.scene.caption)] % shards == shard]


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1-based K) -> ``(K - 1, N)``; ValueError with a readable message otherwise."""
    try:
        first, second = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like K/N (e.g. 1/2), got {text!r}") from None
    if second < 1 or not 1 <= first <= second:
        raise ValueError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return first - 1, second


# ---- the per-item cache ----


def cache_folder(out: Path) -> Path:
    return out / "items"


def cached_ids(out: Path) -> set[str]:
    """Ids already generated: one ``OUT/items/ID.json`` per image (and the rows of an older ``OUT/items.jsonl``)."""
    folder = cache_folder(out)
    found = {path.stem for path in folder.glob("*.json")} if folder.is_dir() else set()
    return found | set(_legacy_rows(out))


def _legacy_rows(out: Path) -> dict[str, dict]:
    path = out / "items.jsonl"
    rows = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                rows[row["id"]] = row
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line of an interrupted run: that image is made again
    return rows


def write_cached(out: Path, row: dict) -> None:
    """Write one item's row atomically (a process killed mid-write leaves no torn file behind)."""
    folder = cache_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{row['id']}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(row), encoding="utf-8")
    os.replace(temporary, folder / f"{row['id']}.json")


def read_cached(out: Path, wanted: set[str] | None = None) -> list[dict]:
    """Every cached row (only ``wanted`` ids when given), in id order; unreadable files are skipped."""
    rows = _legacy_rows(out)
    folder = cache_folder(out)
    if folder.is_dir():
        for path in folder.glob("*.json"):
            if wanted is not None and path.stem not in wanted:
                continue
            try:
                rows[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
    return [rows[key] for key in sorted(rows) if wanted is None or key in wanted]


#: CPU seconds per 64x64 image at 25 steps with capture (self-attention too), the judge and every score: measured
#: 1.06 s (10th-90th percentile 0.93-1.21) over 160 shapes-model images in a one-thread process (docs/validity.md).
#: Used only for the estimate printed before a run.
SECONDS_PER_IMAGE = 1.1


def check_same_settings(out: Path, settings: dict) -> None:
    """Refuse to add images to a cache made with another model, weights, step count or size (mixing them would
    make one table of two experiments)."""
    path = out / "settings.json"
    if not path.is_file():
        return
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return
    for key in ("model", "weights_sha256", "steps", "size"):
        if key in before and before[key] != settings[key]:
            raise OSError(
                f"{out} holds images made with {key} {before[key]!r}, not {settings[key]!r}: use a new --out "
                "(or delete that folder)"
            )


def weights_fingerprint(model_name: str) -> str | None:
    """The first 16 hex digits of the SHA-256 of the shipped shapes weights (None for other models), so a
    validation names the model it measured."""
    if model_name != "shapes":
        return None
    import hashlib

    from attnmod.toolkit.models import shapes as shapes_model

    path = shapes_model.shipped_weights_folder() / shapes_model.WEIGHTS_FILE
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def threads_note() -> str:
    import torch

    return f"{torch.get_num_threads()} torch thread(s); CPU time counts every thread"


def run_items(args, items: list[Item], out: Path, judge) -> None:
    from attnmod.toolkit import shapes_world
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.models.loading import load_model
    from attnmod.toolkit.modulation.config import ModulationConfig
    from attnmod.toolkit.prompt.parse import parse_prompt
    from tqdm.auto import tqdm

    done = cached_ids(out)
    todo = [item for item in items if item.id not in done]
    if not todo:
        print(f"score_validity: all {len(items)} images of this run are cached in {cache_folder(out)}", file=sys.stderr)
        return
    if args.threads:
        from attnmod.toolkit.threads import request_threads

        request_threads(args.threads)
    model = load_model(args.model, device=args.device, dtype=args.dtype)
    defaults = default_run_settings(model)
    steps, size = args.steps or defaults["steps"], args.size or defaults["size"]
    settings = {"model": args.model, "steps": steps, "size": size, "device": model.device, "dtype": model.dtype}
    settings["weights_sha256"] = weights_fingerprint(args.model)
    check_same_settings(out, settings)
    temporary = out / f".settings.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(settings), encoding="utf-8")
    os.replace(temporary, out / "settings.json")
    scale = steps / 25 * (size / 64) ** 2
    minutes = len(todo) * SECONDS_PER_IMAGE * scale / 60
    print(
        f"score_validity: {len(todo)} of {len(items)} images to make in this process ({len(items) - len(todo)} "
        f"cached); at the shapes model's {SECONDS_PER_IMAGE * scale:.1f} s of CPU per image, ~{minutes:.0f} min on one "
        "free core",
        file=sys.stderr,
    )
    trees: dict[str, object] = {}
    colour_words = tuple(shapes_world.COLOURS)
    by_variant: dict[str, list[Item]] = {}
    for item in todo:
        by_variant.setdefault(item.variant, []).append(item)
    bar = tqdm(total=len(todo), desc="score validity", unit="image")
    spent: list[float] = []
    for variant, group in by_variant.items():
        config = ModulationConfig.from_variant(variant)
        config = dataclasses.replace(config, capture=dataclasses.replace(config.capture, self_attention=True))
        for start in range(0, len(group), args.batch_size):
            batch = group[start : start + args.batch_size]
            batch_started = time.process_time()
            captions = [item.scene.caption for item in batch]
            for caption in captions:
                if caption not in trees:
                    trees[caption] = parse_prompt(caption, tokenizers=model.tokenizers)
            results = generate(
                model,
                captions,
                config,
                seeds=[item.seed for item in batch],
                steps=steps,
                height=size,
                width=size,
                capture=True,
                trees=[trees[c] for c in captions],
            )
            rows = []
            for item, result in zip(batch, results, strict=True):
                objects = len(item.scene.objects)
                labels = judge_labels({}, objects)
                if judge is not None:
                    try:
                        verdict = judge(np.asarray(result.image.convert("RGB")), item.scene)
                    except OSError as error:  # e.g. the judge's classifier weights are not there yet
                        if not args.quick:
                            raise
                        print(f"score_validity: the judge cannot run ({error}); going on without it", file=sys.stderr)
                        judge = None
                    else:
                        labels = judge_labels(verdict, objects)
                rows.append(item_row(item, result, trees[item.scene.caption], labels, colour_words))
            cpu = (time.process_time() - batch_started) / len(batch)
            for row in rows:
                write_cached(out, {**row, "cpu_seconds": round(cpu, 3)})
            spent.append(cpu)
            bar.set_postfix(cpu_s_per_image=f"{sum(spent) / len(spent):.2f}")
            bar.update(len(batch))
    bar.close()
    print(
        f"score_validity: {sum(spent) / len(spent):.2f} s of CPU per image in this process ({threads_note()})",
        file=sys.stderr,
    )


def item_row(item: Item, result, tree, labels: dict, colour_words) -> dict:
    """One line of items.jsonl: the item, the judge's labels (masks used for the IoU, not stored) and the scores."""
    objects = len(item.scene.objects)
    labels = dict(labels)
    masks = labels.pop("masks")
    usable = [m for m in masks if m is not None]
    object_masks = masks if len(usable) == objects and objects else None
    matched = len(tree.entities) == objects
    scores = {}
    if matched:
        scores["model"] = score_item(result.record, tree, colour_words, "model", object_masks)
        if result.record.applied:
            scores["applied"] = score_item(result.record, tree, colour_words, "applied", None)
    return {
        "id": item.id,
        "set": item.set,
        "half": item.half,
        "caption": item.scene.caption,
        "heldout": bool(item.scene.heldout),
        "objects": objects,
        "seed": item.seed,
        "variant": item.variant,
        "entities_match": matched,
        "labels": labels,
        "scores": scores,
    }


# ---- predictors: what each score or verdict says about a unit ----


@dataclasses.dataclass(frozen=True)
class Predictor:
    """``value(unit)`` is oriented so that larger means "failure more likely" (None: undefined for the unit)."""

    name: str
    failure: str
    definition: str  # "original" or "corrected"
    kind: str  # "score" or "verdict"
    family: str
    value: Callable[[dict], float | None]
    threshold: str | None = None  # for verdicts chosen on the tune half: which score and direction


def _neg(value):
    return None if value is None else -value


def _max_pairs(pairs, getter):
    values = [getter(p) for p in pairs]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def predictors() -> list[Predictor]:
    found: list[Predictor] = []
    add = found.append
    # wrong colour binding: unit = the colour attribute row
    add(
        Predictor(
            "B_a share of entity regions",
            "wrong_colour",
            "original",
            "score",
            "share",
            lambda u: _neg(u["share"][OLD_RULE]),
        )
    )
    add(
        Predictor(
            "misbound (share, peak 0.2 regions)",
            "wrong_colour",
            "original",
            "verdict",
            "misbound",
            lambda u: float(u["misbound_share"][OLD_RULE]),
        )
    )
    add(
        Predictor(
            "KL margin (SynGen symmetric KL)",
            "wrong_colour",
            "corrected",
            "score",
            "margin",
            lambda u: _neg(u["margin"]),
        )
    )
    for rule in REGION_RULES:
        if rule == OLD_RULE:
            continue
        add(
            Predictor(
                f"binding log ratio, {rule}",
                "wrong_colour",
                "corrected",
                "score",
                "log ratio",
                lambda u, r=rule: _neg(u["log_ratio"][r]),
            )
        )
        add(
            Predictor(
                f"own binding lift, {rule}",
                "wrong_colour",
                "corrected",
                "score",
                "lift",
                lambda u, r=rule: _neg(u["lift"][r]),
            )
        )
        add(
            Predictor(
                f"misbound (lift), {rule}",
                "wrong_colour",
                "corrected",
                "verdict",
                "misbound",
                lambda u, r=rule: float(u["misbound"][r]),
            )
        )
    # missing object: unit = the entity row
    add(
        Predictor(
            "wins no pixels (peak 0.2 regions)",
            "missing",
            "original",
            "verdict",
            "no pixels",
            lambda u: float(u["area"][OLD_RULE] == 0),
        )
    )
    add(Predictor("region area, peak 0.2", "missing", "original", "score", "area", lambda u: _neg(u["area"][OLD_RULE])))
    add(
        Predictor(
            "presence peak (smoothed)", "missing", "corrected", "score", "presence", lambda u: _neg(u["presence"])
        )
    )
    add(
        Predictor(
            "presence peak (unsmoothed)",
            "missing",
            "corrected",
            "score",
            "presence",
            lambda u: _neg(u["presence_unsmoothed"]),
        )
    )
    add(Predictor("presence mass", "missing", "corrected", "score", "presence", lambda u: _neg(u["presence_mass"])))
    add(
        Predictor(
            "neglected (presence peak < t)",
            "missing",
            "corrected",
            "verdict",
            "neglected",
            lambda u: _neg(u["presence"]),
            threshold="presence",
        )
    )
    add(
        Predictor(
            f"neglected (presence peak < {SHIPPED_PRESENCE}, as shipped)",
            "missing",
            "corrected",
            "verdict",
            "neglected",
            lambda u: None if u["presence"] is None else float(u["presence"] < SHIPPED_PRESENCE),
        )
    )
    for rule in REGION_RULES:
        if rule == OLD_RULE:
            continue
        add(
            Predictor(
                f"region area, {rule}", "missing", "corrected", "score", "area", lambda u, r=rule: _neg(u["area"][r])
            )
        )
        add(
            Predictor(
                f"wins no pixels, {rule}",
                "missing",
                "corrected",
                "verdict",
                "no pixels",
                lambda u, r=rule: float(u["area"][r] == 0),
            )
        )
    # merged objects: unit = the image, scores are maxima over its entity pairs
    add(
        Predictor(
            "leakage O (sum of minima)",
            "merged",
            "original",
            "score",
            "overlap",
            lambda u: _max_pairs(u["pairs"], lambda p: p["overlap"]),
        )
    )
    add(
        Predictor(
            f"overlap verdict O >= {OLD_OVERLAP_THRESHOLD}",
            "merged",
            "original",
            "verdict",
            "overlap",
            lambda u: _flag(_max_pairs(u["pairs"], lambda p: p["overlap"]), OLD_OVERLAP_THRESHOLD),
        )
    )
    add(
        Predictor(
            "self-attention leakage share, peak 0.2",
            "merged",
            "original",
            "score",
            "self",
            lambda u: _max_pairs(u["pairs"], lambda p: p["self_share"].get(OLD_RULE)),
        )
    )
    for q in FLOOR_QUANTILES:
        add(
            Predictor(
                f"floor-removed overlap, floor q{q}",
                "merged",
                "corrected",
                "score",
                "overlap",
                lambda u, q=q: _max_pairs(u["pairs"], lambda p: p["floor"][str(q)]),
            )
        )
    add(
        Predictor(
            "floor-removed overlap, q0.5, contrast-gated",
            "merged",
            "corrected",
            "score",
            "overlap",
            lambda u: _max_pairs(_gated(u), lambda p: p["floor"]["0.5"]),
        )
    )
    add(
        Predictor(
            "overlap verdict (gated floor q0.5 overlap >= t)",
            "merged",
            "corrected",
            "verdict",
            "overlap",
            lambda u: _max_pairs(_gated(u), lambda p: p["floor"]["0.5"]),
            threshold="overlap",
        )
    )
    add(
        Predictor(
            f"overlap verdict (gated floor q0.5 overlap >= {SHIPPED_OVERLAP}, as shipped)",
            "merged",
            "corrected",
            "verdict",
            "overlap",
            lambda u: _flag(_max_pairs(_gated(u), lambda p: p["floor"]["0.5"]), SHIPPED_OVERLAP),
        )
    )
    for level in DAAM_LEVELS:
        add(
            Predictor(
                f"DAAM region IoU, level {level}",
                "merged",
                "corrected",
                "score",
                "region IoU",
                lambda u, lv=level: _max_pairs(u["pairs"], lambda p: p["daam"][str(lv)]),
            )
        )
    for rule in REGION_RULES:
        if rule == OLD_RULE:
            continue
        add(
            Predictor(
                f"self-attention lift, {rule}",
                "merged",
                "corrected",
                "score",
                "self",
                lambda u, r=rule: _max_pairs(u["pairs"], lambda p: p["self_lift"].get(r)),
            )
        )
    found.extend(view_predictors())
    return found


#: Candidate region-free scores per view (see view_scores): (field, readable name, failure, oriented "low").
VIEW_SCORES = (
    ("presence", "presence peak", "missing"),
    ("mass", "presence mass", "missing"),
    ("content_presence", "presence over content words", "missing"),
    ("relative", "relative presence", "missing"),
    ("soft_lift", "soft binding lift", "wrong_colour"),
    ("soft_margin", "soft binding margin", "wrong_colour"),
    ("competition", "colour competition", "wrong_colour"),
    ("colour_presence", "colour presence", "wrong_colour"),
)


def view_predictors() -> list[Predictor]:
    """Each candidate score on each view (low value = failure more likely), and a verdict from it whose threshold
    is chosen on the tune half (the tune quantile with the best Youden J)."""
    found = []
    for field, name, failure in VIEW_SCORES:
        score_family = "presence" if failure == "missing" else "binding (region-free)"
        verdict_family = "neglected" if failure == "missing" else "misbound"
        verdict_name = "neglected" if failure == "missing" else "misbound"
        for view in VIEWS:
            if field == "presence" and view == "all":
                continue  # the shipped presence peak, already in the table

            def value(u, f=field, v=view):
                return _neg((u.get("views") or {}).get(v, {}).get(f))

            label = f"{name} [{view}]"
            found.append(Predictor(label, failure, "corrected", "score", score_family, value))
            found.append(
                Predictor(
                    f"{verdict_name} ({name} < t) [{view}]",
                    failure,
                    "corrected",
                    "verdict",
                    verdict_family,
                    value,
                    threshold="quantile",
                )
            )
    return found


def _gated(unit: dict, min_contrast: float = 0.25) -> list[dict]:
    """The pairs whose two maps both have contrast >= ``min_contrast`` (the scoring leaves the others undefined)."""
    contrasts = [entity["contrast"] for entity in unit["entities"]]
    return [
        pair
        for pair in unit["pairs"]
        if all(contrasts[e] is not None and contrasts[e] >= min_contrast for e in pair["entities"])
    ]


def _flag(value, threshold):
    return None if value is None else float(value >= threshold)


# ---- units and evaluation ----


def units(rows: list[dict], failure: str, variant: str, source: str = "model") -> list[tuple[dict, bool, str]]:
    """``(unit, label, cluster)`` for every judged unit of ``failure`` in ``rows`` of ``variant``."""
    found = []
    for row in rows:
        scores = row["scores"].get(source)
        if row["variant"] != variant or not scores:
            continue
        labels = row["labels"]
        views = scores.get("views") or {}
        if failure == "wrong_colour":
            for index, attribute in enumerate(scores["attributes"]):
                label = labels["wrong_colour"][attribute["entity"]]
                if label is not None:
                    seen = {name: view["attributes"][index] for name, view in views.items()}
                    found.append(({**attribute, "views": seen}, bool(label), row["caption"]))
        elif failure == "missing":
            for index, entity in enumerate(scores["entities"]):
                label = labels["missing"][index]
                if label is not None:
                    seen = {name: view["entities"][index] for name, view in views.items()}
                    found.append(({**entity, "views": seen}, bool(label), row["caption"]))
        elif labels["merged"] is not None and scores["pairs"]:
            unit = {"pairs": scores["pairs"], "entities": scores["entities"]}
            found.append((unit, bool(labels["merged"]), row["caption"]))
    return found


def predictor_values(predictor: Predictor, chosen: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Oriented values (NaN imputed with the median: undefined reads as neutral), labels, clusters, undefined share."""
    raw = [predictor.value(unit) for unit, _, _ in chosen]
    values = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
    undefined = float(np.isnan(values).mean()) if len(values) else float("nan")
    if np.isnan(values).all():
        values = np.zeros_like(values)
    else:
        values = np.where(np.isnan(values), np.nanmedian(values), values)
    labels = np.array([label for _, label, _ in chosen], dtype=bool)
    clusters = np.array([cluster for _, _, cluster in chosen])
    return values, labels, clusters, undefined


def evaluate(rows: list[dict], resamples: int) -> dict:
    """Every predictor's AUROC on the test half (definitions and verdict thresholds chosen on the tune half)."""
    tune = [r for r in rows if r["half"] == "tune"]
    test = [r for r in rows if r["half"] == "test"]
    variants = sorted({r["variant"] for r in rows}, key=lambda v: (v != "none", v))
    result = {"failures": {}, "iou": {}, "counts": {}}
    for variant in variants:
        for failure in FAILURES:
            tune_units = units(tune, failure, variant)
            test_units = units(test, failure, variant)
            table = []
            for predictor in predictors():
                if predictor.failure != failure:
                    continue
                threshold = None
                if predictor.threshold is not None:
                    values, labels, _, _ = predictor_values(predictor, tune_units)
                    # the oriented value is -presence (below) or the overlap itself (at or above)
                    below = predictor.threshold in ("presence", "quantile")
                    raw_scores = -values if below else values
                    grid = VERDICT_GRID
                    if predictor.threshold == "quantile" and len(values):
                        # the tune half's own quantiles: these scores have no fixed range
                        grid = sorted({float(f"{q:.4g}") for q in np.quantile(raw_scores, np.linspace(0.05, 0.95, 19))})
                    threshold = youden_threshold(raw_scores, labels, grid, below) if len(values) else math.nan
                tune_auc = _predict_auc(predictor, tune_units, threshold)
                tune_undefined = predictor_values(predictor, tune_units)[3] if tune_units else math.nan
                test_values, test_labels, clusters, undefined = predictor_values(predictor, test_units)
                if threshold is not None:
                    test_values = _apply_threshold(predictor, test_values, threshold)
                auc = auroc(test_values, test_labels) if len(test_values) else math.nan
                low, high = (
                    bootstrap_auroc(test_values, test_labels, clusters, resamples)
                    if len(test_values)
                    else (math.nan, math.nan)
                )
                table.append(
                    {
                        "predictor": predictor.name,
                        "definition": predictor.definition,
                        "kind": predictor.kind,
                        "family": predictor.family,
                        "threshold": None if threshold is None or math.isnan(threshold) else threshold,
                        "tune_auroc": _round(tune_auc),
                        "auroc": _round(auc),
                        "ci": [_round(low), _round(high)],
                        "undefined": _round(undefined),
                        "tune_undefined": _round(tune_undefined),
                        "units": len(test_units),
                        "failures": int(test_labels.sum()) if len(test_labels) else 0,
                    }
                )
            _mark_chosen(table)
            result["failures"][f"{variant}/{failure}"] = table
            result["counts"][f"{variant}/{failure}"] = {
                "tune_units": len(tune_units),
                "tune_failures": sum(1 for _, label, _ in tune_units if label),
                "test_units": len(test_units),
                "test_failures": sum(1 for _, label, _ in test_units if label),
            }
        if variant != "none":
            result["failures"][f"{variant}/merged (applied maps)"] = _applied_rows(test, variant, resamples)
        result["iou"][variant] = iou_table([r for r in test if r["variant"] == variant], resamples)
        result.setdefault("specificity", {})[variant] = specificity([r for r in rows if r["variant"] == variant])
    return result


def specificity(rows: list[dict]) -> dict:
    """How token-specific the model's cross-attention is (both halves): the mean presence peak of objects the judge
    found and of those it did not, against ``1 / words``, the presence every entity gets when each pixel attends
    to the prompt's words uniformly; and the mean contrast of the entity maps. A presence near the uniform share
    for drawn and missing objects alike means the attention does not say which object is where, and no attention
    score can predict the judge's failures."""
    found, missing, uniform, contrast = [], [], [], []
    for row in rows:
        scores = row["scores"].get("model")
        if not scores or not scores.get("word_count"):
            continue
        for index, entity in enumerate(scores["entities"]):
            label = row["labels"]["missing"][index]
            if label is None or entity["presence"] is None:
                continue
            (missing if label else found).append(entity["presence"])
            uniform.append(1.0 / scores["word_count"])
            if entity["contrast"] is not None:
                contrast.append(entity["contrast"])

    def mean(values):
        return _round(float(np.mean(values))) if values else None

    return {
        "objects": len(found) + len(missing),
        "presence_found": mean(found),
        "presence_missing": mean(missing),
        "uniform_share": mean(uniform),
        "contrast": mean(contrast),
    }


def _apply_threshold(predictor: Predictor, values: np.ndarray, threshold: float) -> np.ndarray:
    if threshold is None or math.isnan(threshold):
        return np.zeros_like(values)
    if predictor.threshold in ("presence", "quantile"):
        return (-values < threshold).astype(np.float64)
    return (values >= threshold).astype(np.float64)


def _predict_auc(predictor: Predictor, chosen: list, threshold) -> float:
    if not chosen:
        return math.nan
    values, labels, _, _ = predictor_values(predictor, chosen)
    if threshold is not None:
        values = _apply_threshold(predictor, values, threshold)
    return auroc(values, labels)


def _mark_chosen(table: list[dict]) -> None:
    """Per (kind, family) among the corrected definitions: the best tune AUROC is the chosen definition."""
    best: dict[tuple[str, str], dict] = {}
    for row in table:
        row["chosen"] = False
        if row["definition"] != "corrected" or row["tune_auroc"] is None:
            continue
        key = (row["kind"], row["family"])
        if key not in best or row["tune_auroc"] > best[key]["tune_auroc"]:
            best[key] = row
    for row in best.values():
        row["chosen"] = True


def _applied_rows(test: list[dict], variant: str, resamples: int) -> list[dict]:
    """Leakage on the applied maps of a modulated run, next to the model's own maps (the circularity check)."""
    rows = []
    for source in ("model", "applied"):
        chosen = units(test, "merged", variant, source)
        for predictor in predictors():
            if predictor.failure != "merged" or predictor.kind != "score" or predictor.family != "overlap":
                continue
            values, labels, clusters, undefined = predictor_values(predictor, chosen)
            defined = [value for value in (predictor.value(u) for u, _, _ in chosen) if value is not None]
            mean = float(np.mean(defined)) if defined else math.nan  # a 0.0 overlap counts, an undefined one not
            rows.append(
                {
                    "predictor": f"{predictor.name} [{source} maps]",
                    "source": source,
                    "mean": _round(mean),
                    "auroc": _round(auroc(values, labels) if len(values) else math.nan),
                    "ci": [_round(v) for v in bootstrap_auroc(values, labels, clusters, resamples)]
                    if len(values)
                    else [None, None],
                    "undefined": _round(undefined),
                    "units": len(chosen),
                }
            )
    return rows


def iou_table(rows: list[dict], resamples: int) -> list[dict]:
    """Per region rule: mean IoU of attention regions with the judge's masks, and of same-area random regions."""
    table = []
    for rule in REGION_RULES:
        ious, chances, clusters = [], [], []
        for row in rows:
            scores = row["scores"].get("model")
            if not scores:
                continue
            for index, entity in enumerate(scores["entities"]):
                if row["labels"]["missing"][index]:
                    continue
                iou, chance = entity["iou"].get(rule), entity["iou_chance"].get(rule)
                if iou is None or chance is None:
                    continue
                ious.append(iou)
                chances.append(chance)
                clusters.append(row["caption"])
        ious_array, chances_array = np.array(ious), np.array(chances)
        difference = ious_array - chances_array
        low, high = bootstrap_mean(difference, np.array(clusters), resamples)
        table.append(
            {
                "rule": rule,
                "objects": len(ious),
                "iou": _round(float(ious_array.mean())) if len(ious) else None,
                "chance": _round(float(chances_array.mean())) if len(ious) else None,
                "difference": _round(float(difference.mean())) if len(ious) else None,
                "ci": [_round(low), _round(high)],
            }
        )
    return table


def _round(value) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 3)


# ---- writing ----


def reading(row: dict) -> str:
    low, high = row["ci"]
    if row["auroc"] is None:
        return "no failures or no successes to compare"
    if low is None:
        return "too few units for an interval"
    if low <= 0.5 <= high:
        return "predicts nothing (interval includes 0.5)"
    if high < 0.5:
        return "predicts the opposite"
    return "predicts" if low >= 0.6 else "predicts weakly"


def markdown(result: dict, meta: dict) -> str:
    lines = [
        f"Run: `{meta['command']}` on {meta['machine']}; model `{meta['model']}`"
        + (f" (weights sha256 {meta['weights_sha256']}...)" if meta.get("weights_sha256") else "")
        + f", {meta['steps']} steps at "
        f"{meta['size']}x{meta['size']}, seeds {', '.join(map(str, meta['seeds']))}, variants "
        f"{', '.join(meta['variants'])}; {meta['prompts']} prompts ({_halves(meta)}, sets {', '.join(SETS)}); "
        f"{meta['images']} images{_partial(meta)}; judge: {meta['judge']}; {meta['seconds']:.0f} s.",
        "",
        "Every AUROC below is on the **test half**; thresholds of verdicts and the chosen definition of each "
        "family (marked *) were picked on the tune half. Interval: 95% bootstrap over prompts. Undefined: share of "
        "units where the score is undefined (counted as neutral, the median).",
        "",
    ]
    for key, table in result["failures"].items():
        if "applied" in key:
            continue
        variant, failure = key.split("/")
        counts = result["counts"][key]
        lines += [
            f"### {FAILURE_NAMES[failure]}, variant `{variant}`",
            "",
            f"Test: {counts['test_units']} units, {counts['test_failures']} failures (tune: {counts['tune_units']}, "
            f"{counts['tune_failures']}).",
            "",
            "| predictor | definition | kind | AUROC | 95% interval | tune AUROC | undefined | reading |",
            "|---|---|---|---|---|---|---|---|",
        ]
        left_out = [row["predictor"] for row in table if _never_defined(row)]
        for row in table:
            if _never_defined(row):
                continue
            name = row["predictor"] + (" *" if row["chosen"] else "")
            if row["threshold"] is not None:
                name += f" (t = {row['threshold']})"
            lines.append(
                f"| {name} | {row['definition']} | {row['kind']} | {_fmt(row['auroc'])} | "
                f"{_fmt(row['ci'][0])}-{_fmt(row['ci'][1])} | {_fmt(row['tune_auroc'])} | {_fmt(row['undefined'])} "
                f"| {reading(row)} |"
            )
        if left_out:
            lines += ["", f"Left out, undefined for every unit of both halves: {', '.join(left_out)}."]
        lines.append("")
    for key, table in result["failures"].items():
        if "applied" not in key:
            continue
        lines += [
            f"### Leakage on the model's own maps and on the applied maps, `{key.split('/')[0]}` (test half)",
            "",
            "| predictor | mean | AUROC for merged objects | 95% interval | undefined |",
            "|---|---|---|---|---|",
        ]
        for row in table:
            lines.append(
                f"| {row['predictor']} | {_fmt(row['mean'])} | {_fmt(row['auroc'])} | "
                f"{_fmt(row['ci'][0])}-{_fmt(row['ci'][1])} | {_fmt(row['undefined'])} |"
            )
        lines.append("")
    for variant, table in result["iou"].items():
        lines += [
            f"### Attention regions against the judge's masks, variant `{variant}` (test half, objects found)",
            "",
            "| region rule | objects | mean IoU | same-area random | difference | 95% interval |",
            "|---|---|---|---|---|---|",
        ]
        for row in table:
            lines.append(
                f"| {row['rule']} | {row['objects']} | {_fmt(row['iou'])} | {_fmt(row['chance'])} | "
                f"{_fmt(row['difference'])} | {_fmt(row['ci'][0])}-{_fmt(row['ci'][1])} |"
            )
        lines.append("")
    specific = {v: t for v, t in (result.get("specificity") or {}).items() if t["objects"]}
    if specific:
        lines += [
            "### How token-specific the model's attention is (both halves)",
            "",
            "Presence: an entity's peak share of a patch's attention to the prompt's words. If every patch attended "
            "to the words uniformly, every entity would get `1 / words` (the uniform share); contrast: "
            "`(peak - floor) / mean` of the entity maps (flat below 0.25).",
            "",
            "| variant | objects | presence, found | presence, missing | uniform share | contrast |",
            "|---|---|---|---|---|---|",
        ]
        for variant, row in specific.items():
            lines.append(
                f"| {variant} | {row['objects']} | {_fmt(row['presence_found'])} | {_fmt(row['presence_missing'])} | "
                f"{_fmt(row['uniform_share'])} | {_fmt(row['contrast'])} |"
            )
        lines.append("")
    lines += targets(result)
    lines += [
        "### Wording of the verdicts",
        "",
        "Each verdict as the diagnosis ships it, measured on the baseline's test half. With `--validation "
        "analysis/validation.json` the run writes these figures where `analysis/verdicts.py` reads them: a verdict "
        "whose interval includes 0.5 then says it is not validated, with its AUROC.",
        "",
        "| verdict | measured as | failure | AUROC | 95% interval | reading |",
        "|---|---|---|---|---|---|",
    ]
    for kind, entry in verdict_evidence(result).items():
        if entry is None:
            lines.append(
                f"| {kind} | {VERDICT_EVIDENCE[kind][1]} | {FAILURE_NAMES[VERDICT_EVIDENCE[kind][0]]} | n/a | n/a | not measured |"
            )
            continue
        lines.append(
            f"| {kind} | {entry['predictor']} | {entry['failure_name']} | {_fmt(entry['auroc'])} | "
            f"{_fmt(entry['ci'][0])}-{_fmt(entry['ci'][1])} | {entry['reading']} |"
        )
    lines.append("")
    return "\n".join(lines)


def portable(arguments: Sequence[str]) -> list[str]:
    """The command line as the docs record it, with no path of this machine: an absolute path inside the
    repository becomes relative to it, any other absolute path its last component (the output folder: ``OUT``)."""
    root = Path(__file__).resolve().parent.parent
    found, previous = [], ""
    for argument in arguments:
        name, equals, value = (
            argument.partition("=") if argument.startswith("--") and "=" in argument else ("", "", argument)
        )
        if Path(value).is_absolute():
            path = Path(value).resolve()
            if path.is_relative_to(root):
                value = str(path.relative_to(root))
            else:
                value = "OUT" if (name or previous) == "--out" else path.name
        found.append(f"{name}{equals}{value}" if equals else value)
        previous = argument
    return found


def _never_defined(row: dict) -> bool:
    """A definition with no value for any unit (e.g. not computed by the run that made the cached images)."""
    return row.get("undefined") == 1.0 and row.get("tune_undefined") in (1.0, None)


def _halves(meta: dict) -> str:
    counts = meta.get("prompts_per_half") or {}
    return ", ".join(f"{counts.get(half, 0)} {half}" for half in HALVES)


def _partial(meta: dict) -> str:
    planned = meta.get("planned")
    return f" of {planned} planned" if planned and planned != meta["images"] else ""


#: Which test-half row (baseline) measures each verdict as the diagnosis ships it (the defaults of
#: analysis.thresholds.Thresholds): the key of analysis.verdicts.VALIDATION -> (failure, predictor name).
VERDICT_EVIDENCE = {
    "misbound": ("wrong_colour", "misbound (lift), spread 0.4"),
    "weak_binding": ("wrong_colour", "own binding lift, spread 0.4"),
    "margin": ("wrong_colour", "KL margin (SynGen symmetric KL)"),
    "neglected": ("missing", "neglected (presence peak < 0.2, as shipped)"),
    "no_pixels": ("missing", "wins no pixels, spread 0.4"),
    "overlap": ("merged", "overlap verdict (gated floor q0.5 overlap >= 0.4, as shipped)"),
    "self_leakage": ("merged", "self-attention lift, spread 0.4"),
}


def evidence_reading(row: dict | None) -> str | None:
    """``"predicts"`` (interval above 0.6 at its low end), ``"weak"`` (above 0.5), ``"nothing"`` (includes 0.5),
    ``"opposite"`` (below 0.5), None when not measurable."""
    if row is None or row.get("auroc") is None or row["ci"][0] is None:
        return None
    low, high = row["ci"]
    if low <= 0.5 <= high:
        return "nothing"
    if high < 0.5:
        return "opposite"
    return "predicts" if low >= 0.6 else "weak"


def verdict_evidence(result: dict) -> dict[str, dict | None]:
    """Per verdict of analysis.verdicts.VALIDATION, its measured validity on the baseline's test half:
    ``{"reading", "failure", "predictor", "auroc", "ci", "units", "failures"}`` or None when not measured."""
    found = {}
    for kind, (failure, name) in VERDICT_EVIDENCE.items():
        row = next((r for r in result["failures"].get(f"none/{failure}", []) if r["predictor"] == name), None)
        reading_of_row = evidence_reading(row)
        if reading_of_row is None:
            found[kind] = None
            continue
        found[kind] = {
            "reading": reading_of_row,
            "failure": failure,
            "failure_name": FAILURE_NAMES[failure],
            "predictor": name,
            "auroc": row["auroc"],
            "ci": row["ci"],
            "units": row["units"],
            "failures": row["failures"],
        }
    return found


def write_validation(path: Path, result: dict, meta: dict) -> None:
    """The file analysis/verdicts.py reads to word each verdict by its measured validity."""
    data = {
        "format": "attnmod.validation/1",
        "about": "benchmarks/score_validity.py: how well each verdict predicted the shapes-world judge's failures "
        "on baseline runs, test half (AUROC, 95% bootstrap interval over prompts); see docs/validity.md",
        "model": meta["model"],
        "weights_sha256": meta.get("weights_sha256"),
        "steps": meta["steps"],
        "size": meta["size"],
        "seeds": meta["seeds"],
        "prompts": meta["prompts_per_half"],
        "images": meta["images"],
        "verdicts": verdict_evidence(result),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def targets(result: dict) -> list[str]:
    """The issue's two targets, on baseline runs, test half."""
    lines = ["### Targets (baseline, test half)", ""]
    checks = [
        (
            "wrong_colour",
            lambda r: r["kind"] == "verdict" and r["family"] == "misbound" and r["chosen"],
            "misbinding verdict predicts wrong colours",
            0.75,
        ),
        (
            "missing",
            lambda r: r["family"] == "presence" and r["chosen"],
            "presence score predicts missing objects",
            0.8,
        ),
    ]
    for failure, pick, text, goal in checks:
        table = result["failures"].get(f"none/{failure}", [])
        row = next((r for r in table if pick(r)), None)
        if row is None or row["auroc"] is None:
            lines.append(f"- {text}: not measurable in this run (no judged failures or successes).")
            continue
        verdict = "met" if row["auroc"] >= goal else "missed"
        lines.append(
            f"- {text} (target AUROC >= {goal}): {row['predictor']} AUROC {row['auroc']:.3f} "
            f"[{_fmt(row['ci'][0])}-{_fmt(row['ci'][1])}]: **{verdict}**."
        )
    lines.append("")
    return lines


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def write_docs(path: Path, text: str) -> None:
    start, end = "<!-- results -->", "<!-- /results -->"
    page = path.read_text(encoding="utf-8") if path.is_file() else f"# Score validity\n\n{start}\n{end}\n"
    if start not in page or end not in page:
        page = page.rstrip() + f"\n\n{start}\n{end}\n"
    head, rest = page.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8")


# ---- command line ----


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="shapes")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument(
        "--test-prompts", type=int, default=300, help="test-half prompts in all (spread over the 4 sets; default 300)"
    )
    parser.add_argument(
        "--tune-prompts", type=int, default=160, help="tune-half prompts in all, where definitions are chosen"
    )
    parser.add_argument("--prompts", type=int, help="prompts per set and half (overrides --test/--tune-prompts)")
    parser.add_argument("--limit", type=int, help="alias of --prompts for a short run")
    parser.add_argument("--halves", default="tune,test", help="which halves to generate (default both)")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--variants", default="none,full")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--size", type=int)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, help="CPU threads of this process (default: attnmod's policy)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", default="runs/score-validity")
    parser.add_argument(
        "--shard", help="K/N: make only the K-th of N equal shares of the images (run N processes, then --merge)"
    )
    parser.add_argument(
        "--merge", "--from-items", dest="merge", action="store_true", help="no model: tabulate the cached images"
    )
    parser.add_argument("--docs", help="write the tables into this page between its <!-- results --> markers")
    parser.add_argument(
        "--validation", help="write the measured validity of each verdict here (analysis/validation.json)"
    )
    parser.add_argument("--no-judge", action="store_true", help="run without the judge (scores only, no AUROC)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny model, 2 prompts per set, 1 seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.model = "tiny" if args.model == "shapes" else args.model
        args.prompts = args.limit or 2
        args.seeds = "0"
        args.steps = args.steps or 2
        args.bootstrap = min(args.bootstrap, 50)
    elif args.limit:
        args.prompts = args.limit
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        print(f"score_validity: --seeds must be comma-separated integers, got {args.seeds!r}", file=sys.stderr)
        return 1
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    halves = [h.strip() for h in args.halves.split(",") if h.strip()]
    if any(h not in HALVES for h in halves) or not halves:
        print(f"score_validity: --halves takes tune and/or test, got {args.halves!r}", file=sys.stderr)
        return 1
    if args.prompts is not None:
        per_set = {half: args.prompts for half in HALVES}
    else:
        per_set = {"test": -(-args.test_prompts // len(SETS)), "tune": -(-args.tune_prompts // len(SETS))}
    per_set = {half: (count if half in halves else 0) for half, count in per_set.items()}
    if min(per_set[h] for h in halves) < 1 or not seeds or not variants:
        print("score_validity: need at least one prompt per set, one seed and one variant", file=sys.stderr)
        return 1
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as error:
        print(f"score_validity: {error}", file=sys.stderr)
        return 1
    if shard and args.merge:
        print("score_validity: --shard makes images and --merge tabulates them: use one or the other", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    planned = plan_items(per_set, seeds, variants)
    judge_name = "none (--no-judge)"
    if not args.merge:
        judge = None if args.no_judge else load_judge(required=not args.quick)
        if judge is not None:
            judge_name = "attnmod.analysis.judge.image.judge_image"
        elif not args.no_judge:
            print("score_validity: judge not available; scores only", file=sys.stderr)
        from attnmod.toolkit.errors import AttnmodError

        mine = shard_of(planned, *shard) if shard else planned
        try:
            run_items(args, mine, out, judge)
        except (AttnmodError, OSError) as error:
            print(f"score_validity: {error}", file=sys.stderr)
            return 1
        if shard:
            print(
                f"score_validity: shard {shard[0] + 1}/{shard[1]} done ({len(mine)} images in {cache_folder(out)}); "
                "when every shard is done, tabulate with --merge",
                file=sys.stderr,
            )
            return 0
    wanted = {item.id for item in planned}
    rows = read_cached(out, wanted)
    if not rows:
        print(f"score_validity: no cached images of this run in {out} (run without --merge first)", file=sys.stderr)
        return 1
    missing = len(wanted) - len(rows)
    if missing:
        print(
            f"score_validity: {missing} of {len(wanted)} planned images are not made yet (a shard still running or "
            "stopped?); tabulating the rest",
            file=sys.stderr,
        )
    with (out / "items.jsonl").open("w", encoding="utf-8") as sink:
        sink.writelines(json.dumps(row) + "\n" for row in rows)
    result = evaluate(rows, args.bootstrap)
    from _machine import machine_description

    settings_path = out / "settings.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8")) if settings_path.is_file() else {}
    halves_counts = {half: len({r["caption"] for r in rows if r["half"] == half}) for half in HALVES}
    meta = {
        "command": "python benchmarks/score_validity.py " + " ".join(portable(sys.argv[1:] if argv is None else argv)),
        "machine": machine_description(),
        "model": settings.get("model", args.model),
        "weights_sha256": settings.get("weights_sha256"),
        "steps": settings.get("steps", args.steps),
        "size": settings.get("size", args.size),
        "seeds": seeds,
        "variants": variants,
        "prompts": len({(r["half"], r["caption"]) for r in rows}),
        "prompts_per_half": halves_counts,
        "prompts_per_set": per_set,
        "images": len(rows),
        "planned": len(wanted),
        "judge": judge_name if not args.merge else "attnmod.analysis.judge.image.judge_image (cached labels)",
        "seconds": time.perf_counter() - started,
        "unmatched": sum(1 for r in rows if not r["entities_match"]),
    }
    (out / "validity.json").write_text(json.dumps({"meta": meta, **result}, indent=1), encoding="utf-8")
    text = markdown(result, meta)
    if args.docs:
        write_docs(Path(args.docs), text)
    if args.validation:
        write_validation(Path(args.validation), result, meta)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
