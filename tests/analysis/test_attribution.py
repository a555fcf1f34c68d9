"""captum attributions: completeness on a linear target, the one-step maps, the reported delta, ablation groups.

Model runs use the embedded tiny SDXL at 64 x 64 pixels with few integration points to stay fast.
"""

from __future__ import annotations

import json

import pytest
import torch
from attnmod.analysis.attribution import attribute_prompt, integrated_gradients
from attnmod.analysis.one_step import BASELINE_TOKEN_ID, OneStepAttention
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree

PROMPT = "a red car and a white sheep"  # CLIP positions: 1 a, 2 red, 3 car, 4 and, 5 a, 6 white, 7 sheep, 8 end
SMALL = {"height": 64, "width": 64}


def car_and_sheep() -> PromptTree:
    car = Entity("car", "car", (6, 9), (Attribute("red", (2, 5), (2,)),), None, (3,))
    sheep = Entity("sheep", "sheep", (22, 27), (Attribute("white", (16, 21), (6,)),), None, (7,))
    return PromptTree(PROMPT, (car, sheep))


def test_integrated_gradients_are_complete_for_a_linear_target_over_embeddings(tiny_model, clip_tokenizer):
    """f(ids) = <W, E(ids)> is linear in the embeddings: IG is exact, so sum(attributions) = f(x) - f(x')."""
    encoders = [tiny_model.pipeline.text_encoder, tiny_model.pipeline.text_encoder_2]
    layers = [encoder.get_input_embeddings() for encoder in encoders]
    ids = torch.tensor([clip_tokenizer(PROMPT, padding="max_length", max_length=77)["input_ids"]])
    baseline = ids.clone()
    baseline[:, 1:8] = BASELINE_TOKEN_ID
    generator = torch.Generator().manual_seed(0)
    weights = [torch.randn(77, layer.embedding_dim, generator=generator) for layer in layers]

    def forward(first, second):
        return sum(
            (layer(i) * w).sum(dim=(-2, -1)) for layer, i, w in zip(layers, (first, second), weights, strict=True)
        )

    per_layer, delta = integrated_gradients(forward, layers, [ids, ids], [baseline, baseline], n_steps=4)
    with torch.no_grad():
        expected = float(forward(ids, ids) - forward(baseline, baseline))
    total = sum(float(scores.sum()) for scores in per_layer)
    assert total == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert abs(delta) < 1e-4 * max(1.0, abs(expected))
    for scores in per_layer:  # positions equal in input and baseline get nothing
        assert float(scores[0]) == 0.0 and float(scores[8:].abs().sum()) == 0.0
    with torch.no_grad():  # per token: <W_j, E(x_j) - E(x'_j)>
        token = (weights[0][2] * (layers[0](ids)[0, 2] - layers[0](baseline)[0, 2])).sum()
    assert float(per_layer[0][2]) == pytest.approx(float(token), rel=1e-4, abs=1e-6)


def test_one_step_maps_equal_the_first_captured_step_of_a_generation(tiny_model):
    """The fixed latent and timestep at progress 0 are the pipeline's first UNet input, so the maps match capture."""
    from attnmod.analysis import attention_maps
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.modulation.config import ModulationConfig

    tree = car_and_sheep()
    result = generate(
        tiny_model, PROMPT, ModulationConfig.from_variant("none"), seeds=3, steps=1, trees=[tree], **SMALL
    )
    record = result[0].record
    (resolution,) = record.resolutions("cross")
    captured = attention_maps.normalize_maps(record.mean("cross", resolution, "early"))
    step = OneStepAttention(tiny_model, tree, seed=3, steps=1, **SMALL)
    with torch.no_grad():
        maps = step.token_maps(*step.ids)[0]
    assert maps.shape == captured.shape
    assert torch.allclose(maps, captured, atol=1e-5)


def test_attribution_reports_its_convergence_delta(tiny_model):
    result = attribute_prompt(tiny_model, PROMPT, target="leakage", n_steps=4, tree=car_and_sheep(), **SMALL)
    payload = result.to_json()
    for key in ("delta", "relative_delta", "value", "baseline_value"):
        assert key in payload
    assert isinstance(result.delta, float) and abs(result.delta) < 1.0
    assert [row["label"] for row in result.scores] == ["a", "red", "car", "and", "a", "white", "sheep"]
    # the delta is what completeness misses (captum's sign): sum(attributions) - (value - baseline value);
    # start, end and padding equal the baseline there, so the word tokens carry every attribution
    total = sum(row["score"] for row in result.scores)
    assert total - (result.value - result.baseline_value) == pytest.approx(result.delta, abs=1e-5)
    assert result.settings["baseline_token"] == "!" and result.settings["step"] == 0
    json.dumps(payload, allow_nan=False)


def test_ablation_by_entity_gives_one_score_per_group(tiny_model):
    tree = car_and_sheep()
    result = attribute_prompt(
        tiny_model, PROMPT, target="binding:white", method="ablation", by="entity", tree=tree, **SMALL
    )
    assert [row["label"] for row in result.scores] == ["car", "sheep", "(other words)"]
    assert [row["positions"] for row in result.scores] == [[2, 3], [6, 7], [1, 4, 5]]
    assert result.delta is None
    # the car group's score is f(prompt) - f(prompt with "red car" replaced by "!"), f = B_white written out here
    # from its definition (docs/diagnosis.md), on the step's maps (which equal a capture: see the test above)
    step = OneStepAttention(tiny_model, tree, **SMALL)
    with torch.no_grad():
        reference = step.token_maps(*step.ids)[0].float()
        ablated = [ids.clone() for ids in step.ids]
        for ids in ablated:
            ids[:, [2, 3]] = BASELINE_TOKEN_ID
        changed = step.token_maps(*ablated)[0].float()
    regions = hand_regions([hand_group(reference, [3]), hand_group(reference, [7])])
    white_on_sheep = hand_binding(hand_group(reference, [6]), regions, own=1)
    assert result.value == pytest.approx(white_on_sheep, abs=1e-6)
    expected = white_on_sheep - hand_binding(hand_group(changed, [6]), regions, own=1)
    assert abs(expected) > 1e-6  # the ablation moves the target, so the comparison below has something to check
    assert result.scores[0]["score"] == pytest.approx(expected, abs=1e-6)


def hand_normalize(token_map: torch.Tensor) -> torch.Tensor:
    token_map = token_map.clamp_min(0)
    total = float(token_map.sum())
    return token_map / total if total > 1e-12 else torch.zeros_like(token_map)


def hand_group(token_maps: torch.Tensor, positions: list[int]) -> torch.Tensor:
    """M = normalize(mean of the normalised token maps)."""
    return hand_normalize(torch.stack([hand_normalize(token_maps[p]) for p in positions]).mean(0))


def hand_regions(entity_maps: list[torch.Tensor], level: float = 0.2) -> list[torch.Tensor]:
    """R_e: the pixels where e has the largest map among the entities whose map reaches level x its own peak."""
    stacked = torch.stack(entity_maps)
    candidate = stacked >= level * stacked.flatten(1).max(1).values[:, None, None]
    owner = torch.where(candidate, stacked, torch.full_like(stacked, -1.0)).argmax(0)
    claimed = candidate.any(0)
    return [(owner == e) & claimed for e in range(len(entity_maps))]


def hand_binding(attribute_map: torch.Tensor, regions: list[torch.Tensor], own: int) -> float:
    """B_a = attention of a on its own entity's region / attention of a on all entity regions."""
    masses = [float(attribute_map[region].sum()) for region in regions]
    return masses[own] / sum(masses)


def test_targets_that_do_not_exist_are_clear_errors(tiny_model):
    tree = car_and_sheep()
    with pytest.raises(AttnmodError, match=r"no attribute 'blue'.*red@car, white@sheep"):
        attribute_prompt(tiny_model, PROMPT, target="binding:blue", method="ablation", tree=tree, **SMALL)
    single = PromptTree("a car", (Entity("car", "car", (2, 5), (), None, (2,)),))
    with pytest.raises(AttnmodError, match="leakage needs two entities"):
        attribute_prompt(tiny_model, "a car", target="leakage", method="ablation", tree=single, **SMALL)
    with pytest.raises(AttnmodError, match="unknown target"):
        attribute_prompt(tiny_model, PROMPT, target="beauty", tree=tree, **SMALL)


def test_attribute_command_prints_and_writes_json(tmp_path, run_cli):
    out = tmp_path / "attribution.json"
    result = run_cli(
        "attribute", "--model", "tiny", PROMPT, "--target", "leakage", "--method", "ablation", "--by", "entity",
        "--height", "64", "--width", "64", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "target   leakage" in result.stdout
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["method"] == "ablation" and payload["target"] == "leakage"
    assert len(payload["scores"]) >= 2
    unknown = run_cli(
        "attribute", "--model", "tiny", PROMPT, "--target", "binding:purple", "--height", "64", "--width", "64"
    )
    assert unknown.exit_code == 1 and "no attribute 'purple'" in unknown.stderr


def test_attribution_runs_on_a_one_encoder_sd_model(tiny_sd_model):
    result = attribute_prompt(
        tiny_sd_model, PROMPT, target="leakage", method="ablation", by="entity", tree=car_and_sheep(), **SMALL
    )
    assert [row["label"] for row in result.scores] == ["car", "sheep", "(other words)"]
    assert 0.0 <= result.value <= 1.0
