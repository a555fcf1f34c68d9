"""The pure math of masking and reweighting, on planted probabilities with known answers."""

from __future__ import annotations

import torch
from attnmod.toolkit.modulation_config import Curve, ModulationConfig, ReweightingConfig, Window
from attnmod.toolkit.processors import (
    ATTRIBUTE,
    ENTITY,
    OTHER,
    SPECIAL,
    ModulationPlan,
    assign_patches,
    modulate_probabilities,
    plan_sample,
    token_weights,
    visible_tokens,
)
from attnmod.toolkit.prompt_tree import Attribute, Entity, PromptTree

# "a red cat and a blue dog": 0 <start>, 1 a, 2 red, 3 cat, 4 and, 5 a, 6 blue, 7 dog, 8 <end>
CAT_DOG = PromptTree(
    "a red cat and a blue dog",
    (
        Entity("cat", "cat", (6, 9), (Attribute("red", (2, 5), (2,)),), None, (3,)),
        Entity("dog", "dog", (21, 24), (Attribute("blue", (16, 20), (6,)),), None, (7,)),
    ),
)
# "a man with a red hat": 0 <start>, 1 a, 2 man, 3 with, 4 a, 5 red, 6 hat, 7 <end>; hat is inside man
MAN_HAT = PromptTree(
    "a man with a red hat",
    (
        Entity("man", "man", (2, 5), (), None, (2,)),
        Entity("hat", "hat", (17, 20), (Attribute("red", (13, 16), (5,)),), 0, (6,)),
    ),
)


def rows(*distributions: dict[int, float]) -> torch.Tensor:
    """Probability rows over 77 tokens from {position: mass}; the rest of each row goes to position 0."""
    out = torch.zeros(len(distributions), 77)
    for index, masses in enumerate(distributions):
        for position, mass in masses.items():
            out[index, position] = mass
        out[index, 0] = 1.0 - sum(masses.values())
    return out


def test_plan_groups_classes_and_hidden_tokens():
    sample = plan_sample(CAT_DOG, token_count=9)
    assert sample.groups == ((2, 3), (6, 7))
    assert sample.hidden == ((6, 7), (2, 3))
    classes = sample.token_class
    assert [classes[t] for t in range(9)] == [
        SPECIAL,
        OTHER,
        ATTRIBUTE,
        ENTITY,
        OTHER,
        OTHER,
        ATTRIBUTE,
        ENTITY,
        SPECIAL,
    ]
    assert set(classes[9:]) == {SPECIAL}


def test_nested_rule_child_sees_its_ancestor_but_not_the_reverse():
    ancestors = plan_sample(MAN_HAT, token_count=8, nested="ancestors")
    assert ancestors.groups == ((2,), (5, 6))
    assert ancestors.hidden == ((5, 6), ())  # the man's patches lose the hat; the hat's patches keep the man
    strict = plan_sample(MAN_HAT, token_count=8, nested="strict")
    assert strict.hidden == ((5, 6), (2,))


def test_assignment_takes_the_largest_group_and_respects_the_margin():
    plan = ModulationPlan.build([plan_sample(CAT_DOG, 9)])
    probabilities = rows(
        {2: 0.3, 3: 0.3, 7: 0.1},  # cat 0.6 vs dog 0.1 -> cat
        {6: 0.2, 7: 0.4, 3: 0.05},  # dog
        {3: 0.2, 7: 0.2},  # exact tie -> unassigned
        {3: 0.205, 7: 0.195},  # shares 0.5125 vs 0.4875: difference 0.025 is below a 0.05 margin
        {},  # no group mass at all -> unassigned
    )[None]
    assignment = assign_patches(probabilities, plan.membership, plan.valid, margin=0.05)
    assert assignment.tolist() == [[0, 1, -1, -1, -1]]
    loose = assign_patches(probabilities, plan.membership, plan.valid, margin=0.0)
    assert loose.tolist() == [[0, 1, -1, 0, -1]]


def test_masking_zeroes_other_groups_exactly_and_rows_sum_to_one():
    plan = ModulationPlan.build([plan_sample(CAT_DOG, 9)])
    mean = rows({2: 0.3, 3: 0.3, 6: 0.1, 7: 0.1}, {6: 0.3, 7: 0.3, 2: 0.05}, {4: 0.5})[None]
    probabilities = torch.stack([mean[0], mean[0].roll(1, dims=-1).softmax(-1)], dim=0)[None]  # 2 heads
    assignment = assign_patches(probabilities.mean(1), plan.membership, plan.valid, margin=0.0)
    assert assignment.tolist() == [[0, 1, -1]]
    used = modulate_probabilities(probabilities, visible_tokens(assignment, plan.hidden))
    assert torch.all(used[0, :, 0, [6, 7]] == 0) and torch.all(used[0, :, 1, [2, 3]] == 0)
    assert torch.allclose(used[0, :, 2], probabilities[0, :, 2], atol=1e-7)  # unassigned patch: nothing masked
    assert torch.allclose(used.sum(-1), torch.ones(1, 2, 3), atol=1e-6)
    # the kept tokens keep their proportions: renormalisation only
    kept = probabilities[0, 0, 0, [0, 2, 3]]
    assert torch.allclose(used[0, 0, 0, [0, 2, 3]], kept / kept.sum(), atol=1e-7)


def test_a_row_with_nothing_left_stays_finite():
    # planted: the visible tokens of this patch carry no mass at all, every bit of it is on hidden tokens
    probabilities = torch.zeros(1, 1, 2, 77)
    probabilities[0, 0, 0, 6] = probabilities[0, 0, 0, 7] = 0.5
    probabilities[0, 0, 1, 0] = 1.0
    visible = torch.ones(1, 2, 77, dtype=torch.bool)
    visible[0, 0, 6:8] = False
    visible[0, 1, :] = False  # every token masked
    used = modulate_probabilities(probabilities, visible)
    assert torch.isfinite(used).all()
    assert torch.allclose(used.sum(-1), torch.ones(1, 1, 2))
    assert torch.equal(used, probabilities)  # documented fallback: such rows are left unmasked


def test_reweighting_changes_the_entity_to_attribute_ratio_by_the_weight_ratio():
    config = ModulationConfig(
        reweighting=ReweightingConfig(
            enabled=True,
            window=Window(0.0, 1.0),
            entity=Curve("linear", 3.0, 1.0),
            attribute=Curve("linear", 1.0, 2.0),
            other=Curve("constant", 1.0, 1.0),
        )
    )
    plan = ModulationPlan.build([plan_sample(CAT_DOG, 9)])
    probabilities = rows({2: 0.1, 3: 0.2, 6: 0.05, 7: 0.15, 4: 0.1})[None, None]
    for progress in (0.0, 0.5, 0.75):
        weights = token_weights(plan, config, progress)
        assert weights[0, 3].item() == config.reweighting.entity.value(progress)
        assert weights[0, 2].item() == config.reweighting.attribute.value(progress)
        assert weights[0, 0].item() == 1.0 and weights[0, 76].item() == 1.0
        used = modulate_probabilities(probabilities, None, weights)[0, 0, 0]
        entity, attribute = used[[3, 7]].sum(), used[[2, 6]].sum()
        vanilla = probabilities[0, 0, 0, [3, 7]].sum() / probabilities[0, 0, 0, [2, 6]].sum()
        expected = config.reweighting.entity.value(progress) / config.reweighting.attribute.value(progress)
        assert torch.isclose(entity / attribute / vanilla, torch.tensor(expected), rtol=1e-5)
        assert torch.isclose(used.sum(), torch.tensor(1.0), atol=1e-6)


def test_a_prompt_without_entities_gets_unit_weights_and_no_assignment():
    plan = ModulationPlan.build([plan_sample(PromptTree("sunset"), 3), plan_sample(CAT_DOG, 9)])
    assert plan.active.tolist() == [False, True]
    weights = token_weights(plan, ModulationConfig.from_variant("reweighting"), 0.0)
    assert torch.all(weights[0] == 1.0) and weights[1, 3] > 1.0
    probabilities = rows({3: 0.5}, {7: 0.5})[None].expand(2, -1, -1)
    assignment = assign_patches(probabilities, plan.membership, plan.valid, 0.0)
    assert assignment[0].tolist() == [-1, -1] and assignment[1].tolist() == [0, 1]
