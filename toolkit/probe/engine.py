"""The probe's engine: encoding the prompt, editing the text states, generating every edit's images."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import AttnmodError
from ..prompt.tree import PromptTree
from .edits import DEFAULT_EDITS, MAX_TOKENS, Edit, Word, plan_edits, tree_words

#: Models whose information-flow figures were measured (benchmarks/information_flow.py --figures): name -> file.
KNOWN_FIGURES = {"shapes": Path(__file__).parent.parent / "data" / "shapes" / "information_flow.json"}


@dataclasses.dataclass
class TextStates:
    """A prompt's encoded text states and the empty prompt's, as the pipeline would compute them.

    ``embeds`` ``[77, D]`` (SDXL: the two encoders' penultimate states side by side, ``slices`` says which features
    belong to which encoder), ``pooled`` ``[P]`` or None (SD 1.x), ``negative_*`` the unconditional branch (never
    edited), ``empty_*`` the empty prompt's states (what an edit puts in), ``token_count`` the prompt's tokens with
    start and end (the end token sits at ``token_count - 1``)."""

    embeds: object  # torch.Tensor
    pooled: object | None
    negative_embeds: object
    negative_pooled: object | None
    empty_embeds: object
    empty_pooled: object | None
    slices: dict[str, slice]
    token_count: int
    sources: dict = dataclasses.field(default_factory=dict)  # swapped prompt text -> its embeds [77, D]

    @property
    def family(self) -> str:
        return "sdxl" if self.pooled is not None else "sd"


@dataclasses.dataclass
class ProbeImages:
    """What the probe generated: ``images[0]`` and ``latents[0]`` are the unedited prompt, ``images[k]`` the
    ``k``-th edit's, each ``[seeds, ...]``: images float32 ``[H, W, 3]`` in [0, 1], latents the final latents
    ``[C, h, w]`` before decoding. ``extra_image``/``extra_latent``: the unedited prompt at one more seed, present
    only when a single seed was probed (the normalisation needs two). ``generations`` counts every image made,
    ``seconds`` their wall time."""

    prompt: str
    tree: PromptTree
    seeds: list[int]
    edits: list[Edit]
    images: np.ndarray
    latents: np.ndarray
    words: list[Word]
    token_count: int
    settings: dict
    generations: int
    seconds: float
    extra_image: np.ndarray | None = None
    extra_latent: np.ndarray | None = None
    extra_seed: int | None = None


# ---- encoding and editing the text states ----


def has_text_encoders(pipe) -> bool:
    return any(getattr(pipe, name, None) is not None for name in ("text_encoder", "text_encoder_2"))


def token_count(pipe, prompt: str) -> int:
    """The prompt's tokens with start and end under the pipeline's first tokenizer, untruncated."""
    tokenizer = getattr(pipe, "tokenizer", None) or getattr(pipe, "tokenizer_2", None)
    return len(tokenizer(prompt, truncation=False)["input_ids"])


def checked_token_count(pipe, prompt: str) -> int:
    """:func:`token_count`, after checking that the pipeline has text encoders and that the prompt fits in
    :data:`MAX_TOKENS` (the probe needs its end token); :class:`AttnmodError` otherwise."""
    if not has_text_encoders(pipe) or not hasattr(pipe, "encode_prompt"):
        raise AttnmodError("the pipeline has no text encoders: the probe edits the states they compute")
    count = token_count(pipe, prompt)
    if count > MAX_TOKENS:
        raise AttnmodError(
            f"the prompt is {count} tokens with start and end, more than the text encoders' {MAX_TOKENS}: the probe "
            "needs its end token and the tokenizer would cut it off; shorten the prompt"
        )
    return count


def encode_states(pipe, prompt: str, sources: Sequence[str] = ()) -> TextStates:
    """Encode ``prompt``, the empty prompt and the negative branch with the pipeline's own ``encode_prompt``, and
    each of ``sources`` (the prompts swaps take their states from; each must have as many tokens as ``prompt``)."""
    import torch

    count = checked_token_count(pipe, prompt)
    device = getattr(pipe, "_execution_device", None) or pipe.unet.device
    with torch.no_grad():
        encoded = pipe.encode_prompt(
            prompt=prompt, device=device, num_images_per_prompt=1, do_classifier_free_guidance=True
        )
        empty = pipe.encode_prompt(prompt="", device=device, num_images_per_prompt=1, do_classifier_free_guidance=True)
        encoded_sources = {}
        for source in dict.fromkeys(sources):
            if token_count(pipe, source) != count:
                raise AttnmodError(f"the swapped prompt {source!r} has another token count than the prompt")
            encoded_sources[source] = pipe.encode_prompt(
                prompt=source, device=device, num_images_per_prompt=1, do_classifier_free_guidance=False
            )[0][0]
    if len(encoded) == 4:  # SDXL: embeds, negative, pooled, negative pooled
        embeds, negative, pooled, negative_pooled = encoded
        empty_embeds, empty_pooled = empty[0], empty[2]
    else:
        embeds, negative = encoded[:2]
        pooled = negative_pooled = empty_pooled = None
        empty_embeds = empty[0]
    width = int(embeds.shape[-1])
    first = getattr(pipe, "text_encoder", None)
    second = getattr(pipe, "text_encoder_2", None)
    if first is not None and second is not None:
        split = int(first.config.hidden_size)
        slices = {"1": slice(0, split), "2": slice(split, width)}
    else:
        slices = {"1" if first is not None else "2": slice(0, width)}
    slices["both"] = slice(0, width)

    def one(tensor):
        return None if tensor is None else tensor[0].detach().clone()

    return TextStates(
        embeds=one(embeds),
        pooled=one(pooled),
        negative_embeds=one(negative),
        negative_pooled=one(negative_pooled),
        empty_embeds=one(empty_embeds),
        empty_pooled=one(empty_pooled),
        slices=slices,
        token_count=count,
        sources={text: states.detach().clone() for text, states in encoded_sources.items()},
    )


def apply_edit(states: TextStates, edit: Edit | None):
    """``(embeds [77, D], pooled [P] or None)`` with ``edit`` applied to copies of the prompt's states (None: the
    unedited states). Raises :class:`AttnmodError` for an encoder this pipeline lacks."""
    embeds = states.embeds.clone()
    pooled = None if states.pooled is None else states.pooled.clone()
    if edit is None:
        return embeds, pooled
    if edit.kind == "pooled":
        if pooled is None:
            raise AttnmodError("this pipeline has no pooled text embedding (SD 1.x): the pooled edit does not apply")
        return embeds, states.empty_pooled.clone()
    features = states.slices.get(edit.encoder)
    if features is None:
        raise AttnmodError(f"this pipeline has no text encoder {edit.encoder}; encoders: {', '.join(states.slices)}")
    if edit.kind == "replace":
        rows = list(edit.positions)
        embeds[rows, features] = states.empty_embeds[rows, features]
    elif edit.kind == "swap":
        rows = list(edit.positions) + list(edit.other)
        embeds[rows, features] = states.sources[edit.source][rows, features]
    else:
        raise AttnmodError(f"unknown edit kind {edit.kind!r}")
    return embeds, pooled


# ---- generating ----


def _generate(pipe, states: TextStates, batch, steps, guidance, height, width):
    """One pipeline call for ``batch`` = [(edit or None, seed)]: float images ``[B, H, W, 3]`` and final latents."""
    import torch

    pairs = [apply_edit(states, edit) for edit, _ in batch]
    embeds = torch.stack([p[0] for p in pairs])
    size = len(batch)
    arguments = dict(
        prompt_embeds=embeds,
        negative_prompt_embeds=states.negative_embeds.unsqueeze(0).expand(size, -1, -1).clone(),
        num_inference_steps=steps,
        guidance_scale=guidance,
        height=height,
        width=width,
        generator=[torch.Generator(device="cpu").manual_seed(int(seed)) for _, seed in batch],
        output_type="np",
    )
    if states.pooled is not None:
        arguments["pooled_prompt_embeds"] = torch.stack([p[1] for p in pairs])
        arguments["negative_pooled_prompt_embeds"] = states.negative_pooled.unsqueeze(0).expand(size, -1).clone()
    final = {}

    def keep_latents(pipeline, step, timestep, tensors):
        final["latents"] = tensors["latents"]
        return {}

    arguments["callback_on_step_end"] = keep_latents
    arguments["callback_on_step_end_tensor_inputs"] = ["latents"]
    with torch.no_grad():
        output = pipe(**arguments)
    images = np.asarray(output.images, dtype=np.float32)
    latents = final["latents"].detach().float().cpu().numpy()
    return images, latents


def run_probe(
    pipe,
    prompt: str,
    tree: PromptTree,
    seeds: Sequence[int] = (0, 1),
    edits: str | Sequence[str] = DEFAULT_EDITS,
    encoders: str | Sequence[str] = ("both",),
    steps: int = 25,
    guidance: float = 5.0,
    height: int = 64,
    width: int = 64,
    batch_size: int = 8,
    progress: bool = False,
) -> ProbeImages:
    """Generate ``prompt`` unedited and under each edit for every seed; see the module docstring.

    ``tree``: the prompt's :class:`PromptTree` aligned to the pipeline's tokenizers (the words come from it).
    ``batch_size``: images per pipeline call (seeds of one edit stay together). ``guidance <= 1`` switches
    classifier-free guidance off. Returns :class:`ProbeImages`; the pipeline is left as it was."""
    from tqdm.auto import tqdm

    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise AttnmodError("no seed given")
    if len(set(seeds)) != len(seeds):
        raise AttnmodError(f"seeds repeat: {seeds}")
    if steps < 1:
        raise AttnmodError(f"steps must be at least 1, got {steps}")
    if batch_size < 1:
        raise AttnmodError(f"batch size must be at least 1, got {batch_size}")
    count = checked_token_count(pipe, prompt)
    pooled = getattr(pipe, "text_encoder_2", None) is not None
    planned = plan_edits(tree, count, edits, encoders, pooled=pooled)
    states = encode_states(pipe, prompt, [edit.source for edit in planned if edit.source])
    for edit in planned:
        if edit.kind != "pooled" and edit.encoder not in states.slices:
            raise AttnmodError(
                f"edit {edit.key!r}: this pipeline has no text encoder {edit.encoder} "
                f"(it has {', '.join(k for k in states.slices if k != 'both')})"
            )
    jobs: list[tuple[int, Edit | None, int]] = [
        (index, edit, seed) for index, edit in enumerate([None, *planned]) for seed in seeds
    ]
    extra_seed = None
    if len(seeds) == 1:
        extra_seed = seeds[0] + 1
        jobs.append((-1, None, extra_seed))
    images: dict[tuple[int, int], np.ndarray] = {}
    latents: dict[tuple[int, int], np.ndarray] = {}
    bar = tqdm(total=len(jobs), desc="probe", unit="image", disable=not progress, leave=False)
    start = time.perf_counter()
    try:
        for offset in range(0, len(jobs), batch_size):
            chunk = jobs[offset : offset + batch_size]
            batch_images, batch_latents = _generate(
                pipe, states, [(edit, seed) for _, edit, seed in chunk], steps, guidance, height, width
            )
            for (index, _, seed), image, latent in zip(chunk, batch_images, batch_latents, strict=True):
                images[(index, seed)] = image
                latents[(index, seed)] = latent
            bar.update(len(chunk))
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    indices = range(len(planned) + 1)
    return ProbeImages(
        prompt=prompt,
        tree=tree,
        seeds=seeds,
        edits=planned,
        images=np.stack([np.stack([images[(i, s)] for s in seeds]) for i in indices]),
        latents=np.stack([np.stack([latents[(i, s)] for s in seeds]) for i in indices]),
        words=tree_words(tree),
        token_count=states.token_count,
        settings={
            "steps": int(steps),
            "guidance": float(guidance),
            "height": int(height),
            "width": int(width),
            "family": states.family,
            "encoders": [k for k in states.slices if k != "both"],
            "batch_size": int(batch_size),
        },
        generations=len(jobs),
        seconds=seconds,
        extra_image=images.get((-1, extra_seed)) if extra_seed is not None else None,
        extra_latent=latents.get((-1, extra_seed)) if extra_seed is not None else None,
        extra_seed=extra_seed,
    )


def known_figures(model_name: str) -> dict | None:
    """The recorded information-flow figures of a built-in model (see :data:`KNOWN_FIGURES`), or None."""
    path = KNOWN_FIGURES.get(model_name)
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
