"""Planted attention records whose scores exercise every part of the scores JSON: two entities that overlap in one
phase, an attribute on the wrong entity, self-attention leaking between regions, a nested pair, a negated entity
(skipped, with a note), applied maps after modulation. ``tests/data/scores/`` holds the JSON the scoring wrote for
them before the scores became typed models (``planted_records.json``); tests/analysis/test_scores.py checks that
the typed models write the same bytes.

Maps are built from halves, quarters and column ramps of an 8x8 grid; per-pixel token distributions as captured
(the start token takes what the words leave).
"""

from __future__ import annotations

import dataclasses

import torch
from attnmod.toolkit.modulation.record import AttentionRecord, Phase
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree

from planted import CAT_DOG, MAN_HAT

SIZE = 8
COUNT = 2  # contributions per phase: the sums hold COUNT x the mean map


def region(columns: slice, rows: slice = slice(None)) -> torch.Tensor:
    planted = torch.zeros(SIZE, SIZE)
    planted[rows, columns] = 1.0
    return planted


def ramp() -> torch.Tensor:
    """Column ramp 1..8 (left to right), the same on every row."""
    return torch.arange(1, SIZE + 1, dtype=torch.float32).repeat(SIZE, 1)


def _distributions(words: dict[int, torch.Tensor]) -> torch.Tensor:
    maps = torch.zeros(77, SIZE, SIZE)
    for position, values in words.items():
        maps[position] = values
    maps[0] = 1.0 - maps[1:].sum(0)
    return maps


def _self_rows(left_share: float) -> torch.Tensor:
    """Self-attention at 4x4 (16 positions): a pixel of the left half puts ``left_share`` of its row on the left
    half, the rest on the right; a right pixel attends to the right half only."""
    left = region(slice(0, 4))[::2, ::2].flatten() > 0
    left_row = torch.where(left, left_share / left.sum(), (1 - left_share) / (~left).sum())
    right_row = torch.where(left, 0.0, 1.0 / (~left).sum())
    return torch.where(left[:, None], left_row[None, :], right_row[None, :])


def cat_dog_record(applied: bool = False) -> AttentionRecord:
    """'a red cat and a blue dog': the cat in the top-left quarter, the dog in the bottom-right one; late in
    denoising the dog spreads into the cat's quarter (overlap), 'blue' lies mostly on the cat (misbound), 'red' too;
    the cat's self-attention leaks into the right half. ``applied``: a masked copy of the late maps as the applied maps."""
    record = AttentionRecord(phases=(Phase("early", 0.0, 0.5), Phase("late", 0.5, 1.0)), tree=CAT_DOG)
    for phase in ("early", "late"):
        top_left, bottom_right = region(slice(0, 4), slice(0, 4)), region(slice(4, 8), slice(4, 8))
        cat = 0.3 * top_left * ramp() / 4
        dog = 0.4 * bottom_right + (0.2 * region(slice(2, 4), slice(0, 4)) if phase == "late" else 0.0)
        red = 0.06 * top_left + 0.02 * bottom_right
        blue = 0.05 * top_left + 0.01 * bottom_right
        words = {1: torch.full((SIZE, SIZE), 0.02), 2: red, 3: cat, 4: torch.full((SIZE, SIZE), 0.02), 6: blue, 7: dog}
        maps = _distributions(words)
        record.add("cross", f"{SIZE}x{SIZE}", phase, maps * COUNT, count=COUNT)
        record.add("self", "4x4", phase, _self_rows(0.6 if phase == "late" else 0.9) * COUNT, count=COUNT)
        if applied and phase == "late":
            masked = maps.clone()
            masked[7] = masked[7] * region(slice(4, 8))
            record.applied[record.key("cross", f"{SIZE}x{SIZE}", phase)] = masked * COUNT
    record.token_ids = [49406, 320, 736, 2368, 537, 320, 1746, 1929, 49407] + [49407] * 68
    return record


def man_hat_record() -> AttentionRecord:
    """'a man with a red hat': the hat (nested in the man) in the man's top-left quarter, 'red' on the hat."""
    record = AttentionRecord(phases=(Phase("all", 0.0, 1.0),), tree=MAN_HAT)
    man = 0.4 * region(slice(0, 4))
    hat = 0.3 * region(slice(0, 2), slice(0, 4))
    red = 0.1 * region(slice(0, 2), slice(0, 4)) + 0.02 * region(slice(4, 8))
    maps = _distributions({1: torch.full((SIZE, SIZE), 0.02), 2: man, 5: red, 6: hat})
    record.add("cross", f"{SIZE}x{SIZE}", "all", maps * COUNT, count=COUNT)
    return record


def negated_record() -> AttentionRecord:
    """'a red cat and a blue dog' where the prompt negates the dog: the dog is skipped with a note."""
    cat, dog = CAT_DOG.entities
    tree = dataclasses.replace(CAT_DOG, entities=(cat, dataclasses.replace(dog, absent=True)))
    record = cat_dog_record()
    record.tree = tree
    return record


def one_attribute_past_the_limit() -> AttentionRecord:
    """An attribute whose tokens lie past the captured sequence: skipped with a reason."""
    cat = Entity("cat", "cat", (6, 9), (Attribute("red", (2, 5), (), truncated=True),), None, (3,))
    tree = PromptTree("a red cat", (cat,))
    record = AttentionRecord(phases=(Phase("all", 0.0, 1.0),), tree=tree)
    maps = _distributions({3: 0.3 * region(slice(0, 4))})
    record.add("cross", f"{SIZE}x{SIZE}", "all", maps * COUNT, count=COUNT)
    return record


def planted_records() -> dict[str, tuple[AttentionRecord, dict, str]]:
    """name -> (record, thresholds settings, map source) of every planted case."""
    return {
        "cat_dog": (cat_dog_record(), {}, "model"),
        "cat_dog_strict": (cat_dog_record(), {"overlap": 0.05, "binding": 1.6, "margin": 0.5}, "model"),
        "cat_dog_applied": (cat_dog_record(applied=True), {}, "applied"),
        "man_hat": (man_hat_record(), {}, "model"),
        "negated": (negated_record(), {}, "model"),
        "truncated_attribute": (one_attribute_past_the_limit(), {}, "model"),
    }
