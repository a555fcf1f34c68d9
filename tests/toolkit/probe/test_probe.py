"""The information-flow probe (toolkit/probe.py) on planted pipelines whose answers are known, and its table
(analysis/information_flow.py) on planted images.

The planted pipelines are the embedded tiny ones with the UNet replaced by a stub whose noise prediction is built
from chosen text positions only, so which edits may change the image is known before the probe runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attnmod.analysis.information_flow import probe_table, rms_distance, seed_change, summarise, swapped_scene
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.models.loading import build_tiny_sd, build_tiny_sdxl
from attnmod.toolkit.probe import Edit, ProbeImages, plan_edits, run_probe
from attnmod.toolkit.prompt.parse import parse_prompt
from attnmod.toolkit.shapes_world import Scene, ShapeObject, render_scene

PROMPT = "a red circle and a blue square"
# CLIP gives each of these words one token: start 0, a 1, red 2, circle 3, and 4, a 5, blue 6, square 7, end 8.
RED, BLUE, END = 2, 6, 8
STEPS = 3


class PositionReader(torch.nn.Module):
    """A UNet stand-in: the noise prediction's left half is the first of ``features`` of the text state at ``left``,
    its right half that of the state at ``right``; nothing else of the text reaches the image (a mean over features
    would not do: SD 1.x's final layer norm makes it the same for every token). Counts the images it
    denoises (conditional rows at the first step)."""

    def __init__(self, unet, left: int, right: int | None = None, features=slice(None)):
        super().__init__()
        self.inner = unet
        self.config = unet.config
        self.add_embedding = getattr(unet, "add_embedding", None)
        self.left, self.right = left, left if right is None else right
        self.features = features
        self.rows = 0

    @property
    def dtype(self):
        return self.inner.dtype

    @property
    def device(self):
        return self.inner.device

    def forward(self, sample, timestep, encoder_hidden_states, *args, return_dict=True, **kwargs):
        self.rows += sample.shape[0]
        states = encoder_hidden_states[..., self.features]
        out = torch.zeros_like(sample)
        half = sample.shape[-1] // 2
        out[..., :half] = states[:, self.left, 0][:, None, None, None]
        out[..., half:] = states[:, self.right, 0][:, None, None, None]
        return (out,)


def planted(build, left, right=None, features=slice(None)):
    pipe = build()
    pipe.unet = PositionReader(pipe.unet, left, right, features)
    tree = parse_prompt(PROMPT, tokenizers=[pipe.tokenizer])
    return pipe, tree


def plain_latents(pipe, seeds, guidance, **embeddings):
    """The pipeline's own final latents for given embeddings (or ``prompt=``), one generator per seed."""
    with torch.no_grad():
        return (
            pipe(
                **embeddings,
                num_inference_steps=STEPS,
                guidance_scale=guidance,
                height=64,
                width=64,
                generator=[torch.Generator().manual_seed(s) for s in seeds],
                output_type="latent",
            )
            .images.float()
            .numpy()
        )


def test_the_tree_words_sit_where_clip_puts_them():
    pipe, tree = planted(build_tiny_sdxl, RED)
    edits = {edit.key: edit for edit in plan_edits(tree, END + 1)}
    assert edits["word:red"].positions == (RED,)
    assert edits["word:blue"].positions == (BLUE,)
    assert edits["end"].positions == (END,)
    assert edits["padding"].positions == tuple(range(END + 1, 77))
    assert edits["other-words"].positions == (1, 4, 5)
    assert edits["swap:red:blue"].source == "a blue circle and a red square"
    assert edits["swap:circle:square"].source == "a red square and a blue circle"


@pytest.mark.parametrize("guidance", [5.0, 1.0])
def test_only_the_position_the_unet_reads_changes_the_image(guidance):
    pipe, tree = planted(build_tiny_sdxl, RED)
    seeds = [0, 1]
    probe = run_probe(pipe, PROMPT, tree, seeds=seeds, steps=STEPS, guidance=guidance, batch_size=5)
    keys = [edit.key for edit in probe.edits]
    # Cost: (edits + 1) x seeds images, each denoised STEPS times (twice as many rows with guidance).
    assert probe.generations == (len(keys) + 1) * len(seeds)
    assert pipe.unet.rows == probe.generations * STEPS * (2 if guidance > 1 else 1)
    touching_red = {"word:red", "all-words", "swap:red:blue"}
    for index, key in enumerate(keys, start=1):
        change = np.abs(probe.latents[index] - probe.latents[0]).max()
        if key in touching_red:
            assert change > 1e-3, key
        else:
            assert change < 1e-5, key
    # The edited latents are what the pipeline itself gives for the prompt's states with the empty prompt's state
    # at the red position (encoded here with the pipeline's own encoder, not the probe's).
    embeds, negative, pooled, negative_pooled = pipe.encode_prompt(PROMPT, device="cpu", num_images_per_prompt=1)
    empty = pipe.encode_prompt("", device="cpu", num_images_per_prompt=1)[0]
    edited = embeds.clone()
    edited[:, RED] = empty[:, RED]
    expected = plain_latents(
        pipe,
        seeds,
        guidance,
        prompt_embeds=edited.repeat(2, 1, 1),
        negative_prompt_embeds=negative.repeat(2, 1, 1),
        pooled_prompt_embeds=pooled.repeat(2, 1),
        negative_pooled_prompt_embeds=negative_pooled.repeat(2, 1),
    )
    np.testing.assert_allclose(probe.latents[keys.index("word:red") + 1], expected, atol=1e-5)
    table = probe_table(probe)
    assert table.row("word:red").image_effect > 0
    assert table.row("pooled").image_effect == pytest.approx(0, abs=1e-4)
    assert table.rows[-1].image_effect == pytest.approx(0, abs=1e-4)


def test_a_swap_puts_the_swapped_prompts_states_at_the_two_words():
    # Left half painted from the red word's state, right half from the blue word's: after the swap each half shows
    # what the prompt with the colours exchanged gives there.
    pipe, tree = planted(build_tiny_sdxl, RED, BLUE)
    probe = run_probe(pipe, PROMPT, tree, seeds=[3], edits="swap:red:blue", steps=STEPS)
    expected = plain_latents(pipe, [3], 5.0, prompt="a blue circle and a red square")
    np.testing.assert_allclose(probe.latents[1], expected, atol=1e-5)
    assert np.abs(probe.latents[1] - probe.latents[0]).max() > 1e-3
    assert probe.generations == 2 + 1  # one seed: one extra unedited seed for the normalisation
    assert probe.extra_image is not None


def test_sdxl_encoders_are_edited_separately():
    # The stub reads the red position through the second encoder's features only (the tiny encoders are 32 wide).
    pipe, tree = planted(build_tiny_sdxl, RED, features=slice(32, 64))
    probe = run_probe(pipe, PROMPT, tree, seeds=[0], edits="word:red", encoders="both,1,2", steps=STEPS)
    change = {e.key: np.abs(probe.latents[i] - probe.latents[0]).max() for i, e in enumerate(probe.edits, 1)}
    assert set(change) == {"word:red", "word:red@1", "word:red@2"}
    assert change["word:red@1"] < 1e-5
    assert change["word:red@2"] > 1e-3 and change["word:red"] > 1e-3


def test_sd1_has_no_pooled_edit_and_one_encoder():
    pipe, tree = planted(build_tiny_sd, BLUE)
    probe = run_probe(pipe, PROMPT, tree, seeds=[0, 1], edits="default", steps=STEPS, guidance=1.0)
    keys = [edit.key for edit in probe.edits]
    assert "pooled" not in keys
    changed = {k for i, k in enumerate(keys, 1) if np.abs(probe.latents[i] - probe.latents[0]).max() > 1e-3}
    assert changed == {"word:blue", "all-words", "swap:red:blue"}
    with pytest.raises(AttnmodError, match="no text encoder 2"):
        run_probe(pipe, PROMPT, tree, seeds=[0], edits="padding@2", steps=1)


def test_the_pipeline_is_left_as_it_was():
    pipe = build_tiny_sdxl()
    tree = parse_prompt(PROMPT, tokenizers=[pipe.tokenizer])
    processors = dict(pipe.unet.attn_processors)
    weights = {name: p.detach().clone() for name, p in pipe.text_encoder.named_parameters()}
    unet = pipe.unet
    run_probe(pipe, PROMPT, tree, seeds=[0], edits="word:red,padding,pooled", steps=1, height=32, width=32)
    assert pipe.unet is unet
    assert all(pipe.unet.attn_processors[name] is processor for name, processor in processors.items())
    assert all(torch.equal(p, weights[name]) for name, p in pipe.text_encoder.named_parameters())


def test_bad_requests_fail_with_one_clear_error():
    pipe = build_tiny_sdxl()
    tree = parse_prompt(PROMPT, tokenizers=[pipe.tokenizer])
    with pytest.raises(AttnmodError, match="not in the prompt's tree; words: word:red"):
        run_probe(pipe, PROMPT, tree, edits="word:green", steps=1)
    with pytest.raises(AttnmodError, match="unknown edit"):
        run_probe(pipe, PROMPT, tree, edits="colours", steps=1)
    long = " ".join(["a red circle and a blue square"] * 12)
    with pytest.raises(AttnmodError, match="more than the text encoders' 77"):
        run_probe(pipe, long, parse_prompt(long, tokenizers=[pipe.tokenizer]), steps=1)
    pipe.text_encoder = pipe.text_encoder_2 = None
    with pytest.raises(AttnmodError, match="no text encoders"):
        run_probe(pipe, PROMPT, tree, steps=1)


# ---- the table, on planted images ----


def _scene(first_colour="red", second_colour="blue") -> Scene:
    objects = (
        ShapeObject("circle", first_colour, "large", 18.0, 20.0, 12.0),
        ShapeObject("square", second_colour, "large", 46.0, 44.0, 12.0),
    )
    return Scene(objects, f"a {first_colour} circle and a {second_colour} square", "pair")


def _pixels(scene: Scene) -> np.ndarray:
    return render_scene(scene)[0].astype(np.float32) / 255.0


def test_distances_and_the_seed_change():
    a, b, c = np.zeros((4, 4, 3)), np.full((4, 4, 3), 0.5), np.ones((4, 4, 3))
    assert rms_distance(a, c) == 1.0
    assert seed_change(np.stack([a, b, c])) == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert seed_change(np.stack([a]), extra=b) == 0.5


def test_the_judge_reads_presence_and_whether_a_swap_was_followed():
    scene = _scene()
    truth, exchanged = _pixels(scene), _pixels(_scene("blue", "red"))
    blank = np.zeros_like(truth) + np.array([28, 28, 32], dtype=np.float32) / 255.0
    edits = [
        Edit("padding", "replace", "padding", (9,)),
        Edit("swap:red:blue", "swap", "swap-attributes", (2,), (6,), entities=(0, 1), words=("red", "blue")),
    ]
    probe = ProbeImages(
        prompt=scene.caption,
        tree=None,
        seeds=[0, 1],
        edits=edits,
        images=np.stack([np.stack([truth, blank]), np.stack([blank, blank]), np.stack([exchanged, exchanged])]),
        latents=np.zeros((3, 2, 4, 8, 8)),
        words=[],
        token_count=9,
        settings={},
        generations=6,
        seconds=1.0,
    )
    table = probe_table(probe, scene)
    assert table.unedited["present"] == 0.5  # seed 1's unedited image is blank
    assert table.row("padding").judged["present"] == 0.0
    swap = table.row("swap:red:blue").judged
    assert swap["followed"] == 1.0 and swap["kept"] == 0.0
    # Effects: the padding edit of seed 0 turns the truth blank, seed 1 stays blank; the seed change is
    # the distance between the unedited truth and blank.
    assert table.row("padding").seed_effects == pytest.approx([1.0, 0.0])
    summary = summarise([table, table])
    assert summary["padding"]["present"]["mean"] == 0.0
    assert summary["swap-attributes"]["followed"]["mean"] == 1.0
    assert list(summary)[0] == "none"


def test_swapped_scene_exchanges_colours_or_shapes():
    scene = _scene()
    colours = swapped_scene(scene, {"kind": "swap", "entities": [0, 1], "words": ["red", "blue"]})
    assert [(o.shape, o.colour) for o in colours.objects] == [("circle", "blue"), ("square", "red")]
    shapes = swapped_scene(scene, {"kind": "swap", "entities": [0, 1], "words": ["circle", "square"]})
    assert [(o.shape, o.colour) for o in shapes.objects] == [("square", "red"), ("circle", "blue")]
    assert swapped_scene(scene, {"kind": "replace", "entities": [0], "words": ["red"]}) is None
    stars = Scene(
        (ShapeObject("star", "green", "small", 16, 32, 7), ShapeObject("star", "white", "small", 48, 32, 7)),
        "a green star and a white star",
        "pair",
    )
    # Exchanging the colours of two stars gives the same stars to a judge that matches by shape and colour.
    assert swapped_scene(stars, {"kind": "swap", "entities": [0, 1], "words": ["green", "white"]}) is None
