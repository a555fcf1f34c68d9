"""Generate images with the phase-wise attention modulation, capture attention, and save what reproduces a run.

``generate`` runs a batch of (possibly different) prompts in one pipeline call. Each item has its own
``torch.Generator`` seeded with its seed (created on the CPU, so the initial noise is the same on every device), so an
item's result does not depend on what else is in the batch. Masking, reweighting and the capture touch only the
conditional half of classifier-free guidance; the temperature both halves or the conditional one (``halves``; see
:mod:`attnmod.toolkit.modulation.processors`).

Saved folder (``save_generation``): ``image.png``; ``parse.json`` (the PromptTree); ``config.json`` with everything
needed to reproduce it: ``{"prompt", "seed", "variant", "config": ModulationConfig JSON, "model", "family",
"steps", "guidance", "height", "width", "device", "dtype", "modulated", "warnings", "seconds",
"versions": {"attnmod", "torch", "diffusers", "transformers"}}``; and with capture ``attention.safetensors`` plus
``attention.json`` (see :mod:`attnmod.toolkit.modulation.record`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AttnmodError
from .modulation.config import ModulationConfig
from .modulation.record import AttentionRecord
from .prompt.tokenizer import CLIP_CONTEXT_LENGTH
from .prompt.tree import PromptTree
from .run_files import (
    ATTENTION_METADATA_FILE,
    ATTENTION_TENSOR_FILE,
    CONFIG_FILE,
    IMAGE_FILE,
    PARSE_FILE,
    clean_numbers,
    png_bytes,
    software_versions,
    write_atomic,
    write_json_atomic,
)

if TYPE_CHECKING:
    from .modulation.capture import AttentionCapture
    from .modulation.context import ModulationContext
    from .modulation.plan import SamplePlan


@dataclasses.dataclass
class GenerationResult:
    """One generated item.

    ``pixels`` is the decoded image as float32 ``[H, W, 3]`` in [0, 1] before 8-bit quantisation (for exact
    comparisons); ``settings`` holds model, steps, guidance, size, device, dtype and whether modulation was applied.
    ``seconds`` is the batch's wall time divided by the number of items.
    """

    prompt: str
    seed: int
    image: object  # PIL.Image.Image
    tree: PromptTree
    record: AttentionRecord | None
    config: ModulationConfig
    seconds: float
    warnings: list[str]
    pixels: object = None  # numpy.ndarray
    settings: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class PreparedRun:
    """What one pipeline call needs before it runs (see :func:`prepare_run`).

    Per sample: the token ids padded to the CLIP context, the real token count (start and end included), the token
    texts and the :class:`~attnmod.toolkit.modulation.plan.SamplePlan`; then the modulation context (the capture
    among its observers) and the capture itself (None without capture).
    """

    token_ids: list[list[int]]
    token_counts: list[int]
    token_texts: list[list[str]]
    samples: list[SamplePlan]
    context: ModulationContext
    capture: AttentionCapture | None

    @property
    def needs_processors(self) -> bool:
        """Whether anything must be installed: an observer, or a modulation with entities to act on."""
        context = self.context
        return bool(context.observers) or (context.config.modulates and context.plan.any_active)


def prepare_run(
    pipe,
    prompts: list[str],
    trees: list[PromptTree],
    config: ModulationConfig,
    *,
    capture: bool,
    steps: int = 1,
    latent_size: tuple[int, int] | None = None,
    observers: Sequence = (),
) -> PreparedRun:
    """Tokenise ``prompts`` (one per image) with the pipeline's first tokenizer, plan each sample from its tree,
    create the capture when asked and the modulation context (progress read from the pipeline's scheduler).

    The one set-up of a run, shared by :func:`generate` and the API's ``modulate``/``trace`` blocks; ``observers``
    come before the capture.
    """
    from .modulation.capture import AttentionCapture
    from .modulation.context import DenoisingProgress, ModulationContext
    from .modulation.install import attention_levels
    from .modulation.plan import ModulationPlan, plan_sample

    tokenizer = pipe.tokenizer
    encoded = tokenizer(prompts, padding="max_length", max_length=CLIP_CONTEXT_LENGTH, truncation=True)
    token_ids = [list(ids) for ids in encoded["input_ids"]]
    token_counts = [int(sum(mask)) for mask in encoded["attention_mask"]]
    token_texts = [tokenizer.convert_ids_to_tokens(ids) for ids in token_ids]
    samples = [plan_sample(tree, count, config.masking.nested) for tree, count in zip(trees, token_counts, strict=True)]
    recorder = None
    observers = list(observers)
    if capture:
        levels = attention_levels(pipe.unet)
        recorder = AttentionCapture(
            len(prompts),
            config.capture.phases,
            self_attention=config.capture.self_attention,
            self_level=max(levels.values(), default=0),
        )
        observers.append(recorder)
    context = ModulationContext(
        config=config,
        plan=ModulationPlan.build(samples, device=pipe.unet.device),
        progress=DenoisingProgress(steps=steps, scheduler=pipe.scheduler),
        observers=observers,
        latent_size=latent_size,
    )
    return PreparedRun(token_ids, token_counts, token_texts, samples, context, recorder)


def check_size(model, height: int, width: int) -> None:
    """Raise AttnmodError unless ``height`` and ``width`` are positive multiples of what ``model`` can take:
    ``8 x 2^(down blocks - 1)`` (the UNet halves the latent that often), and at least the VAE's scale factor."""
    pipe = model.pipeline
    multiple = 8 * (2 ** max(len(pipe.unet.down_blocks) - 1, 0))
    multiple = max(multiple, int(getattr(pipe, "vae_scale_factor", 8)))
    if height < multiple or width < multiple or height % multiple or width % multiple:
        raise AttnmodError(
            f"height and width must be positive multiples of {multiple} for this model, got {height}x{width}"
        )


def resolve_config(
    variant: str | None = None, config_path: str | None = None, overrides=(), default: str = "full"
) -> ModulationConfig:
    """The configuration a command asked for: a preset name or a JSON/YAML file (not both), then overrides."""
    if variant and config_path:
        raise AttnmodError("give either a variant or a config file, not both")
    config = ModulationConfig.load(config_path) if config_path else ModulationConfig.from_variant(variant or default)
    return config.with_overrides(list(overrides)) if overrides else config


def _prompt_trees(model, prompts: list[str], trees) -> list[PromptTree]:
    if trees is None:
        try:
            from .prompt.parse import parse_prompts
        except ImportError as error:
            raise AttnmodError(
                "prompt parsing is not available in this installation; pass trees= with PromptTree objects"
            ) from error
        return list(parse_prompts(prompts, tokenizers=model.tokenizers))
    trees = list(trees)
    if len(trees) != len(prompts):
        raise AttnmodError(f"{len(trees)} prompt trees given for {len(prompts)} prompts: pass one tree per prompt")
    return trees


def _item_warnings(tree: PromptTree, token_count: int, config: ModulationConfig, active: bool) -> list[str]:
    """One warning per distinct problem: the tree's own notes, then what they mean for this generation (never
    one line per entity, and never the prompt itself, which can be thousands of characters)."""
    no_entities = "no entities found"
    warnings = [w for w in tree.warnings if w != no_entities]
    if config.modulates and not active:
        warnings.append(f"{no_entities} in the prompt: generated without modulation")
    elif no_entities in tree.warnings:
        warnings.append(no_entities)
    said = any("the text encoder keeps" in warning for warning in tree.warnings)  # the parser's own note
    if (tree.truncated or token_count >= CLIP_CONTEXT_LENGTH) and not said:
        warnings.append("the prompt is longer than the text encoders' 77 tokens: words past the limit are not seen")
    cut_entities = [entity.text for entity in tree.entities if entity.truncated]
    cut_attributes = [
        f"{attribute.text} ({entity.text})"
        for entity in tree.entities
        if not entity.truncated
        for attribute in entity.attributes
        if attribute.truncated
    ]
    if cut_entities or cut_attributes:
        counts = []
        if cut_entities:
            counts.append(f"{len(cut_entities)} {'entity' if len(cut_entities) == 1 else 'entities'}")
        if cut_attributes:
            counts.append(f"{len(cut_attributes)} attribute{'' if len(cut_attributes) == 1 else 's'}")
        distinct = list(dict.fromkeys(cut_entities + cut_attributes))
        named = ", ".join(repr(text) for text in distinct[:3]) + (
            f" and {len(distinct) - 3} more" if len(distinct) > 3 else ""
        )
        warnings.append(
            f"{' and '.join(counts)} reach past the 77-token limit; their tokens there are not modulated: {named}"
        )
    return list(dict.fromkeys(warnings))


def generate(
    model,
    prompts: str | list[str],
    config: ModulationConfig,
    seeds: int | list[int] = 0,
    steps: int = 4,
    guidance: float = 5.0,
    height: int = 128,
    width: int = 128,
    capture: bool = True,
    trees: list[PromptTree] | None = None,
    progress: bool = False,
    observers: Sequence = (),
) -> list[GenerationResult]:
    """Generate one image per prompt with ``config``'s modulation; with ``capture``, one AttentionRecord per item.

    ``seeds``: one per prompt, or one int used for every item. ``trees``: PromptTrees aligned to the model's
    tokenizers (default: parsed with :func:`attnmod.toolkit.prompt.parse.parse_prompts`). A prompt with no entities runs
    unmodulated, with a warning in its result. ``guidance <= 1`` switches classifier-free guidance off.
    ``observers``: extra :class:`~attnmod.toolkit.modulation.context.AttentionObserver` objects that see every attention
    call's conditional probabilities (probes, custom statistics); they install the processors even without capture.
    """
    import torch
    from tqdm.auto import tqdm

    from .modulation.install import modulated_attention

    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not prompts:
        raise AttnmodError("no prompt given")
    if not all(isinstance(p, str) for p in prompts):
        raise AttnmodError("prompts must be strings")
    seed_list = [seeds] * len(prompts) if isinstance(seeds, int) else list(seeds)
    if len(seed_list) != len(prompts):
        raise AttnmodError(f"{len(seed_list)} seeds given for {len(prompts)} prompts: pass one seed per prompt")
    if steps < 1:
        raise AttnmodError(f"steps must be at least 1, got {steps}")
    if not math.isfinite(guidance):
        raise AttnmodError(f"guidance must be a finite number, got {guidance}")
    pipe = model.pipeline
    training_steps = getattr(pipe.scheduler.config, "num_train_timesteps", None)
    if training_steps is not None and steps > training_steps:
        raise AttnmodError(
            f"steps must be at most {training_steps} for this model (its scheduler's training steps), got {steps}"
        )
    check_size(model, height, width)
    trees = _prompt_trees(model, prompts, trees)

    scale = int(getattr(pipe, "vae_scale_factor", 8))
    run = prepare_run(
        pipe,
        prompts,
        trees,
        config,
        capture=capture,
        steps=steps,
        latent_size=(height // scale, width // scale),
        observers=observers,
    )
    samples, recorder = run.samples, run.capture
    item_warnings = [
        _item_warnings(tree, count, config, sample.active)
        for tree, count, sample in zip(trees, run.token_counts, samples, strict=True)
    ]
    generators = [torch.Generator(device="cpu").manual_seed(int(seed)) for seed in seed_list]
    arguments = dict(
        prompt=prompts,
        num_inference_steps=steps,
        guidance_scale=guidance,
        height=height,
        width=width,
        generator=generators,
        output_type="np",
    )
    bar = tqdm(total=steps, desc="denoising", unit="step", disable=not progress, leave=False)
    if progress:

        def advance(pipeline, step, timestep, tensors):
            bar.update(1)
            return {}

        arguments["callback_on_step_end"] = advance

    installed = modulated_attention(pipe.unet, run.context) if run.needs_processors else contextlib.nullcontext()
    start = time.perf_counter()
    try:
        with installed:
            output = pipe(**arguments)
    finally:
        bar.close()
    seconds = (time.perf_counter() - start) / len(prompts)

    pixels = output.images
    images = pipe.numpy_to_pil(pixels)
    settings_common = {
        "model": model.name,
        "family": model.family,
        "steps": steps,
        "guidance": guidance,
        "height": height,
        "width": width,
        "device": model.device,
        "dtype": model.dtype,
    }
    records = [None] * len(prompts)
    if recorder is not None:
        metadata = [
            {
                "prompt": prompt,
                "seed": int(seed),
                "variant": config.variant,
                "modulated": config.modulates and sample.active,
                **settings_common,
            }
            for prompt, seed, sample in zip(prompts, seed_list, samples, strict=True)
        ]
        records = recorder.records(run.token_ids, run.token_texts, trees, metadata)
    results = []
    for index, prompt in enumerate(prompts):
        settings = dict(settings_common, modulated=config.modulates and samples[index].active)
        results.append(
            GenerationResult(
                prompt=prompt,
                seed=int(seed_list[index]),
                image=images[index],
                tree=trees[index],
                record=records[index],
                config=config,
                seconds=seconds,
                warnings=item_warnings[index],
                pixels=pixels[index],
                settings=settings,
            )
        )
    return results


def save_generation(result: GenerationResult, folder: str | Path) -> dict[str, Path]:
    """Write image.png, parse.json, config.json and (when captured) attention.safetensors + attention.json, each
    atomically (never through a planted link). Without a record, attention files an earlier run left in the folder
    are removed, so that they cannot be read as this image's attention."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AttnmodError(f"cannot create output folder {str(folder)!r}: {error}") from error
    written = {"image": folder / IMAGE_FILE, "parse": folder / PARSE_FILE, "config": folder / CONFIG_FILE}
    if result.record is None:
        for stale in (ATTENTION_TENSOR_FILE, ATTENTION_METADATA_FILE):
            (folder / stale).unlink(missing_ok=True)
    write_atomic(written["image"], png_bytes(result.image))
    write_json_atomic(written["parse"], result.tree.to_json(), indent=2)
    payload = {
        "prompt": result.prompt,
        "seed": result.seed,
        "variant": result.config.variant,
        "config": result.config.to_json(),
        **result.settings,
        "warnings": list(result.warnings),
        "seconds": result.seconds,
        "versions": software_versions(),
    }
    write_json_atomic(written["config"], clean_numbers(payload), indent=2)
    if result.record is not None:
        written["attention"], written["attention_metadata"] = result.record.save(folder)
    return written
