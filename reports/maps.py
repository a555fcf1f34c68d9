"""Attention maps to draw: per entity and attribute, read out of an ``AttentionRecord`` (no scoring here).

A label's map is the mean, over the label's token positions, of the record's mean cross-attention map
``sum / count`` at one resolution and phase (or over all phases: the sum of the phases' sums divided by the sum
of their counts, i.e. every captured (layer, step) contribution weighted equally).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from ..toolkit.attention_record import AttentionRecord, parse_resolution
from ..toolkit.prompt_tree import PromptTree

# The resolution drawn by default: the finest one whose side is at most this (SDXL at 1024 px: 32x32, the
# resolution where object layout is clearest); below that, the finest captured.
PREFERRED_SIDE = 32


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


def choose_resolution(record: AttentionRecord, kind: str = "cross") -> str | None:
    """The resolution drawn by default (see ``PREFERRED_SIDE``), or None if nothing of ``kind`` was captured."""
    found = record.resolutions(kind)
    if not found:
        return None
    fitting = [r for r in found if max(parse_resolution(r)) <= PREFERRED_SIDE]
    return fitting[-1] if fitting else found[0]


def mean_cross_map(record: AttentionRecord, resolution: str, phase: str | None):
    """``[tokens, H, W]`` float32 numpy: one phase's mean map, or with ``phase=None`` the mean over all phases;
    ``None`` when nothing was captured there."""
    if phase is not None:
        mean = record.mean("cross", resolution, phase)
        return None if mean is None else mean.float().numpy()
    total, count = None, 0
    for name in record.phase_names():
        key = record.key("cross", resolution, name)
        if key in record.sums and record.counts.get(key):
            total = record.sums[key].float() if total is None else total + record.sums[key].float()
            count += record.counts[key]
    return None if total is None else (total / count).numpy()


def label_maps(
    record: AttentionRecord,
    labels: list[TokenLabel],
    phase: str | None = None,
    resolution: str | None = None,
) -> dict[str, np.ndarray | None]:
    """Map ``[H, W]`` per label: the mean over the label's token positions (None: no tokens or not captured)."""
    resolution = resolution or choose_resolution(record)
    mean = mean_cross_map(record, resolution, phase) if resolution else None
    result: dict[str, np.ndarray | None] = {}
    for item in labels:
        positions = [t for t in item.tokens if mean is not None and 0 <= t < mean.shape[0]]
        result[item.label] = mean[positions].mean(axis=0) if positions else None
    return result


def phase_label_maps(
    record: AttentionRecord, labels: list[TokenLabel], resolution: str | None = None
) -> dict[str, dict[str, np.ndarray | None]]:
    """``{phase: {label: map}}`` for every phase of the record."""
    resolution = resolution or choose_resolution(record)
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
