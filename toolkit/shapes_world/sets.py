"""Named prompt sets (seen/held-out, 1-3 objects, tune/test halves that never share a caption)."""

from __future__ import annotations

import hashlib
import random

import numpy as np

from .render import render_scene
from .sampling import sample_scene
from .scenes import Scene

# ---- named prompt sets ----

SET_FORMS = {1: ("single",), 2: ("pair", "relation"), 3: ("triple",)}
PARTS = ("tune", "test")


def _stable_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha1("/".join(map(str, parts)).encode()).digest()[:8], "big")


def _caption_part(caption: str) -> str:
    """Which half a caption belongs to: a stable hash, so tune and test never share a caption."""
    return PARTS[_stable_seed("part", caption) % 2]


def parse_set_name(name: str) -> tuple[str, str, str | None]:
    """``"seen-2/test"`` -> ("seen", "2", "test"); kinds: seen-1..3, heldout-1..3, nested, count."""
    base, _, part = name.partition("/")
    if part and part not in PARTS:
        raise ValueError(f"unknown half {part!r} in shapes set {name!r}; use /tune or /test")
    if base in ("nested", "count"):
        return "seen", base, part or None
    combos, _, objects = base.partition("-")
    if combos not in ("seen", "heldout") or objects not in ("1", "2", "3"):
        raise ValueError(
            f"unknown shapes set {name!r}; sets are seen-1, seen-2, seen-3, heldout-1, heldout-2, heldout-3, "
            "nested, count, each optionally with /tune or /test"
        )
    return combos, objects, part or None


def prompt_set(name: str, count: int, seed: int = 0) -> list[Scene]:
    """``count`` scenes of a named set with distinct captions, the same for the same (name, count, seed).

    Each scene's layout is drawn from its own stable seed, so a set's first k scenes do not change when
    ``count`` grows.
    """
    combos, objects, part = parse_set_name(name)
    forms = (objects,) if objects in ("nested", "count") else SET_FORMS[int(objects)]
    scenes: list[Scene] = []
    seen_captions: set[str] = set()
    attempt = last_new = 0
    while len(scenes) < count:
        # A set holds finitely many captions: once draws stop finding new ones (many times more draws than
        # captions found so far), it is exhausted, however large ``count`` is.
        exhausted = attempt - last_new > max(2000, 10 * len(scenes))
        if exhausted or attempt > 50 * count + 1000:
            raise ValueError(
                f"shapes set {name!r} holds {len(scenes)} distinct captions, fewer than the {count} asked for: "
                f"ask for at most {len(scenes)}"
            )
        rng = random.Random(_stable_seed(name, seed, attempt))
        attempt += 1
        scene = sample_scene(rng, forms[attempt % len(forms)], combos)
        if scene.caption in seen_captions or (part and _caption_part(scene.caption) != part):
            continue
        seen_captions.add(scene.caption)
        scenes.append(scene)
        last_new = attempt
    return scenes


def training_batch(
    rng: random.Random, size: int, drop_caption: float = 0.1, form_weights: dict[str, float] | None = None
) -> tuple[np.ndarray, list[str]]:
    """A training batch of seen-combination scenes: ``(images uint8 [B, H, W, 3], captions)``; a share
    ``drop_caption`` of the captions is empty (for classifier-free guidance). ``form_weights``: the mixture of
    caption forms (default :data:`FORM_WEIGHTS`)."""
    images, captions = [], []
    for _ in range(size):
        scene = sample_scene(rng, None, "seen", form_weights=form_weights)
        image, _ = render_scene(scene)
        images.append(image)
        captions.append("" if rng.random() < drop_caption else scene.caption)
    return np.stack(images), captions
