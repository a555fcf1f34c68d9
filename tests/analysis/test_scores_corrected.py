"""The corrected scores through score_record and the verdicts: presence and the neglected verdict, flat maps, and
verdict wording that follows the validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from attnmod.analysis import verdicts as verdicts_module
from attnmod.analysis.scoring import score_record, self_attention_grid, summary_metrics
from attnmod.analysis.verdicts import verdicts
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.record import AttentionRecord, Phase
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree

SIZE = 8
# "a cat and a black dog": positions 1 a, 2 cat, 3 and, 4 a, 5 black, 6 dog, 7 end, then padding
TOKEN_IDS = [49406, 320, 2368, 537, 320, 1449, 1929, 49407] + [49407] * 69
TREE = PromptTree(
    "a cat and a black dog",
    (
        Entity("cat", "cat", (2, 5), (), None, (2,)),
        Entity("dog", "dog", (18, 21), (Attribute("black", (12, 17), (5,)),), None, (6,)),
    ),
)


def record_with(cat: torch.Tensor, dog: torch.Tensor, black: torch.Tensor) -> AttentionRecord:
    """Raw per-pixel probabilities over 77 tokens; the start token takes whatever the words leave."""
    maps = torch.zeros(77, SIZE, SIZE)
    maps[1] = maps[3] = maps[4] = 0.05
    maps[2], maps[6], maps[5] = cat, dog, black
    maps[0] = 1 - maps[1:].sum(0)
    record = AttentionRecord(phases=(Phase("all", 0.0, 1.0),), token_ids=list(TOKEN_IDS), tree=TREE)
    record.add("cross", f"{SIZE}x{SIZE}", "all", maps)
    return record


def left_half(value: float) -> torch.Tensor:
    planted = torch.zeros(SIZE, SIZE)
    planted[:, : SIZE // 2] = value
    return planted


def test_an_ignored_entity_is_neglected_with_its_presence_in_the_verdict():
    # the dog gets 1e-4 of every pixel: its per-token map is a full uniform map, but its presence is tiny
    record = record_with(cat=left_half(0.4), dog=torch.full((SIZE, SIZE), 1e-4), black=torch.full((SIZE, SIZE), 1e-4))
    scores = score_record(record)
    cat, dog = scores.overall.entities
    # a left pixel: words hold 0.05 x 3 + 0.4 (cat) + 2e-4 (dog, black); the cat's share is 0.4 / 0.5502
    assert cat.presence == pytest.approx(0.4 / 0.5502, rel=1e-3) and not cat.neglected
    # a right pixel: words hold 0.15 + 2e-4; the dog's largest share is there: 1e-4 / 0.1502
    assert dog.presence == pytest.approx(1e-4 / 0.1502, rel=1e-2) and dog.neglected
    assert dog.flat and dog.full_region == 0.0  # uniform: no localised attention, no region
    summary = summary_metrics(scores)
    assert summary["neglected"] == 1.0 and summary["presence"] == pytest.approx(dog.presence)
    found = verdicts(scores)
    assert any(  # then what the validation measured (analysis/validation.json)
        line.startswith(
            "entity 'dog' may be neglected: no patch gives it more than 0% of the patch's attention to the prompt's "
            "words (presence 0.00 < 0.20)"
        )
        for line in found
    )
    assert any(line.startswith("entity 'dog' has no localised attention (contrast 0.00 < 0.25)") for line in found)
    assert not any(line.startswith("binding of") for line in found)  # the dog's own line says why
    assert scores.overall.leakage is None  # the flat dog localises nothing: the pair cannot be scored


def test_a_verdict_whose_score_predicted_nothing_says_so_with_its_figures(monkeypatch):
    record = record_with(cat=left_half(0.4), dog=torch.full((SIZE, SIZE), 1e-4), black=torch.full((SIZE, SIZE), 1e-4))
    scores = score_record(record)
    measured = {"failure": "missing", "auroc": 0.514, "ci": [0.44, 0.58], "reading": "nothing"}
    monkeypatch.setitem(verdicts_module.VALIDATION, "neglected", measured)
    (line,) = [line for line in verdicts(scores) if "neglected" in line]
    assert line.startswith("entity 'dog' may be neglected:")
    assert line.endswith(
        "(presence 0.00 < 0.20) [not validated: on the shapes world this predicted the judge's missing objects no "
        "better than chance, AUROC 0.51 (95% CI 0.44-0.58); see docs/validity.md]"
    )
    monkeypatch.setitem(verdicts_module.VALIDATION, "neglected", {**measured, "auroc": 0.83, "ci": [0.78, 0.88]})
    monkeypatch.setitem(verdicts_module.VALIDATION["neglected"], "reading", "predicts")
    (line,) = [line for line in verdicts(scores) if "neglected" in line]
    assert line.endswith(
        "(presence 0.00 < 0.20) [validated: on the shapes world this predicted the judge's missing objects with "
        "AUROC 0.83 (95% CI 0.78-0.88)]"
    )
    monkeypatch.setitem(verdicts_module.VALIDATION, "neglected", None)  # not measured: no claim either way
    (line,) = [line for line in verdicts(scores) if "neglected" in line]
    assert line.endswith("(presence 0.00 < 0.20)")


def test_the_shipped_validation_file_words_every_verdict_it_measured():
    from attnmod.analysis import registry

    loaded = registry.load_validation()
    assert set(loaded) == set(registry.VALIDATED_VERDICTS)
    assert verdicts_module.VALIDATION is registry.VALIDATION  # one table for the verdicts and the report
    for kind, entry in loaded.items():
        if entry is None:
            continue
        low, high = entry["ci"]
        expected = "nothing" if low <= 0.5 <= high else "opposite" if high < 0.5 else None
        if expected is not None:  # an interval around chance is worded as "not validated"
            assert entry["reading"] == expected, kind
            assert registry.validity_note(entry).startswith(" [not validated:"), kind
        assert f"AUROC {entry['auroc']:.2f}" in registry.validity_note(entry)


def test_an_absent_or_broken_validation_file_makes_no_claim(tmp_path):
    from attnmod.analysis import registry

    assert set(registry.load_validation(tmp_path / "absent.json").values()) == {None}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert set(registry.load_validation(broken).values()) == {None}
    assert registry.validity_note(None) == ""


@pytest.mark.parametrize(
    ("pixels", "like", "grid"),
    [
        (256, (16, 16), (16, 16)),  # the same size as the cross-attention maps
        (64, (16, 16), (8, 8)),  # a coarser level of a square image
        (24, (8, 12), (4, 6)),  # a wide image keeps its aspect ratio at half the size
        (96, (4, 6), (8, 12)),  # ...and at twice the size
        (49, (3, 5), (7, 7)),  # no grid of the cross maps' shape holds 49 pixels: a square one does
    ],
)
def test_self_attention_grid_keeps_the_aspect_ratio_of_the_cross_maps(pixels, like, grid):
    assert self_attention_grid(pixels, like) == grid


def test_self_attention_grid_refuses_a_map_no_grid_fits():
    with pytest.raises(AttnmodError, match="cannot tell the grid of a 30-pixel self-attention map"):
        self_attention_grid(30, (4, 4))


def test_a_negated_entity_is_never_called_neglected():
    # the same planted maps as above, where the dog is neglected; here the prompt negates it ("no black dog")
    cat, dog = TREE.entities
    negated = dataclasses.replace(TREE, entities=(cat, dataclasses.replace(dog, absent=True)))
    record = record_with(cat=left_half(0.4), dog=torch.full((SIZE, SIZE), 1e-4), black=torch.full((SIZE, SIZE), 1e-4))
    scores = score_record(record, tree=negated)
    assert [row.entity for row in scores.overall.entities] == [0]  # the dog is not scored
    assert {"entity": 1, "attribute": None, "text": "dog", "reason": "the prompt negates it (absent)"} in scores.skipped
    assert "entity 'dog' was skipped: the prompt negates it (absent)" in scores.notes
    assert summary_metrics(scores)["neglected"] == 0.0
    found = verdicts(scores)
    assert not any("neglected" in line for line in found), found
    # with the dog present, the same maps give the neglected verdict: the mark is what removes it
    assert any("'dog' may be neglected" in line for line in verdicts(score_record(record)))
