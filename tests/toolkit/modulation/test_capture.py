"""Attention capture: running sums per resolution and phase, independent of batching and of the number of steps."""

from __future__ import annotations

import pytest
import torch
from attnmod.toolkit.generation import generate, save_generation
from attnmod.toolkit.modulation.capture import AttentionCapture, estimate_state_bytes
from attnmod.toolkit.modulation.config import CaptureConfig, ModulationConfig
from attnmod.toolkit.modulation.context import AttentionEvent
from attnmod.toolkit.modulation.record import AttentionRecord, Phase
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree
from planted import CAT_DOG

SIZE = {"height": 64, "width": 64}
BIRD = PromptTree("a small bird", (Entity("bird", "bird", (8, 12), (Attribute("small", (2, 7), (2,)),), None, (3,)),))
BOAT = PromptTree("a green boat", (Entity("boat", "boat", (8, 12), (Attribute("green", (2, 7), (2,)),), None, (3,)),))


def event(progress: float, probabilities: torch.Tensor, kind: str = "cross", resolution=(2, 2)) -> AttentionEvent:
    return AttentionEvent("m", kind, 1, resolution, 0, progress, probabilities, lambda: probabilities)


def test_running_sums_add_head_means_per_phase_and_resolution():
    capture = AttentionCapture(samples=2, phases=(Phase("a", 0.0, 0.5), Phase("b", 0.5, 1.0)))
    first = torch.rand(2, 3, 4, 77)  # [samples, heads, 2x2 patches, tokens]
    second = torch.rand(2, 3, 4, 77)
    capture.observe(event(0.0, first))
    capture.observe(event(0.25, second))
    capture.observe(event(0.75, first))
    assert capture.counts == {"cross/2x2/a": 2, "cross/2x2/b": 1}
    expected = (first.mean(1) + second.mean(1)).transpose(1, 2).reshape(2, 77, 2, 2)
    assert torch.allclose(capture.sums["cross/2x2/a"], expected)
    records = capture.records([[0] * 77] * 2, [["t"] * 77] * 2, [None, None])
    assert torch.allclose(records[1].mean("cross", "2x2", "a"), expected[1] / 2)
    assert not capture.wants("self", "m", 1)


@pytest.mark.parametrize("fixture", ["tiny_model", "tiny_sd_model"])
def test_same_record_alone_and_inside_a_batch_of_three(fixture, request):
    model = request.getfixturevalue(fixture)
    config = ModulationConfig.from_variant("full")
    alone = generate(model, CAT_DOG.prompt, config, 5, 3, trees=[CAT_DOG], **SIZE)[0]
    batch = generate(
        model, [BIRD.prompt, CAT_DOG.prompt, BOAT.prompt], config, [1, 5, 2], 3, trees=[BIRD, CAT_DOG, BOAT], **SIZE
    )
    inside = batch[1]
    assert inside.record.counts == alone.record.counts
    for key, value in alone.record.sums.items():
        assert torch.allclose(inside.record.sums[key], value, atol=1e-4, rtol=1e-4), key
    assert abs(inside.pixels - alone.pixels).max() < 1e-4
    assert not torch.allclose(batch[0].record.sums["cross/16x16/early"], alone.record.sums["cross/16x16/early"])
    # every patch's attention over the 77 tokens sums to 1, so the mean map does too
    mean = alone.record.mean("cross", "16x16", "early")
    assert torch.allclose(mean.sum(0), torch.ones(16, 16), atol=1e-5)


@pytest.mark.slow
def test_capture_memory_does_not_grow_with_steps(tiny_model):
    config = ModulationConfig(capture=CaptureConfig(self_attention=True))
    short, long = (
        generate(tiny_model, CAT_DOG.prompt, config, 0, steps, trees=[CAT_DOG], height=32, width=32)[0].record
        for steps in (10, 40)
    )
    assert short.nbytes() == long.nbytes() > 0
    assert short.metadata["capture"]["peak_bytes"] == long.metadata["capture"]["peak_bytes"]
    assert sum(long.counts.values()) == 4 * sum(short.counts.values())
    assert short.nbytes() == estimate_state_bytes([(8, 8)], phases=3, self_resolution=(8, 8))


def test_self_attention_is_captured_at_the_coarsest_resolution_only(tiny_sd_model):
    config = ModulationConfig(capture=CaptureConfig(phases=(Phase("all", 0.0, 1.0),), self_attention=True))
    record = generate(tiny_sd_model, CAT_DOG.prompt, config, 0, 2, trees=[CAT_DOG], **SIZE)[0].record
    assert sorted(record.sums) == ["cross/16x16/all", "self/16x16/all"]
    self_mean = record.mean("self", "16x16", "all")
    assert self_mean.shape == (256, 256)
    assert torch.allclose(self_mean.sum(-1), torch.ones(256), atol=1e-5)


def test_saved_generation_loads_back(tiny_model, tmp_path):
    result = generate(tiny_model, CAT_DOG.prompt, ModulationConfig.from_variant("masking"), 3, 2, trees=[CAT_DOG],
                      **SIZE)[0]  # fmt: skip
    written = save_generation(result, tmp_path / "item")
    assert sorted(p.name for p in written.values()) == [
        "attention.json",
        "attention.safetensors",
        "config.json",
        "image.png",
        "parse.json",
    ]
    loaded = AttentionRecord.load(tmp_path / "item")
    assert loaded.counts == result.record.counts and loaded.tree == CAT_DOG
    assert loaded.token_texts[:4] == ["<|startoftext|>", "a</w>", "red</w>", "cat</w>"]
    for key, value in result.record.sums.items():
        assert torch.equal(loaded.sums[key], value)
    assert loaded.metadata["variant"] == "masking" and loaded.metadata["seed"] == 3


def test_garbled_tensor_bytes_behind_an_intact_header_are_refused_on_load(tmp_path):
    import json
    import struct

    from attnmod.toolkit.errors import AttnmodError
    from attnmod.toolkit.modulation.record import DEFAULT_PHASES

    record = AttentionRecord(phases=DEFAULT_PHASES, token_ids=[0, 1], token_texts=["a", "b"])
    record.add("cross", "8x8", "early", torch.full((2, 8, 8), 0.5))
    record.save(tmp_path)
    assert AttentionRecord.load(tmp_path).mean("cross", "8x8", "early").max().item() == 0.5
    tensor_file = tmp_path / "attention.safetensors"
    data = bytearray(tensor_file.read_bytes())
    header = 8 + struct.unpack("<Q", bytes(data[:8]))[0]
    data[header : header + 4] = struct.pack("<f", 3e12)  # a finite, absurd value: the header still parses
    tensor_file.write_bytes(bytes(data))
    with pytest.raises(AttnmodError, match="does not match the checksum"):
        AttentionRecord.load(tmp_path)
    # A record from before checksums is still read, but a non-finite value in it is refused.
    metadata = json.loads((tmp_path / "attention.json").read_text(encoding="utf-8"))
    del metadata["tensor_sha256"]
    (tmp_path / "attention.json").write_text(json.dumps(metadata), encoding="utf-8")
    assert AttentionRecord.load(tmp_path).sums
    data[header : header + 4] = struct.pack("<f", float("nan"))
    tensor_file.write_bytes(bytes(data))
    with pytest.raises(AttnmodError, match="non-finite"):
        AttentionRecord.load(tmp_path)
