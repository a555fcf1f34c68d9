"""Causal information-flow probes: which text positions a pipeline's image depends on.

Attention maps show where a word is looked at, not whether the image needs it. The probe answers the second
question by intervention: it encodes the prompt once, edits the text states at chosen positions, hands the edited
``prompt_embeds`` (and ``pooled_prompt_embeds`` on SDXL) to the user's own diffusers pipeline, and keeps the images
and final latents of every edit next to the unedited ones of the same seeds. The pipeline itself, its attention
processors and its encoders are never changed; the negative branch of classifier-free guidance always gets the
unedited negative states.

Edits (:class:`Edit`), each on both text encoders' features or, on SDXL, on one encoder's features alone:

* ``word:TEXT``: a word of the prompt tree (a head noun or an attribute, all its sub-word tokens) takes the empty
  prompt's states at the same positions (which are padding states of the empty prompt);
* ``other-words`` (the positions between start and end that belong to no tree word: articles, "and", relations),
  ``all-words`` (every position between start and end), ``start``, ``end``, ``padding`` (every position after the
  end token): the same replacement over those positions;
* ``pooled``: SDXL's pooled embedding (``text_embeds``) taken from the empty prompt;
* ``swap:A:B``: the two words' positions take the states the encoder gives them in the prompt with the two words
  exchanged in the text ("a red circle and a blue square" -> "a blue circle and a red square"), every other
  position (the nouns that read their colour, the padding) keeping the original states. The default set swaps the
  attributes nearest the nouns of the first two entities that have one, and the first two entities' nouns (words
  with different token counts are not swapped). A literal exchange of the two positions' own states would test
  nothing: cross-attention sees the text states as a set of keys and values, with no position of its own, so
  permuting two of them leaves every attention output unchanged (measured on the shapes model: pixels changed by
  at most 2e-5).

:func:`run_probe` generates ``(edits + 1) x seeds`` images (one extra unedited seed when only one seed is given, for
the normalisation; see :mod:`attnmod.analysis.information_flow`) in batches of seeds and edits, each image from its
own CPU generator, so an image does not depend on what else is in its batch.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import AttnmodError
from .prompt.tokenizer import CLIP_CONTEXT_LENGTH
from .prompt.tree import PromptTree

MAX_TOKENS = CLIP_CONTEXT_LENGTH  # the text encoders' context, start and end tokens included
#: Models whose information-flow figures were measured (benchmarks/information_flow.py --figures): name -> file.
KNOWN_FIGURES = {"shapes": Path(__file__).parent / "data" / "shapes" / "information_flow.json"}
ENCODERS = ("both", "1", "2")
# Names an ``edits`` list may use besides ``word:TEXT`` and ``swap:A:B``.
POSITION_EDITS = ("other-words", "all-words", "start", "end", "padding")
EDIT_GROUPS = ("default", "words", "swaps", "pooled", *POSITION_EDITS)
DEFAULT_EDITS = ("words", "other-words", "all-words", "start", "end", "padding", "pooled", "swaps")


@dataclasses.dataclass(frozen=True)
class Word:
    """A word of the prompt tree: ``role`` is "noun" or "attribute"; ``entity`` indexes the tree's entities."""

    text: str
    role: str
    entity: int
    positions: tuple[int, ...]
    span: tuple[int, int]  # characters in the prompt, end exclusive

    def to_json(self) -> dict:
        return {"text": self.text, "role": self.role, "entity": self.entity, "positions": list(self.positions)}


@dataclasses.dataclass(frozen=True)
class Edit:
    """One change of the text states.

    ``kind``: "replace" (``positions`` take the empty prompt's states), "swap" (``positions`` and ``other`` take
    the states of ``source``, the prompt with the two words exchanged) or "pooled" (the pooled embedding from the
    empty prompt). ``group`` names what was edited
    ("noun", "attribute", "other-words", "all-words", "start", "end", "padding", "pooled", "swap-attributes",
    "swap-nouns", "swap-words"); ``encoder`` is "both", "1" or "2"; ``entities`` the tree entities a word or swap
    belongs to (for judging); ``words`` the words' texts."""

    key: str
    kind: str
    group: str
    positions: tuple[int, ...] = ()
    other: tuple[int, ...] = ()
    encoder: str = "both"
    entities: tuple[int, ...] = ()
    words: tuple[str, ...] = ()
    source: str | None = None

    @property
    def label(self) -> str:
        names = {
            "other-words": "words outside the tree",
            "all-words": "all words",
            "start": "start token",
            "end": "end token",
            "padding": "padding",
            "pooled": "pooled embedding",
        }
        if self.kind == "swap":
            text = f"swap {self.words[0]!r} and {self.words[1]!r}"
        elif self.group in ("noun", "attribute"):
            text = f"{self.group} {self.words[0]!r}"
        else:
            text = names.get(self.group, self.group)
        return text if self.encoder == "both" else f"{text} (encoder {self.encoder})"

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "group": self.group,
            "positions": list(self.positions),
            "other": list(self.other),
            "encoder": self.encoder,
            "entities": list(self.entities),
            "words": list(self.words),
            "source": self.source,
        }


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


# ---- the prompt's words and the edits ----


def tree_words(tree: PromptTree) -> list[Word]:
    """The tree's head nouns and attributes with their token positions, in prompt order (truncated words and words
    without positions left out)."""
    words = []
    for index, entity in enumerate(tree.entities):
        if entity.tokens and not entity.truncated:
            words.append(Word(entity.text, "noun", index, tuple(entity.tokens), tuple(entity.span)))
        for attribute in entity.attributes:
            if attribute.tokens and not attribute.truncated:
                words.append(Word(attribute.text, "attribute", index, tuple(attribute.tokens), tuple(attribute.span)))
    return sorted(words, key=lambda word: (word.span, word.positions))


def _word_keys(words: Sequence[Word]) -> dict[str, Word]:
    """``word:TEXT`` for each word (lower case), ``word:TEXT#2`` for a second word of the same text, and so on."""
    keys: dict[str, Word] = {}
    for word in words:
        base = f"word:{word.text.lower()}"
        key, count = base, 1
        while key in keys:
            count += 1
            key = f"{base}#{count}"
        keys[key] = word
    return keys


def _nearest_attribute(words: Sequence[Word], entity: int) -> Word | None:
    """The entity's attribute nearest its noun (English puts the colour after the size: "a small red circle")."""
    attributes = [w for w in words if w.role == "attribute" and w.entity == entity]
    return attributes[-1] if attributes else None


def swapped_text(prompt: str, first: Word, second: Word) -> str:
    """``prompt`` with the two words' characters exchanged."""
    (a, b), (c, d) = sorted([first.span, second.span])
    return prompt[:a] + prompt[c:d] + prompt[b:c] + prompt[a:b] + prompt[d:]


def _swap(prompt: str, first: Word, second: Word, group: str, encoder: str, key: str | None = None) -> Edit:
    return Edit(
        key=key or f"swap:{first.text.lower()}:{second.text.lower()}",
        kind="swap",
        group=group,
        positions=first.positions,
        other=second.positions,
        encoder=encoder,
        entities=(first.entity, second.entity),
        words=(first.text, second.text),
        source=swapped_text(prompt, first, second),
    )


def _swappable(first: Word, second: Word) -> bool:
    return first.text.lower() != second.text.lower() and len(first.positions) == len(second.positions)


def default_swaps(prompt: str, words: Sequence[Word], encoder: str = "both") -> list[Edit]:
    """The attribute swap (the attributes nearest the nouns of the first two entities that have one) and the noun
    swap (the first two entities' nouns), each when the two words differ and have as many tokens."""
    swaps = []
    entities = sorted({w.entity for w in words})
    with_attribute = [a for a in (_nearest_attribute(words, e) for e in entities) if a is not None]
    if len(with_attribute) >= 2 and _swappable(with_attribute[0], with_attribute[1]):
        swaps.append(_swap(prompt, with_attribute[0], with_attribute[1], "swap-attributes", encoder))
    nouns = [w for w in words if w.role == "noun"]
    if len(nouns) >= 2 and _swappable(nouns[0], nouns[1]):
        swaps.append(_swap(prompt, nouns[0], nouns[1], "swap-nouns", encoder))
    return swaps


def check_edit_names(edits: str | Sequence[str], encoders: str | Sequence[str] = ("both",)) -> None:
    """Raise :class:`AttnmodError` for an edit or encoder name that no prompt could make valid (checked before a
    model loads; words are checked against the prompt's tree by :func:`plan_edits`)."""
    names = [part.strip() for part in edits.split(",")] if isinstance(edits, str) else [str(e).strip() for e in edits]
    names = [name for name in names if name]
    if not names:
        raise AttnmodError("no edit given")
    encoder_list = [part.strip() for part in encoders.split(",")] if isinstance(encoders, str) else list(encoders)
    for encoder in encoder_list:
        if encoder not in ENCODERS:
            raise AttnmodError(f"unknown encoder {encoder!r}; encoders: {', '.join(ENCODERS)}")
    for name in names:
        base, _, pinned = name.partition("@")
        if pinned and pinned not in ENCODERS:
            raise AttnmodError(f"unknown encoder {pinned!r} in edit {name!r}; encoders: {', '.join(ENCODERS)}")
        word = base.startswith("word:") and len(base) > len("word:")
        swap = base.startswith("swap:") and base.count(":") == 2
        if not (base in EDIT_GROUPS or word or swap):
            raise AttnmodError(f"unknown edit {name!r}; edits: {', '.join(EDIT_GROUPS)}, word:TEXT, swap:WORD:WORD")


def _suffix(key: str, encoder: str) -> str:
    return key if encoder == "both" else f"{key}@{encoder}"


def _word_edit(key: str, word: Word, encoder: str) -> Edit:
    return Edit(
        key=_suffix(key, encoder),
        kind="replace",
        group=word.role,
        positions=word.positions,
        encoder=encoder,
        entities=(word.entity,),
        words=(word.text,),
    )


def plan_edits(
    tree: PromptTree,
    token_count: int,
    edits: str | Sequence[str] = DEFAULT_EDITS,
    encoders: str | Sequence[str] = ("both",),
    pooled: bool = True,
) -> list[Edit]:
    """The edits named by ``edits`` (names of :data:`EDIT_GROUPS`, ``word:TEXT``, ``swap:A:B``; a comma-separated
    string or a list), for each of ``encoders`` ("both", "1", "2"), in that order without repeats. A name followed
    by ``@1``, ``@2`` or ``@both`` is made for that encoder only (``default,padding@1,padding@2``).

    ``token_count``: the prompt's tokens with start and end. ``pooled``: whether the pipeline has a pooled embedding
    (SDXL); the pooled edit is made once, whatever the encoders (it comes from the second encoder alone). Raises
    :class:`AttnmodError` for an unknown name, a word the tree does not hold, or an edit that names no position."""
    names = [part.strip() for part in edits.split(",")] if isinstance(edits, str) else [str(e).strip() for e in edits]
    names = [name for name in names if name]
    if not names:
        raise AttnmodError("no edit given")
    encoder_list = [part.strip() for part in encoders.split(",")] if isinstance(encoders, str) else list(encoders)
    for encoder in encoder_list:
        if encoder not in ENCODERS:
            raise AttnmodError(f"unknown encoder {encoder!r}; encoders: {', '.join(ENCODERS)}")
    if not encoder_list:
        raise AttnmodError("no encoder given")
    expanded: list[tuple[str, str]] = []  # (name, encoder): every encoder asked for, or the one a name pins
    for encoder in encoder_list:
        for name in names:
            name, _, pinned = name.partition("@")
            if pinned and pinned not in ENCODERS:
                raise AttnmodError(
                    f"unknown encoder {pinned!r} in edit {name}@{pinned}; encoders: {', '.join(ENCODERS)}"
                )
            if pinned and encoder != encoder_list[0]:
                continue
            for each in DEFAULT_EDITS if name == "default" else [name]:
                expanded.append((each, pinned or encoder))
    words = tree_words(tree)
    keys = _word_keys(words)
    known = ", ".join(keys) or "none"
    end = token_count - 1
    planned: list[Edit] = []
    for name, encoder in expanded:
        if name == "words":
            for key, word in keys.items():
                planned.append(_word_edit(key, word, encoder))
        elif name.startswith("word:"):
            word = keys.get(name.lower())
            if word is None:
                raise AttnmodError(f"edit {name!r} names a word that is not in the prompt's tree; words: {known}")
            planned.append(_word_edit(name.lower(), word, encoder))
        elif name == "swaps":
            for swap in default_swaps(tree.prompt, words, encoder):
                planned.append(dataclasses.replace(swap, key=_suffix(swap.key, encoder)))
        elif name.startswith("swap:"):
            parts = name.lower().split(":")
            if len(parts) != 3:
                raise AttnmodError(f"edit {name!r} is not swap:WORD:WORD")
            found = [keys.get(f"word:{part}") for part in parts[1:]]
            for part, word in zip(parts[1:], found, strict=True):
                if word is None:
                    raise AttnmodError(
                        f"edit {name!r} names {part!r}, which is not a word of the prompt's tree; words: {known}"
                    )
            if found[0] is found[1]:
                raise AttnmodError(f"edit {name!r} swaps a word with itself")
            if len(found[0].positions) != len(found[1].positions):
                raise AttnmodError(
                    f"edit {name!r}: the two words have {len(found[0].positions)} and {len(found[1].positions)} "
                    "tokens; only words of as many tokens can be swapped in place"
                )
            group = "swap-nouns" if found[0].role == found[1].role == "noun" else "swap-words"
            if found[0].role == found[1].role == "attribute":
                group = "swap-attributes"
            planned.append(_swap(tree.prompt, found[0], found[1], group, encoder, key=_suffix(name.lower(), encoder)))
        elif name == "pooled":
            if pooled and encoder in ("both", "2") and not any(e.kind == "pooled" for e in planned):
                planned.append(Edit("pooled", "pooled", "pooled"))
        elif name in POSITION_EDITS:
            in_tree = {p for word in words for p in word.positions}
            positions = {
                "start": (0,),
                "end": (end,),
                "padding": tuple(range(token_count, MAX_TOKENS)),
                "all-words": tuple(range(1, end)),
                "other-words": tuple(p for p in range(1, end) if p not in in_tree),
            }[name]
            if positions:
                planned.append(Edit(_suffix(name, encoder), "replace", name, positions, (), encoder))
        else:
            raise AttnmodError(f"unknown edit {name!r}; edits: {', '.join(EDIT_GROUPS)}, word:TEXT, swap:WORD:WORD")
    unique: dict[str, Edit] = {}
    for edit in planned:
        unique.setdefault(edit.key, edit)
    if not unique:
        raise AttnmodError("the edits asked for name no position of this prompt")
    return list(unique.values())


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
