"""Attend-and-Excite and SynGen: losses on cross-attention maps, and the latent optimisation that lowers them.

Both methods change the *latent*, not the attention: at some denoising steps, before the ordinary UNet call, the UNet
is run once more on the conditional latent with gradients, a loss is read from its cross-attention maps, and the
latent takes a gradient step ``x <- x - alpha grad_x L``; then the step goes on as usual from the changed latent.

* **Attend-and-Excite** (Chefer et al., "Attend-and-Excite: Attention-Based Semantic Guidance for Text-to-Image
  Diffusion Models", SIGGRAPH 2023): every subject noun should own at least one patch. Per patch, the maps of the
  prompt's word tokens (start, end and padding left out) are re-normalised with a sharpened softmax, each subject's
  map is smoothed with a small Gaussian, and the loss is the worst subject's shortfall of its peak from 1
  (:func:`excite_loss`). At a few set steps the step is repeated until every peak passes a threshold
  (iterative refinement).
* **SynGen** (Rassin et al., "Linguistic Binding in Diffusion Models: Enhancing Attribute Correspondence through
  Attention Map Alignment", NeurIPS 2023): each attribute's map, as a distribution over patches, should match its own
  noun's (positive loss) and differ from every word outside that noun's phrase (negative loss), both measured by the
  symmetric Kullback-Leibler divergence (:func:`syngen_loss`).

The subjects and the attribute-noun pairs come from the prompt tree (:func:`guidance_targets`): one subject per
entity (its head-noun tokens), one pair per attribute of an entity, so repeated words and nested entities keep their
own token positions.

Constants (defaults of :class:`~attnmod.toolkit.modulation.config.ExciteConfig` and ``SynGenConfig``) and where
they come from; "code" is the authors' reference implementation as published with the paper (for A&E, also
diffusers' ``StableDiffusionAttendAndExcitePipeline``, which reproduces it):

======================  ===========================================  ==========================================
constant                value                                        source
======================  ===========================================  ==========================================
window                  first 25 of 50 steps -> progress [0, 0.5)    A&E paper and code (``max_iter_to_alter``);
                                                                     SynGen code (``i < 25`` of 50 steps)
maps                    cross-attention, conditional half, mean      both codes (A&E's ``AttentionStore``,
                        over heads and the layers of one resolution  reused by SynGen)
resolution              16x16 on SD 1.x at 512 px = image side / 32  both papers; diffusers' default
                                                                     ``attn_res = ceil(width / 32)``, 32x32 on
                                                                     SDXL at 1024 px
softmax scale           100, over word tokens (no start/end/padding) A&E code (``attention_for_text *= 100``,
                                                                     ``1:last_idx``); paper: "ignore <sot>"
smoothing               Gaussian, kernel 3, sigma 0.5, reflect pad   A&E paper and code (``GaussianSmoothing``)
thresholds              {0: 0.05, 10: 0.5, 20: 0.8} of 50 steps      A&E paper and code
                        -> progress 0, 0.2, 0.4
refinement              at most 20 extra steps                       A&E code (``max_refinement_steps=20``)
A&E step size           20 x sqrt(1 - 0.5 i / (N - 1)), step i of N  A&E code (``scale_factor=20``,
                                                                     ``scale_range=(1.0, 0.5)`` linspace, sqrt)
SynGen step size        20, constant                                 SynGen code (``syngen_step_size=20.0``)
SynGen distance         (KL(P||Q) + KL(Q||P)) / 2 over patches       SynGen paper (eq. 1) and code
======================  ===========================================  ==========================================

Where this differs from the reference code, and why:

* The gradient step is taken on the UNet's *input* ``x = scale_model_input(z, t)`` and carried back to the
  scheduler's latent ``z`` (``z' = z + (x' - x) / s`` with ``x = s z``). For the DDIM/PNDM schedulers the papers
  used, ``s = 1`` and this is their update exactly; for Euler-type schedulers (SDXL, the shapes model), whose latent
  has standard deviation ``sqrt(sigma^2 + 1)``, a step on ``z`` itself would be ``s^2`` (about 200 at the first
  step) times smaller relative to the latent.
* Refinement stops on the loss of the latest latent; the reference code tests the loss measured before its latest
  update (one UNet call more per refinement, never a different stopping rule by more than one step).
* A subject of several tokens ("traffic light", or a word CLIP splits) uses the mean of its tokens' maps; the
  reference codes take one hand-given token per subject.
* The Gaussian is ``exp(-d^2 / (2 sigma^2))``. The A&E code's kernel is ``exp(-(d / (2 sigma))^2)``, a Gaussian of
  standard deviation ``sigma sqrt(2)``; ``excite.smoothing=0.7071`` reproduces its weights.

Running it inside a pipeline: :class:`~attnmod.toolkit.modulation.optimisation.LatentGuidance` (a UNet forward
pre-hook and a wrapper of the scheduler's ``step``; see its docstring). During its own UNet calls every attention module holds a plain processor, except the
cross-attention modules at the chosen resolution, which hold :class:`AttentionMapsProcessor`: the losses read the
model's own, unmodulated attention; the paper's parts (temperature, masking, reweighting) act on the ordinary call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..errors import AttnmodError
from ..prompt.tokenizer import CLIP_CONTEXT_LENGTH

# ---- what the losses act on, from the prompt tree ----


@dataclasses.dataclass(frozen=True)
class BindingPair:
    """One attribute of one entity: its ``modifier`` tokens, the entity's ``noun`` tokens, and ``phrase``: every
    token of the entity's own group (noun and all its attributes), which the negative loss leaves out."""

    noun: tuple[int, ...]
    modifier: tuple[int, ...]
    phrase: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class GuidanceTargets:
    """What the losses of one prompt act on: token positions in the 77-token sequence.

    ``subjects``: one entry per entity, its head-noun tokens (Attend-and-Excite). ``pairs``: one per attribute of an
    entity (SynGen). ``words``: the prompt's word positions, start, end and padding left out.
    """

    subjects: tuple[tuple[int, ...], ...] = ()
    pairs: tuple[BindingPair, ...] = ()
    words: tuple[int, ...] = ()


def guidance_targets(tree, token_count: int) -> GuidanceTargets:
    """The subjects, attribute-noun pairs and word positions of a prompt tree (``tree`` None: nothing).

    ``token_count``: real positions including the start and end token, so the words are ``1 .. token_count - 2``.
    Tokens past the 77-token limit are dropped; an entity whose noun tokens are all dropped, or that the prompt
    negates (``absent``), is no subject and has no pairs; an attribute whose tokens are all dropped (or that shares a token with its noun) forms no pair.
    """
    count = max(min(int(token_count), CLIP_CONTEXT_LENGTH), 2)
    words = tuple(range(1, count - 1))
    if tree is None:
        return GuidanceTargets((), (), words)
    inside = set(words)
    subjects: list[tuple[int, ...]] = []
    pairs: list[BindingPair] = []
    for entity in tree.entities:
        noun = tuple(t for t in entity.tokens if t in inside)
        if not noun or entity.absent:  # a negated entity ("without oranges") is not asked of the image
            continue
        subjects.append(noun)
        modifiers = [tuple(t for t in attribute.tokens if t in inside) for attribute in entity.attributes]
        phrase = tuple(sorted({*noun, *(t for modifier in modifiers for t in modifier)}))
        for modifier in modifiers:
            if modifier and not set(modifier) & set(noun):
                pairs.append(BindingPair(noun, modifier, phrase))
    return GuidanceTargets(tuple(subjects), tuple(pairs), words)


# ---- Attend-and-Excite: the pure maths ----


def _at_least_float32(values: torch.Tensor) -> torch.Tensor:
    """Half-precision maps are promoted (exp(100 a) and logarithms need the range); float64 stays float64."""
    return values.to(torch.promote_types(values.dtype, torch.float32))


def word_token_maps(maps: torch.Tensor, words: Sequence[int], softmax_scale: float) -> torch.Tensor:
    """Per patch, a distribution over the prompt's word tokens: ``[H, W, T]`` -> ``[H, W, len(words)]``.

    ``q_i(n) = exp(c A_{w_i}(n)) / sum_j exp(c A_{w_j}(n))`` with ``A`` the cross-attention probabilities (each
    patch's row over all 77 tokens), ``w`` the word positions and ``c = softmax_scale`` (100 in A&E).
    """
    return torch.softmax(softmax_scale * _at_least_float32(maps[..., list(words)]), dim=-1)


def gaussian_smooth(maps: torch.Tensor, sigma: float, kernel_size: int) -> torch.Tensor:
    """Each ``[K, H, W]`` map convolved with a normalised 2-D Gaussian of ``kernel_size`` taps and standard
    deviation ``sigma`` patches, borders reflected (replicated when a side is too short to reflect).

    Kernel ``g(dy, dx) = exp(-(dy^2 + dx^2) / (2 sigma^2)) / sum``, ``|dy|, |dx| <= kernel_size // 2``. ``sigma``
    0 or ``kernel_size`` 1: the maps unchanged.
    """
    radius = int(kernel_size) // 2
    if sigma <= 0 or radius == 0:
        return maps
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64, device=maps.device)
    line = torch.exp(-(offsets**2) / (2.0 * sigma**2))
    kernel = torch.outer(line, line)
    kernel = (kernel / kernel.sum()).to(maps.dtype)
    mode = "reflect" if min(maps.shape[-2:]) > radius else "replicate"
    padded = F.pad(maps[:, None], (radius, radius, radius, radius), mode=mode)
    return F.conv2d(padded, kernel[None, None])[:, 0]


def excite_peaks(
    maps: torch.Tensor,
    subjects: Sequence[Sequence[int]],
    words: Sequence[int],
    softmax_scale: float = 100.0,
    sigma: float = 0.5,
    kernel_size: int = 3,
) -> torch.Tensor:
    """Each subject's peak attention ``[S]``: ``m_s = max_n (G * mean_{t in s} q_t)(n)`` (:func:`word_token_maps`,
    smoothed by :func:`gaussian_smooth`). ``maps [H, W, T]``; every subject token must be one of ``words``."""
    index = {word: i for i, word in enumerate(words)}
    missing = [t for subject in subjects for t in subject if t not in index]
    if missing:
        raise AttnmodError(f"subject token(s) {missing} are not among the prompt's word positions")
    shares = word_token_maps(maps, words, softmax_scale)
    subject_maps = torch.stack([shares[..., [index[t] for t in subject]].mean(-1) for subject in subjects])
    smoothed = gaussian_smooth(subject_maps, sigma, kernel_size)
    return smoothed.flatten(1).max(dim=-1).values


def excite_loss(
    maps: torch.Tensor,
    subjects: Sequence[Sequence[int]],
    words: Sequence[int],
    softmax_scale: float = 100.0,
    sigma: float = 0.5,
    kernel_size: int = 3,
) -> torch.Tensor:
    """The Attend-and-Excite loss ``L = max_s max(0, 1 - m_s)`` over the subjects' peaks (:func:`excite_peaks`):
    the most neglected subject's shortfall. A scalar in [0, 1]; 0 without subjects."""
    if not subjects:
        return maps.new_zeros(())
    peaks = excite_peaks(maps, subjects, words, softmax_scale, sigma, kernel_size)
    return (1.0 - peaks).clamp_min(0.0).max()


# ---- SynGen: the pure maths ----


def patch_distribution(maps: torch.Tensor, token: int) -> torch.Tensor:
    """Token ``token``'s map ``[H, W, T]`` -> a distribution over the ``H W`` patches: ``P(n) = A_t(n) / sum A_t``."""
    values = _at_least_float32(maps[..., token]).flatten()
    return values / values.sum().clamp_min(torch.finfo(values.dtype).tiny)


def symmetric_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``(KL(p||q) + KL(q||p)) / 2 = sum_n (p_n - q_n)(log p_n - log q_n) / 2`` for distributions over the last
    axis (probabilities below the smallest normal float count as that float, so zeros give a large finite value)."""
    tiny = torch.finfo(p.dtype).tiny
    return 0.5 * ((p - q) * (p.clamp_min(tiny).log() - q.clamp_min(tiny).log())).sum(-1)


def _largest_distance(maps: torch.Tensor, tokens: Sequence[int], other: int) -> torch.Tensor:
    return torch.stack(
        [symmetric_kl(patch_distribution(maps, t), patch_distribution(maps, other)) for t in tokens]
    ).max()


def syngen_pair_losses(
    maps: torch.Tensor, pair: BindingPair, words: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(positive, negative)`` of one attribute-noun pair, with ``d`` = :func:`symmetric_kl` of patch
    distributions (:func:`patch_distribution`) and, for a word of several tokens, the largest ``d`` over them:

    * ``positive = d(A_m, A_n)`` (modifier m, noun n);
    * ``negative = -(1/2) [ (1/|U|) sum_{u in U} d(A_n, A_u) + (1/|U|) sum_{u in U} d(A_m, A_u) ]``, ``U`` the
      prompt's word positions outside the noun's phrase (0 when U is empty).
    """
    positive = torch.stack(
        [
            symmetric_kl(patch_distribution(maps, m), patch_distribution(maps, n))
            for m in pair.modifier
            for n in pair.noun
        ]
    ).max()
    outside = [u for u in words if u not in set(pair.phrase)]
    if not outside:
        return positive, positive.new_zeros(())
    noun_term = torch.stack([_largest_distance(maps, pair.noun, u) for u in outside]).mean()
    modifier_term = torch.stack([_largest_distance(maps, pair.modifier, u) for u in outside]).mean()
    return positive, -(noun_term + modifier_term) / 2.0


def syngen_loss(maps: torch.Tensor, pairs: Sequence[BindingPair], words: Sequence[int]) -> torch.Tensor:
    """The SynGen loss ``L = sum_pairs (positive + negative)`` (:func:`syngen_pair_losses`); 0 without pairs.

    ``maps [H, W, T]``: cross-attention probabilities per patch and token (not re-normalised over tokens).
    """
    total = maps.new_zeros((), dtype=torch.promote_types(maps.dtype, torch.float32))
    for pair in pairs:
        positive, negative = syngen_pair_losses(maps, pair, words)
        total = total + positive + negative
    return total


# ---- the parts: schedule and loss of each method ----


@dataclasses.dataclass(frozen=True)
class GuidancePart:
    """One latent-optimisation method with its schedule (built from its config section by :func:`guidance_parts`).

    ``window``: ``(start, end)`` in denoising progress, step ``i`` of ``N`` is guided when ``start <= i / N < end``.
    Step size at step ``i``: ``step_size * sqrt(1 - step_size_decay * i / (N - 1))``. ``thresholds``: ``(at,
    threshold)`` pairs; the step whose progress interval ``[i/N, (i+1)/N)`` holds ``at`` refines until the loss is
    at most ``1 - threshold`` (at most ``max_refinement`` extra steps). ``resolution``: the side of the maps in
    patches, or ``"auto"`` (see :func:`select_map_level`).
    """

    name: str
    window: tuple[float, float]
    step_size: float
    step_size_decay: float = 0.0
    thresholds: tuple[tuple[float, float], ...] = ()
    max_refinement: int = 0
    resolution: int | str = "auto"
    loss_options: tuple[tuple[str, float], ...] = ()

    def active(self, step: int, steps: int) -> bool:
        progress = step / max(steps, 1)
        start, end = self.window
        return start <= progress < end or (end >= 1.0 and progress >= 1.0)

    def step_size_at(self, step: int, steps: int) -> float:
        fraction = step / max(steps - 1, 1)
        return self.step_size * math.sqrt(max(1.0 - self.step_size_decay * fraction, 0.0))

    def refinement_target(self, step: int, steps: int) -> float | None:
        """The loss to refine down to at this step, or None when it is no refinement step."""
        for at, threshold in self.thresholds:
            if step / steps <= at < (step + 1) / steps:
                return max(0.0, 1.0 - threshold)
        return None

    def wants(self, targets: GuidanceTargets) -> bool:
        return bool(targets.subjects) if self.name == "excite" else bool(targets.pairs)

    def loss(self, maps: torch.Tensor, targets: GuidanceTargets) -> torch.Tensor:
        options = dict(self.loss_options)
        if self.name == "excite":
            return excite_loss(
                maps,
                targets.subjects,
                targets.words,
                softmax_scale=options.get("softmax_scale", 100.0),
                sigma=options.get("smoothing", 0.5),
                kernel_size=int(options.get("kernel_size", 3)),
            )
        return syngen_loss(maps, targets.pairs, targets.words)


def guidance_parts(config) -> list[GuidancePart]:
    """The enabled latent-optimisation parts of a ModulationConfig, in the order they run (excite, then syngen)."""
    parts = []
    excite = getattr(config, "excite", None)
    if excite is not None and excite.enabled:
        parts.append(
            GuidancePart(
                "excite",
                (excite.window.start, excite.window.end),
                excite.step_size,
                excite.step_size_decay,
                tuple((float(at), float(value)) for at, value in excite.thresholds),
                excite.max_refinement,
                excite.resolution,
                (
                    ("softmax_scale", excite.softmax_scale),
                    ("smoothing", excite.smoothing),
                    ("kernel_size", float(excite.kernel_size)),
                ),
            )
        )
    syngen = getattr(config, "syngen", None)
    if syngen is not None and syngen.enabled:
        parts.append(
            GuidancePart(
                "syngen",
                (syngen.window.start, syngen.window.end),
                syngen.step_size,
                syngen.step_size_decay,
                resolution=syngen.resolution,
            )
        )
    return parts
