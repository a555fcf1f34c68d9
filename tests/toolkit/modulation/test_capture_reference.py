"""Reference maps: a modulated run keeps the model's own attention (what it computed before the edit) and the
applied attention, and is scored on the model's own maps by default."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from attnmod.analysis import attention_maps, map_overlap
from attnmod.analysis.scoring import score_record
from attnmod.toolkit.generation import generate
from attnmod.toolkit.modulation.capture import AttentionCapture
from attnmod.toolkit.modulation.config import ModulationConfig
from attnmod.toolkit.modulation.context import AttentionEvent
from attnmod.toolkit.modulation.record import AttentionRecord, Phase
from planted import CAT_DOG

ONE_PHASE = (Phase("all", 0.0, 1.0),)


def cross_event(used: torch.Tensor, own: torch.Tensor) -> AttentionEvent:
    return AttentionEvent("m", "cross", 1, (2, 2), 0, 0.0, used, lambda: own)


def head_mean_maps(probabilities: torch.Tensor) -> torch.Tensor:
    """[B, heads, 4 patches, 77 tokens] -> [B, 77, 2, 2], written out independently of the capture's code."""
    batch = probabilities.shape[0]
    return probabilities.mean(dim=1).permute(0, 2, 1).reshape(batch, 77, 2, 2)


def test_capture_keeps_the_models_own_sums_and_the_applied_ones_only_where_they_differ():
    capture = AttentionCapture(samples=1, phases=ONE_PHASE)
    plain = torch.rand(1, 2, 4, 77)
    own, used = torch.rand(1, 2, 4, 77), torch.rand(1, 2, 4, 77)
    capture.observe(AttentionEvent("m", "cross", 1, (2, 2), 0, 0.0, plain, lambda: plain))
    assert capture.applied == {}  # nothing modulated yet: one set of sums
    capture.observe(cross_event(used, own))
    expected_own = head_mean_maps(plain) + head_mean_maps(own)
    expected_applied = head_mean_maps(plain) + head_mean_maps(used)
    assert torch.allclose(capture.sums["cross/2x2/all"], expected_own, atol=1e-6)
    assert torch.allclose(capture.applied["cross/2x2/all"], expected_applied, atol=1e-6)
    record = capture.records([[0] * 77], [["t"] * 77], [None])[0]
    assert torch.allclose(record.mean("cross", "2x2", "all"), expected_own[0] / 2, atol=1e-6)
    assert torch.allclose(record.mean("cross", "2x2", "all", source="applied"), expected_applied[0] / 2, atol=1e-6)
    assert record.modulated_keys == ["cross/2x2/all"]


def test_both_map_sets_survive_saving_and_a_format_one_record_is_labelled_applied(tmp_path):
    own, applied = torch.rand(77, 2, 2), torch.rand(77, 2, 2)
    record = AttentionRecord(
        phases=ONE_PHASE,
        sums={"cross/2x2/all": own},
        counts={"cross/2x2/all": 3},
        applied={"cross/2x2/all": applied},
        metadata={"modulated": True},
    )
    record.save(tmp_path / "new")
    loaded = AttentionRecord.load(tmp_path / "new")
    assert loaded.sums_source == "model"
    assert torch.equal(loaded.sums["cross/2x2/all"], own) and torch.equal(loaded.applied["cross/2x2/all"], applied)
    meta = json.loads((tmp_path / "new" / "attention.json").read_text())
    assert meta["format"] == "attnmod.attention/2" and meta["applied"] == ["cross/2x2/all"]
    # an earlier (format 1) record of a modulated run kept only the applied maps, under the plain keys
    legacy = AttentionRecord(phases=ONE_PHASE, sums={"cross/2x2/all": applied}, counts={"cross/2x2/all": 3})
    legacy.metadata = {"modulated": True}
    legacy.save(tmp_path / "old")
    meta_path = tmp_path / "old" / "attention.json"
    old_meta = json.loads(meta_path.read_text())
    old_meta["format"] = "attnmod.attention/1"
    del old_meta["applied"], old_meta["sums_source"]
    meta_path.write_text(json.dumps(old_meta))
    assert AttentionRecord.load(tmp_path / "old").sums_source == "applied"


def masking_everywhere() -> ModulationConfig:
    """Masking alone, over the whole run and every layer, assigning every patch (margin 0), one capture phase."""
    config = ModulationConfig.from_json({"variant": "masking", "masking": {"margin": 0.0, "window": [0.0, 1.0]}})
    return dataclasses.replace(config, capture=dataclasses.replace(config.capture, phases=ONE_PHASE))


class CallProbe:
    """Keeps, per cross-attention call, the head-averaged applied and own maps (as the test computes them)."""

    def __init__(self):
        self.calls = []

    def wants(self, kind, module, level):
        return kind == "cross"

    def observe(self, event):
        height, width = event.resolution
        as_maps = lambda p: p.float().mean(1)[0].T.reshape(77, height, width)  # noqa: E731
        everywhere = event.assignment is not None and bool((event.assignment >= 0).all())
        self.calls.append((f"{height}x{width}", as_maps(event.probabilities), as_maps(event.reference()), everywhere))


def entity_overlap(token_maps: torch.Tensor) -> float:
    cat = attention_maps.group_map(token_maps, [3])
    dog = attention_maps.group_map(token_maps, [7])
    return float(map_overlap.overlap(cat, dog))


@pytest.mark.slow
def test_masking_separates_the_applied_maps_but_the_models_own_maps_still_overlap(tiny_model):
    probe = CallProbe()
    result = generate(
        tiny_model, CAT_DOG.prompt, masking_everywhere(), 0, 3, trees=[CAT_DOG], height=64, width=64, observers=[probe]
    )[0]
    record = result.record
    masked = [(own, applied) for _, applied, own, everywhere in probe.calls if everywhere]
    assert masked, "masking never assigned every patch"
    for own, applied in masked:
        # margin 0: every masked patch shows either the cat's or the dog's token, never both
        assert entity_overlap(applied) < 1e-4
        # the random-weight model's own maps are nearly uniform: cat and dog overlap almost completely
        assert entity_overlap(own) > 0.8
    for resolution in record.resolutions("cross"):
        calls = [(applied, own) for key, applied, own, _ in probe.calls if key == resolution]
        expected_own = torch.stack([own for _, own in calls]).mean(0)
        expected_applied = torch.stack([applied for applied, _ in calls]).mean(0)
        assert torch.allclose(record.mean("cross", resolution, "all"), expected_own, atol=1e-5)
        assert torch.allclose(record.mean("cross", resolution, "all", source="applied"), expected_applied, atol=1e-5)
        assert entity_overlap(record.mean("cross", resolution, "all")) > 0.8
    # the run's scores are those of the model's own maps; the applied maps are scored only on request, labelled
    default = score_record(record, CAT_DOG)
    own_only = AttentionRecord(
        phases=record.phases, sums=record.sums, counts=record.counts, token_ids=record.token_ids, tree=CAT_DOG
    )
    applied = score_record(record, CAT_DOG, source="applied")
    assert default.maps == "model" and applied.maps == "applied"
    assert default.overall == score_record(own_only, CAT_DOG).overall
    # masking hides the dog's tokens on the cat's patches and back: the applied maps give other presences
    own_presence = [row.presence for row in default.overall.entities]
    applied_presence = [row.presence for row in applied.overall.entities]
    assert own_presence != pytest.approx(applied_presence, abs=1e-3)
