"""Attention maps to draw: per entity and attribute, read out of an ``AttentionRecord``.

The maps drawn are the maps the analysis scores (:mod:`attnmod.analysis.metrics`): the record's mean
cross-attention ``sum / count`` per resolution for one phase (or over all phases: the phases' sums over the sum of
their counts, every captured (layer, step) contribution weighted equally), resolutions combined at the coarsest
(``combine_resolutions``), and a label's map ``group_map``: each of its tokens' maps normalised to sum 1, averaged,
renormalised. So a drawn map sums to 1 over pixels, whatever the raw attention mass of its tokens.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from ..toolkit.modulation.record import AttentionRecord
from ..toolkit.prompt.tree import PromptTree


@dataclasses.dataclass(frozen=True)
class TokenLabel:
    """Something to draw a map for: an entity's head noun or one of its attributes."""

    label: str
    kind: str  # "entity" or "attribute"
    tokens: tuple[int, ...]
    entity: int  # index of the entity in the tree


def token_labels(tree: PromptTree, include_attributes: bool = True) -> list[TokenLabel]:
    """Entities (labelled by their text) and their attributes (``"red (car)"``), in prompt order, with unique labels."""
    labels: list[TokenLabel] = []
    seen: dict[str, int] = {}

    def unique(text: str) -> str:
        seen[text] = seen.get(text, 0) + 1
        return text if seen[text] == 1 else f"{text} #{seen[text]}"

    for index, entity in enumerate(tree.entities):
        labels.append(TokenLabel(unique(entity.text), "entity", tuple(entity.tokens), index))
        if include_attributes:
            for attribute in entity.attributes:
                labels.append(
                    TokenLabel(unique(f"{attribute.text} ({entity.text})"), "attribute", tuple(attribute.tokens), index)
                )
    return labels


def mean_cross_map(record: AttentionRecord, resolution: str, phase: str | None):
    """``[tokens, H, W]`` float32 tensor: one phase's mean map at ``resolution``, or with ``phase=None`` the mean
    over all phases; ``None`` when nothing was captured there."""
    mean = record.phase_mean("cross", resolution, phase)
    return None if mean is None else mean.float()


def token_maps(record: AttentionRecord, phase: str | None = None, resolution: str | None = None):
    """``[tokens, H, W]``: the cross maps of ``phase`` (None: all phases), every captured resolution combined at
    the coarsest as the analysis does (or only ``resolution``); None when nothing was captured."""
    from ..analysis.metrics import combine_resolutions

    resolutions = [resolution] if resolution else record.resolutions("cross")
    found = [m for m in (mean_cross_map(record, r, phase) for r in resolutions) if m is not None]
    return combine_resolutions(found) if found else None


def label_maps(
    record: AttentionRecord,
    labels: list[TokenLabel],
    phase: str | None = None,
    resolution: str | None = None,
) -> dict[str, np.ndarray | None]:
    """Map ``[H, W]`` (sums to 1) per label, the analysis' ``group_map`` of the label's token positions; None for a
    label with no position inside the record or when nothing was captured."""
    from ..analysis.metrics import group_map

    maps = token_maps(record, phase, resolution)
    result: dict[str, np.ndarray | None] = {}
    for item in labels:
        positions = [t for t in item.tokens if maps is not None and 0 <= t < maps.shape[0]]
        result[item.label] = group_map(maps, positions).numpy() if positions else None
    return result


def phase_label_maps(
    record: AttentionRecord, labels: list[TokenLabel], resolution: str | None = None
) -> dict[str, dict[str, np.ndarray | None]]:
    """``{phase: {label: map}}`` for every phase of the record."""
    return {phase: label_maps(record, labels, phase, resolution) for phase in record.phase_names()}


def load_image(path: str | Path, max_side: int = 256) -> np.ndarray | None:
    """An image as uint8 ``[H, W, 3]``, shrunk to at most ``max_side`` pixels (a report needs no more);
    None if the file is missing or unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if max(image.size) > max_side:
                image.thumbnail((max_side, max_side))
            return np.asarray(image)
    except (OSError, UnidentifiedImageError):
        return None


def read_json(path: str | Path) -> dict | None:
    """A JSON object from a file, or None when it is missing or not a JSON object (a report shows what exists)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
