"""The frozen-contrastive text recipe of the shapes model: the contrastive text stage learns (its loss falls below
chance on a toy world and each image retrieves its own caption), the frozen encoders come out of UNet training
bit-identical, their states are cached per caption, the padding augmentation swaps in exactly the empty prompt's
padding states, and ``--init-from`` continues a saved model under its own recipe and refuses another."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow


def _smoke_components(seed: int = 0):
    from attnmod.toolkit.models import shapes as shapes_model

    pipe = shapes_model.build_shapes_pipeline("smoke", seed=seed)
    return pipe, shapes_model.component_configs("smoke")


def _settings(**changes):
    from attnmod.lightning_modules.shapes_training import TrainingSettings

    base = dict(
        preset="smoke",
        vae_steps=3,
        unet_steps=6,
        batch_size=8,
        vae_batch_size=4,
        workers=0,
        accelerator="cpu",
        warmup_steps=2,
        learning_rate=1e-3,
        text_recipe="frozen-contrastive",
        contrastive_steps=4,
        contrastive_batch_size=8,
    )
    base.update(changes)
    return TrainingSettings(**base)


def test_contrastive_stage_learns_a_toy_world():
    """Four captions, each with its own rendered image, twice per batch of 8: a loss at chance (similarities that
    do not tell items apart) is log 8; the best attainable is log 2, since the two copies of a caption share its
    target. 60 steps take both encoders' losses from near chance to near that floor, and every image's nearest
    caption becomes its own."""
    from attnmod.lightning_modules.shapes_training import ContrastiveTextModule
    from attnmod.toolkit import shapes_world

    torch.manual_seed(0)
    pipe, configs = _smoke_components()
    module = ContrastiveTextModule(
        [pipe.text_encoder, pipe.text_encoder_2],
        [pipe.tokenizer, pipe.tokenizer_2],
        configs["text_encoder"]["hidden_size"],
        _settings(contrastive_steps=60, contrastive_learning_rate=3e-3),
    )
    scenes = [
        shapes_world.Scene(
            (shapes_world.ShapeObject(shape, colour, "large", 32.0, 32.0, 12.0),),
            f"a {colour} {shape}",
            "single",
            (),
            64,
        )
        for colour, shape in (("red", "circle"), ("blue", "square"), ("yellow", "star"), ("green", "cross"))
    ]
    images = torch.stack(
        [torch.from_numpy(shapes_world.render_scene(s)[0]).permute(2, 0, 1).float() / 127.5 - 1 for s in scenes]
    )
    captions = [s.caption for s in scenes]
    batch = (torch.cat([images, images]), captions + captions)
    optimizer = module.configure_optimizers()["optimizer"]
    losses = []
    module.train()
    for _ in range(60):
        first, second = module.losses(*batch)
        optimizer.zero_grad()
        (first + second).backward()
        optimizer.step()
        losses.append([float(first.detach()), float(second.detach())])
    losses = np.array(losses)
    chance, floor = math.log(8), math.log(2)
    assert (losses[0] > floor + 0.7 * (chance - floor)).all(), losses[0]
    assert (losses[-5:].mean(axis=0) < floor + 0.1 * (chance - floor)).all(), losses[-5:]
    module.eval()
    with torch.no_grad():
        for index, text in enumerate(module.text_embeddings(captions)):
            image = torch.nn.functional.normalize(module.towers[index](images), dim=-1)
            similarity = image @ torch.nn.functional.normalize(text, dim=-1).T
            assert similarity.argmax(dim=1).tolist() == [0, 1, 2, 3]


def test_padding_positions_follow_the_end_token():
    from attnmod.lightning_modules.shapes_training import FrozenTextStates

    pipe, _ = _smoke_components()
    states = FrozenTextStates([pipe.tokenizer, pipe.tokenizer_2], [pipe.text_encoder, pipe.text_encoder_2])
    # "a red circle": start, a, red, circle, end -> the end token at position 4; "" -> start, end at 1
    mask = states.padding_positions(["a red circle", ""])
    assert mask.shape == (2, 77)
    assert mask[0].tolist() == [False] * 5 + [True] * 72
    assert mask[1].tolist() == [False] * 2 + [True] * 75


def test_cached_states_equal_fresh_ones_and_padding_augmentation_swaps_in_the_empty_prompts_padding():
    from attnmod.lightning_modules.shapes_training import DiffusionModule, encode_captions
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    pipe, configs = _smoke_components()
    # two layers, as the shipped encoders: the UNet reads the penultimate layer, which for a one-layer encoder (the
    # smoke preset's) is the context-free token embeddings, identical in every prompt's padding
    text = CLIPTextConfig(**{**configs["text_encoder"], "num_hidden_layers": 2})
    encoders = [CLIPTextModel(text).eval(), CLIPTextModelWithProjection(text).eval()]
    components = {"unet": pipe.unet, "vae": pipe.vae, "text_encoder": encoders[0], "text_encoder_2": encoders[1]}
    tokenizers = [pipe.tokenizer, pipe.tokenizer_2]
    captions = ["a red circle", "a blue square and a green star", ""]
    with torch.no_grad():
        fresh, fresh_pooled = encode_captions(tokenizers, encoders, captions, "cpu")
        empty, _ = encode_captions(tokenizers, encoders, [""], "cpu")

    plain = DiffusionModule(components, tokenizers, pipe.scheduler, _settings(), 64)
    for _ in range(2):  # the second call is served from the cache
        hidden, pooled = plain.prompt_states(captions)
        assert torch.equal(hidden, fresh) and torch.equal(pooled, fresh_pooled)
    assert (plain.text_states.misses, plain.text_states.hits) == (3, 3)

    augmented = DiffusionModule(components, tokenizers, pipe.scheduler, _settings(padding_augmentation=1.0), 64)
    hidden, pooled = augmented.prompt_states(captions)
    assert torch.equal(pooled, fresh_pooled)  # the pooled embedding is left alone
    # "a red circle" ends at 4, the pair caption at 8: words and end token kept, every later position the empty
    # prompt's; the empty caption itself is not augmented (it is already the empty prompt)
    for row, end in ((0, 4), (1, 8)):
        assert torch.equal(hidden[row, : end + 1], fresh[row, : end + 1])
        assert torch.equal(hidden[row, end + 1 :], empty[0, end + 1 :])
        assert not torch.equal(fresh[row, end + 1 :], empty[0, end + 1 :])
    assert torch.equal(hidden[2], fresh[2])


@pytest.fixture(scope="module")
def frozen_run(tmp_path_factory):
    from attnmod.lightning_modules.shapes_training import train_shapes_model
    from safetensors.torch import load_file

    out = tmp_path_factory.mktemp("frozen-run")
    summary = train_shapes_model(out, _settings(padding_augmentation=0.5), progress=False, samples=0)
    return (
        out,
        summary,
        load_file(str(out / "text.safetensors")),
        load_file(str(out / "weights" / "shapes.safetensors")),
    )


def test_frozen_encoders_come_out_of_unet_training_bit_identical(frozen_run):
    from attnmod.toolkit.models import shapes as shapes_model

    out, summary, text, exported = frozen_run
    assert len((out / "text-loss.jsonl").read_text().splitlines()) == 4  # the text stage ran its 4 steps
    assert [json.loads(line)["step"] for line in (out / "unet-loss.jsonl").read_text().splitlines()] == list(
        range(1, 7)
    )
    keys = [k for k in text if k.startswith("text_encoder")]
    assert len(keys) > 10
    for key in keys:  # exported in float16: exactly the float16 rounding of the contrastive stage's encoders
        assert torch.equal(exported[key], text[key].half()), key
    # while the UNet did change from its seeded initialisation
    initial = shapes_model.build_shapes_pipeline("smoke", seed=0).unet.state_dict()
    assert any(not torch.equal(exported[f"unet.{k}"], v.half()) for k, v in initial.items())
    config = json.loads((out / "weights" / "config.json").read_text())
    assert config["recipe"]["text_recipe"] == "frozen-contrastive"
    assert config["recipe"]["padding_augmentation"] == 0.5
    assert summary["text_state_cache"]["hits"] + summary["text_state_cache"]["misses"] >= 6 * 8


def test_init_from_continues_a_saved_model_and_refuses_another_recipe(frozen_run, tmp_path, run_cli):
    from safetensors.torch import load_file

    source, _, _, exported = frozen_run
    arguments = ["world", "train", "--preset", "smoke", "--unet-steps", "2", "--batch-size", "4", "--workers", "0"]
    arguments += ["--samples", "0", "--accelerator", "cpu", "--no-progress", "--init-from", str(source / "weights")]
    # a learning rate far below float16's resolution: the continued model must export the saved weights unchanged,
    # which it can only do if it started from them (a fresh model differs everywhere)
    result = run_cli(
        *arguments, "--out", str(tmp_path / "on"), "--text-recipe", "frozen-contrastive", "--learning-rate", "1e-12"
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "on" / "text-loss.jsonl").exists()  # no new text stage: the saved encoders are kept
    continued = load_file(str(tmp_path / "on" / "weights" / "shapes.safetensors"))
    assert continued.keys() == exported.keys()
    for key, value in exported.items():
        assert torch.equal(continued[key], value), key
    recorded = json.loads((tmp_path / "on" / "weights" / "config.json").read_text())["recipe"]
    assert recorded["text_recipe"] == "frozen-contrastive" and recorded["init_from"] == str(source / "weights")
    assert recorded["parent"] == json.loads((source / "weights" / "config.json").read_text())["recipe"]

    refused = run_cli(*arguments, "--out", str(tmp_path / "joint"))  # the joint recipe is the default
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "trained with text recipe 'frozen-contrastive', this run asks for 'joint'" in refused.output
    assert len(refused.output.strip().splitlines()) == 1


def test_padding_augmentation_without_frozen_encoders_is_a_usage_error(tmp_path, run_cli):
    result = run_cli("world", "train", "--out", str(tmp_path), "--preset", "smoke", "--padding-augmentation", "0.5")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--padding-augmentation applies to --text-recipe frozen-contrastive" in result.output
    assert not any(tmp_path.iterdir())  # refused before anything was written
