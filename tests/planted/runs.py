"""A fake of the model stack for the run machinery's tests: deterministic images from prompt, seed and variant,
a score of the prompt's length, and the files the writer expects; a prompt containing 'explode' fails on purpose."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
from attnmod.analysis.scores import SCORES_FORMAT, PhaseScores, RecordScores
from attnmod.toolkit.prompt.tree import PromptTree
from PIL import Image

CONFIGS = {"none": {"variant": "none"}, "full": {"variant": "full"}}


class FakeGeneration:
    """What the writer needs of a GenerationResult: an image and what save_fn writes."""

    def __init__(self, prompt: str, seed: int, variant: str):
        digest = hashlib.sha256(f"{prompt}|{seed}|{variant}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        self.prompt, self.seed, self.variant = prompt, seed, variant
        self.image = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        self.tree = PromptTree(prompt)
        self.record = {"prompt": prompt}
        self.warnings = []


def fake_generate(model, prompts, config, seeds, trees, calls=None):
    if calls is not None:
        calls.append(list(prompts))
    if any("explode" in p for p in prompts):
        raise RuntimeError("planted failure for a prompt containing 'explode'")
    return [FakeGeneration(p, s, config["variant"]) for p, s in zip(prompts, seeds, strict=True)]


def fake_scores(leakage: float) -> RecordScores:
    """Scores with no entity scored and a planted overall leakage."""
    phase = PhaseScores(
        resolution="8x8",
        background_share=1.0,
        entities=(),
        overlaps=(),
        nested=(),
        leakage=leakage,
        leakage_pair=None,
        self_leakage_pairs=None,
        self_leakage_max=None,
        bindings=(),
        binding_mean=None,
        misbound=0,
    )
    return RecordScores(
        format=SCORES_FORMAT, maps="model", scored_entities=(), attributes=(), skipped=[], phases={}, overall=phase
    )


def fake_score(record, tree):
    # binding NaN (a prompt with no attributes) must reach the JSON files as null.
    leakage = len(tree.prompt) / 100
    return fake_scores(leakage), {"leakage": leakage, "binding": math.nan}


def fake_save(generation, folder: Path) -> None:
    generation.image.save(folder / "image.png")
    (folder / "attention.safetensors").write_bytes(f"{generation.prompt}|{generation.seed}".encode())
    (folder / "attention.json").write_text(json.dumps({"prompt": generation.prompt}), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"variant": generation.variant}), encoding="utf-8")
