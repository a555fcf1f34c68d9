"""Settings of an ablation run checked before anything heavy is imported or loaded.

This module imports neither torch nor Lightning, so ``attnmod ablate`` rejects a bad ``--seeds``, ``--variants``,
size or ``--out`` in well under a second instead of after the 5-10 s it takes to import the model stack.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ..toolkit.errors import AttnmodError

# The embedded models' size multiple: 8 (the VAE's factor) x 2 per UNet down-sampling level
# (toolkit.generation checks the same rule on the loaded pipeline; tests/cli/test_cli_guards.py compares the two).
EMBEDDED_SIZE_MULTIPLES = {"tiny": 16, "tiny-sd": 16, "sdxl-shaped": 32}
# The embedded models' VAE factor, the resolution levels that hold cross-attention and the default image side (checked
# against the loaded models by tests/toolkit/modulation/test_modulation_guidance_pipeline.py): excite's and syngen's map resolution is
# checked against them before anything loads.
EMBEDDED_CROSS_ATTENTION = {
    "tiny": (2, (1,), 128),
    "tiny-sd": (2, (1,), 128),
    "shapes": (4, (0, 1), 64),
    "sdxl-shaped": (8, (1, 2), 1024),
}
# Every diffusers latent pipeline needs at least the VAE's factor.
MINIMUM_SIZE_MULTIPLE = 8


def parse_seeds(text: str) -> list[int]:
    """``"0-3"`` -> [0, 1, 2, 3]; ``"0,5,7-8"`` -> [0, 5, 7, 8] (order kept, duplicates dropped)."""
    seeds: list[int] = []
    seen: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise AttnmodError(f"bad seed list {text!r}: use numbers and ranges such as 0-3 or 0,5,7-8")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise AttnmodError(f"bad seed range {part!r}: the end is below the start")
        if last >= 2**63:
            raise AttnmodError(f"seed {last} is too large (seeds are below 2**63)")
        if last - first >= 1_000_000:
            raise AttnmodError(f"seed range {part!r} holds more than a million seeds")
        for seed in range(first, last + 1):
            if seed not in seen:
                seen.add(seed)
                seeds.append(seed)
    return seeds


def parse_variants(text: str | Sequence[str]) -> list[str]:
    """Comma-separated variant names, each checked against the modulation presets (``a+b`` combinations too)."""
    from ..toolkit.modulation.config import ModulationConfig

    names = [v.strip() for v in text.split(",")] if isinstance(text, str) else [str(v).strip() for v in text]
    names = [name for name in names if name]
    if not names:
        raise AttnmodError("no variant given: use e.g. --variants none,full")
    for name in names:
        ModulationConfig.from_variant(name)  # raises AttnmodError naming the bad part
    return list(dict.fromkeys(names))


def size_multiple(model: str) -> int:
    """The multiple that heights and widths must be for ``model``, as far as it is known without loading it."""
    return EMBEDDED_SIZE_MULTIPLES.get(model, MINIMUM_SIZE_MULTIPLE)


#: Models whose scheduler is known by name: the built-in ones, all on SDXL's 1000-step training schedule.
EMBEDDED_MODELS = ("tiny", "tiny-sd", "sdxl-shaped", "shapes")


def max_steps(model: str) -> int | None:
    """The most denoising steps ``model`` can take (its scheduler's training steps: more would repeat timesteps
    and put every attention call in one phase), as far as it is known without loading it; None otherwise."""
    if model not in EMBEDDED_MODELS:
        return None
    from ..toolkit.models.schedulers import SDXL_SCHEDULE

    return int(SDXL_SCHEDULE["num_train_timesteps"])


def check_generation_settings(
    model: str, steps: int | None, height: int | None, width: int | None, guidance: float | None = None
) -> None:
    """Steps between 1 and the model's training steps (see :func:`max_steps`); height and width positive multiples
    of the model's size multiple (see ``size_multiple``); guidance a finite number.

    For a model that is not embedded only the VAE's factor 8 is known here; the full rule (and the step limit) is
    checked once the model is loaded, before the first item.
    """
    if steps is not None and steps < 1:
        raise AttnmodError(f"--steps must be at least 1, got {steps}")
    limit = max_steps(model)
    if steps is not None and limit is not None and steps > limit:
        raise AttnmodError(
            f"--steps must be at most {limit} for model {model} (its scheduler's training steps), got {steps}"
        )
    if guidance is not None and not math.isfinite(guidance):
        raise AttnmodError(f"--guidance must be a finite number, got {guidance}")
    multiple = size_multiple(model)
    for name, value in (("--height", height), ("--width", width)):
        if value is not None and (value < multiple or value % multiple):
            raise AttnmodError(f"{name} must be a positive multiple of {multiple} for model {model}, got {value}")


def parse_devices(text: str) -> int | str:
    """Lightning's ``devices``: a count (``2``), ``auto``, ``-1`` (all) or a list of device indices (``0,1``);
    anything else is one clear error here, not a Lightning TypeError after the run folder exists."""
    value = str(text).strip()
    if value.isdigit():
        count = int(value)
        if count < 1:
            raise AttnmodError(f"--devices must be at least 1, got {text!r}")
        return count
    if value in ("auto", "-1"):
        return value
    if re.fullmatch(r"\d+(\s*,\s*\d+)*\s*,?", value):
        return value
    raise AttnmodError(f"--devices {text!r}: use a count (2), auto, -1 (all) or device indices (0,1)")


def check_guidance_settings(model: str, configs, height: int | None, width: int | None) -> None:
    """An excite or syngen ``resolution`` that an embedded model has no cross-attention maps of at this size: one
    AttnmodError line before the model loads. ``configs``: one ModulationConfig or several. Other models are checked
    when their first guided step starts (the same message)."""
    from ..toolkit.modulation.config import GUIDANCE_PARTS, select_map_level

    if model not in EMBEDDED_CROSS_ATTENTION:
        return
    factor, levels, side = EMBEDDED_CROSS_ATTENTION[model]
    latent = ((height or side) // factor, (width or side) // factor)
    for config in configs if isinstance(configs, (list, tuple)) else [configs]:
        for part in GUIDANCE_PARTS:
            section = getattr(config, part)
            if section.enabled:
                select_map_level(section.resolution, levels, latent, part)
