"""The corrected scores through score_record and the verdicts: presence and the neglected verdict, flat maps, and
verdict wording that follows the validation."""

from __future__ import annotations

import pytest
import torch
from attnmod.analysis import verdicts as verdicts_module
from attnmod.analysis.scoring import score_record, summary_metrics
from attnmod.analysis.verdicts import verdicts
from attnmod.toolkit.attention_record import AttentionRecord, Phase
from attnmod.toolkit.prompt_tree import Attribute, Entity, PromptTree

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
    cat, dog = scores["overall"]["entities"]
    # a left pixel: words hold 0.05 x 3 + 0.4 (cat) + 2e-4 (dog, black); the cat's share is 0.4 / 0.5502
    assert cat["presence"] == pytest.approx(0.4 / 0.5502, rel=1e-3) and not cat["neglected"]
    # a right pixel: words hold 0.15 + 2e-4; the dog's largest share is there: 1e-4 / 0.1502
    assert dog["presence"] == pytest.approx(1e-4 / 0.1502, rel=1e-2) and dog["neglected"]
    assert dog["flat"] and dog["full_region"] == 0.0  # uniform: no localised attention, no region
    summary = summary_metrics(scores)
    assert summary["neglected"] == 1.0 and summary["presence"] == pytest.approx(dog["presence"])
    found = verdicts(scores)
    assert (
        "entity 'dog' may be neglected: no patch gives it more than 0% of the patch's attention to the prompt's words "
        "(presence 0.00 < 0.20)"
    ) in found
    assert any(line.startswith("entity 'dog' has no localised attention (contrast 0.00 < 0.25)") for line in found)
    assert not any(line.startswith("binding of") for line in found)  # the dog's own line says why
    assert scores["overall"]["leakage"] is None  # the flat dog localises nothing: the pair cannot be scored


def test_a_verdict_whose_score_predicted_nothing_says_so(monkeypatch):
    record = record_with(cat=left_half(0.4), dog=torch.full((SIZE, SIZE), 1e-4), black=torch.full((SIZE, SIZE), 1e-4))
    scores = score_record(record)
    monkeypatch.setitem(verdicts_module.VALIDATION, "neglected", "nothing")
    (line,) = [line for line in verdicts(scores) if "neglected" in line]
    assert line.endswith("(in validation this score did not predict the judge's failures: see docs/validity.md)")
    monkeypatch.setitem(verdicts_module.VALIDATION, "neglected", "predicts")
    (line,) = [line for line in verdicts(scores) if "neglected" in line]
    assert line.endswith("(presence 0.00 < 0.20)")
