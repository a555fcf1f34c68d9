"""Which prompt tokens drive a leakage or binding score: captum attributions through one denoising step.

The attributed function is differentiable from the text encoders' token embeddings to a score:

    token ids -> input embeddings (``get_input_embeddings()`` of each encoder; captum hooks these layers)
    -> text encoders (SDXL: penultimate hidden states of both, concatenated; pooled output of the second;
       SD: last hidden state) -> one UNet call at a fixed latent and timestep, conditional branch only
    -> head-averaged cross-attention of every layer (the toolkit's attention processors, any modulation variant)
    -> per-token maps, layers averaged per resolution, resolutions combined at the coarsest
    -> target score, a pure function of the maps (:mod:`attnmod.analysis.metrics`):
       ``leakage`` = max over non-nested entity pairs of ``O_ef``;
       ``binding:ATTR`` = ``B_a`` with the entity regions fixed at the prompt's own maps (regions are
       argmax labels, piecewise constant: recomputing them along the integration path would break completeness).

The fixed latent is the seeded initial noise; at step 0 it is exactly what the pipeline feeds the UNet first
(``noise x init_noise_sigma``, then ``scale_model_input``), at a later step k it is the zero latent noised to
timestep k (``scheduler.add_noise``), not the sampler's trajectory.

Methods: Integrated Gradients through captum's ``LayerIntegratedGradients`` on the embedding layers (attributions
summed over embedding features, and over both encoders for SDXL) with the convergence delta
``sum(attributions) - (f(x) - f(x'))``; and ``FeatureAblation`` by token or by entity group (score = f(x) minus f with
the group's tokens replaced by the baseline token). The baseline token is "!" (id 0) at the prompt's word
positions; start, end and padding stay, because CLIP pools at the first end token and a pad baseline
(pad = end in CLIP) would move the pooling position and break completeness.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Mapping, Sequence

import torch

from ..toolkit.errors import AttnmodError
from ..toolkit.prompt.tokenizer import CLIP_CONTEXT_LENGTH
from ..toolkit.prompt.tree import PromptTree
from ..toolkit.run_files import resolve_generation_settings
from . import attention_maps, binding, map_overlap, regions
from .one_step import BASELINE_TOKEN_ID, OneStepAttention
from .scores import RecordScores
from .scoring import ScoringPlan, plan_scoring
from .thresholds import Thresholds

METHODS = ("ig", "ablation")
GROUPINGS = ("token", "entity")

#: Region level of the original peak rule, used for binding targets (see the comment where it is used).
ORIGINAL_REGION_LEVEL = 0.2


@dataclasses.dataclass
class Attribution:
    """Scores of token groups for one target.

    ``scores``: ``[{"label", "positions", "score", "encoders": [per-encoder score]}]`` (``encoders`` for IG only);
    ``value``: the target at the prompt; ``baseline_value``: at the baseline input (every word replaced by "!");
    ``delta``: IG's convergence delta ``sum(all attributions) - (value - baseline_value)`` (captum's sign) (None for ablation);
    ``settings``: seed, sampling steps, the fixed step, timestep, n_steps, variant, resolution.
    """

    prompt: str
    target: str
    method: str
    by: str
    value: float
    baseline_value: float | None
    delta: float | None
    scores: list[dict]
    settings: dict
    seconds: float

    @property
    def relative_delta(self) -> float | None:
        """``|delta| / |value - baseline_value|`` (None when either is missing or the difference is 0)."""
        if self.delta is None or self.baseline_value is None or self.value == self.baseline_value:
            return None
        return abs(self.delta) / abs(self.value - self.baseline_value)

    def to_json(self) -> dict:
        payload = dataclasses.asdict(self)
        payload["relative_delta"] = self.relative_delta
        return payload


# ---- the generic captum calls ----


def integrated_gradients(
    forward: Callable[..., torch.Tensor],
    layers: Sequence[torch.nn.Module],
    inputs: Sequence[torch.Tensor],
    baselines: Sequence[torch.Tensor],
    n_steps: int = 32,
    internal_batch_size: int | None = None,
) -> tuple[list[torch.Tensor], float]:
    """Layer Integrated Gradients of ``forward(*inputs) -> [B]`` over the outputs of ``layers`` (one per input).

    Returns per-layer position scores (``[positions]``: the attribution summed over the layer's feature dimension,
    for the first example) and the convergence delta ``sum(attributions) - (f(x) - f(x'))`` (completeness: 0 for
    the exact integral; Gauss-Legendre quadrature with ``n_steps`` points approximates it).
    """
    from captum.attr import LayerIntegratedGradients

    layers = list(layers)
    with warnings.catch_warnings():
        # captum warns about every multi-layer use; the two encoders' embedding layers are independent.
        warnings.filterwarnings("ignore", message="Multiple layers provided")
        integrator = LayerIntegratedGradients(forward, layers if len(layers) > 1 else layers[0])
    attributions, delta = integrator.attribute(
        inputs=tuple(inputs),
        baselines=tuple(baselines),
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    if len(layers) == 1:
        attributions = [attributions]
    per_layer = []
    for attribution in attributions:
        tensor = attribution[0] if isinstance(attribution, tuple) else attribution
        per_layer.append(tensor[0].detach().float().sum(dim=-1).cpu())
    return per_layer, float(delta.reshape(-1)[0])


def ablate_groups(
    forward: Callable[[torch.Tensor], torch.Tensor], groups: int, perturbations_per_eval: int = 1
) -> torch.Tensor:
    """captum FeatureAblation over a presence vector: ``forward(presence [B, groups]) -> [B]`` with presence 1
    (kept) or 0 (ablated). Returns ``[groups]``: ``f(all kept) - f(group g ablated)``."""
    from captum.attr import FeatureAblation

    presence = torch.ones(1, groups)
    with torch.no_grad():
        scores = FeatureAblation(forward).attribute(
            presence, baselines=0.0, perturbations_per_eval=perturbations_per_eval
        )
    return scores[0].detach().float().cpu()


# ---- targets ----


@dataclasses.dataclass
class Target:
    """A differentiable score of token maps ``[B, T, H, W] -> [B]`` and its name."""

    name: str
    function: Callable[[torch.Tensor], torch.Tensor]
    description: str


def _entity_maps(maps: torch.Tensor, plan: ScoringPlan) -> torch.Tensor:
    return torch.stack([attention_maps.group_map(maps, positions) for positions in plan.positions], dim=-3)


def build_target(
    spec: str, tree: PromptTree, reference_maps: torch.Tensor, thresholds: Thresholds | None = None
) -> Target:
    """Parse ``leakage`` or ``binding:ATTR`` (``binding:ATTR@NOUN`` to choose among equal attribute texts).

    ``reference_maps [1, T, H, W]`` (the prompt's own maps) fix the entity regions of a binding target.
    """
    thresholds = thresholds or Thresholds()
    plan = plan_scoring(tree, reference_maps.shape[-3])
    spec = spec.strip()
    if spec == "leakage":
        nested = regions.nested_pairs(plan.parents)
        count = len(plan.entities)
        if not any((e, f) not in nested for e in range(count) for f in range(e + 1, count)):
            raise AttnmodError(
                f"leakage needs two entities that are not nested in each other; {tree.prompt!r} has "
                f"{count} scored entit{'y' if count == 1 else 'ies'}"
            )

        def leakage(maps: torch.Tensor) -> torch.Tensor:
            return map_overlap.leakage(_entity_maps(maps, plan), plan.parents)

        return Target("leakage", leakage, "max overlap O_ef over entity pairs that are not nested")
    if spec.startswith("binding:"):
        wanted, _, noun = spec.removeprefix("binding:").partition("@")
        matches = [
            (slot, tree_index, attribute_index, positions)
            for slot, tree_index, attribute_index, positions in plan.attributes
            if tree.entities[tree_index].attributes[attribute_index].text.lower() == wanted.strip().lower()
            and (not noun or tree.entities[tree_index].text.lower() == noun.strip().lower())
        ]
        available = ", ".join(
            f"{tree.entities[t].attributes[a].text}@{tree.entities[t].text}" for _, t, a, _ in plan.attributes
        )
        if not matches:
            raise AttnmodError(f"no attribute {wanted!r} in {tree.prompt!r} (attributes: {available or 'none'})")
        slot, tree_index, attribute_index, positions = matches[0]
        with torch.no_grad():
            entity_maps = _entity_maps(reference_maps, plan)[0].float()
            # The original peak rule at 0.2 (a differentiable target needs fixed regions, and the corrected rule
            # leaves flat maps without any; docs/diagnosis.md, Attribution).
            labels = regions.assign_regions(entity_maps, ORIGINAL_REGION_LEVEL, plan.parents)
            own = regions.own_region_masks(labels, len(plan.entities))
            reference = binding.binding_shares(attention_maps.group_map(reference_maps[0].float(), positions), own)
        if bool(torch.isnan(reference).any()):
            raise AttnmodError(
                f"attribute {wanted!r} puts no attention on any entity region at this step: its binding is undefined"
            )

        def binding_target(maps: torch.Tensor) -> torch.Tensor:
            shares = binding.binding_shares(attention_maps.group_map(maps, positions), own.to(maps.device))
            return torch.nan_to_num(shares[..., slot], nan=0.0)

        name = f"binding:{tree.entities[tree_index].attributes[attribute_index].text}"
        return Target(
            name,
            binding_target,
            f"B_a of {name[8:]!r} ({tree.entities[tree_index].text}) with regions fixed at the prompt",
        )
    raise AttnmodError(f"unknown target {spec!r}: use leakage or binding:ATTR")


# ---- groups ----


def token_groups(step: OneStepAttention, plan: ScoringPlan, tree: PromptTree, by: str) -> list[dict]:
    """``[{"label", "positions"}]``: every word token, or every scored entity group plus the remaining words."""
    if by == "token":
        return [{"label": step.token_texts[p].removesuffix("</w>"), "positions": [p]} for p in step.words]
    if by != "entity":
        raise AttnmodError(f"group by token or entity, not {by!r}")
    groups, used = [], set()
    for tree_index in plan.entities:
        positions = [p for p in tree.entities[tree_index].group_tokens if p in step.words and p not in used]
        used.update(positions)
        groups.append({"label": tree.entities[tree_index].text, "positions": positions})
    others = [p for p in step.words if p not in used]
    if others:
        groups.append({"label": "(other words)", "positions": others})
    return groups


# ---- the public entry point ----


def attribute_prompt(
    model,
    prompt: str,
    target: str = "leakage",
    method: str = "ig",
    by: str = "token",
    n_steps: int = 16,
    seed: int = 0,
    steps: int | None = None,
    at: float = 0.0,
    height: int | None = None,
    width: int | None = None,
    tree: PromptTree | None = None,
    thresholds: Thresholds | None = None,
    variant: str = "none",
    internal_batch_size: int | None = 8,
    parser: str = "auto",
) -> Attribution:
    """Attribute ``target`` (``leakage`` or ``binding:ATTR``) at one denoising step to the prompt's tokens.

    ``method``: ``ig`` (Layer Integrated Gradients, ``n_steps`` quadrature points, convergence delta reported) or
    ``ablation`` (FeatureAblation). ``by``: ``token`` or ``entity`` (entity groups: noun plus attribute tokens, and
    the remaining words as one group). ``steps``/``at``: the sampling schedule and the progress in [0, 1) of the
    step whose latent and timestep are fixed (default: the first step, where the layout forms).
    """
    if method not in METHODS:
        raise AttnmodError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if by not in GROUPINGS:
        raise AttnmodError(f"group by one of {', '.join(GROUPINGS)}, got {by!r}")
    if n_steps < 1:
        raise AttnmodError(f"n_steps must be at least 1, got {n_steps}")
    started = time.perf_counter()
    settings = resolve_generation_settings(model, steps, height, width)
    if tree is None:
        from ..toolkit.prompt.parse import parse_prompt

        tree = parse_prompt(prompt, tokenizers=model.tokenizers, parser=parser)
    step = OneStepAttention(
        model,
        tree,
        seed=seed,
        steps=settings["steps"],
        at=at,
        height=settings["height"],
        width=settings["width"],
        variant=variant,
    )
    with torch.no_grad():
        reference = step.token_maps(*step.ids)
    chosen = build_target(target, tree, reference, thresholds)
    plan = plan_scoring(tree, reference.shape[-3])
    groups = token_groups(step, plan, tree, by)
    if not groups:
        raise AttnmodError(f"{prompt!r} has no word tokens to attribute")

    def forward(*ids: torch.Tensor) -> torch.Tensor:
        return chosen.function(step.token_maps(*ids))

    with torch.no_grad():
        value = float(forward(*step.ids)[0])
    delta = baseline_value = None
    if method == "ig":
        baselines = step.baseline_ids()
        with torch.no_grad():
            baseline_value = float(forward(*baselines)[0])
        per_layer, delta = integrated_gradients(
            forward,
            step.embedding_layers,
            step.ids,
            baselines,
            n_steps=n_steps,
            internal_batch_size=internal_batch_size,
        )
        scores = [
            {
                "label": group["label"],
                "positions": group["positions"],
                "score": float(sum(float(layer[group["positions"]].sum()) for layer in per_layer)),
                "encoders": [float(layer[group["positions"]].sum()) for layer in per_layer],
            }
            for group in groups
        ]
    else:
        membership = torch.zeros(len(groups), CLIP_CONTEXT_LENGTH, device=step.device)
        for index, group in enumerate(groups):
            membership[index, group["positions"]] = 1.0

        def ablated(presence: torch.Tensor) -> torch.Tensor:
            removed = ((1.0 - presence.to(step.device)) @ membership) > 0.5  # [B, 77]
            ids = [
                torch.where(removed, torch.full_like(removed, BASELINE_TOKEN_ID, dtype=torch.long), i) for i in step.ids
            ]
            return chosen.function(step.token_maps(*ids))

        values = ablate_groups(ablated, len(groups))
        scores = [
            {"label": group["label"], "positions": group["positions"], "score": float(values[index])}
            for index, group in enumerate(groups)
        ]
    return Attribution(
        prompt=prompt,
        target=chosen.name,
        method=method,
        by=by,
        value=value,
        baseline_value=baseline_value,
        delta=delta,
        scores=scores,
        settings={
            "seed": int(seed),
            "steps": step.steps,
            "step": step.step,
            "timestep": float(step.timestep),
            "n_steps": n_steps if method == "ig" else None,
            "variant": step.config.variant,
            "resolution": f"{reference.shape[-2]}x{reference.shape[-1]}",
            "target": chosen.description,
            "baseline_token": "!",
        },
        seconds=round(time.perf_counter() - started, 3),
    )


def diagnosis_attributions(
    model,
    prompt: str,
    tree: PromptTree,
    scores: RecordScores | Mapping,
    seed: int = 0,
    steps: int | None = None,
    n_steps: int = 16,
    limit: int = 3,
) -> dict:
    """The attributions a diagnosis adds: the leakage by token (IG) and by entity group (ablation), and the binding
    of each misbound attribute (IG by token, at most ``limit``). Targets that are undefined for this prompt are
    listed under ``notes`` instead."""
    results, notes = {}, []
    requests = [("leakage", "leakage", "ig", "token"), ("leakage_groups", "leakage", "ablation", "entity")]
    for row in RecordScores.of(scores).overall.bindings:
        if row.misbound and len(requests) < 2 + limit:
            noun = tree.entities[row.entity].text
            requests.append((f"binding:{row.text}@{noun}", f"binding:{row.text}@{noun}", "ig", "token"))
    for key, target, method, by in requests:
        try:
            attribution = attribute_prompt(
                model, prompt, target=target, method=method, by=by, n_steps=n_steps, seed=seed, steps=steps, tree=tree
            )
        except AttnmodError as error:
            notes.append(f"{key}: {error}")
            continue
        results[key] = attribution.to_json()
    return {"items": results, "notes": notes}


def format_attribution(attribution: Attribution, width: int = 30) -> str:
    """A readable table: the target, its value at the prompt and at the baseline, the convergence delta, and one
    row per group with its score and a bar scaled to the largest magnitude."""
    lines = [f"target   {attribution.target} ({attribution.settings['target']})"]
    lines.append(
        f"method   {attribution.method} by {attribution.by}, step {attribution.settings['step']} of "
        f"{attribution.settings['steps']} (timestep {attribution.settings['timestep']:.0f}), "
        f"variant {attribution.settings['variant']}, {attribution.settings['resolution']}"
    )
    lines.append(f"value    {attribution.value:.6f} at the prompt")
    if attribution.baseline_value is not None:
        lines.append(f"baseline {attribution.baseline_value:.6f} with every word replaced by '!'")
    if attribution.delta is not None:
        relative = attribution.relative_delta
        extra = f", {100 * relative:.2f}% of the change" if relative is not None else ""
        lines.append(f"delta    {attribution.delta:.3e} (convergence delta: completeness error{extra})")
    largest = max((abs(row["score"]) for row in attribution.scores), default=0.0) or 1.0
    label_width = max([8, *(len(row["label"]) for row in attribution.scores)])
    lines.append("")
    for row in attribution.scores:
        bar = "#" * round(width * abs(row["score"]) / largest)
        sign = "+" if row["score"] >= 0 else "-"
        lines.append(f"{row['label']:<{label_width}} {row['score']:+.3e} {sign}{bar}")
    return "\n".join(lines)
