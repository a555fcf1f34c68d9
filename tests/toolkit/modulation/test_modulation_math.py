"""The pure math of masking and reweighting, on planted probabilities with known answers."""

from __future__ import annotations

import dataclasses

import torch
from attnmod.toolkit.modulation.config import Curve, ModulationConfig, ReweightingConfig, Window
from attnmod.toolkit.modulation.masking import (
    LayoutMaps,
    assign_from_scores,
    assign_patches,
    modulate_probabilities,
    resample_scores,
    smooth_scores,
    substitute_tail,
    token_weights,
    visible_tokens,
)
from attnmod.toolkit.modulation.plan import ATTRIBUTE, ENTITY, OTHER, SPECIAL, ModulationPlan, plan_sample
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree
from planted import CAT_DOG, MAN_HAT

# "a red cat and a blue dog": 0 <start>, 1 a, 2 red, 3 cat, 4 and, 5 a, 6 blue, 7 dog, 8 <end>
# "a man with a red hat": 0 <start>, 1 a, 2 man, 3 with, 4 a, 5 red, 6 hat, 7 <end>; hat is inside man


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


# ---- the corrected assignment (issue 14) and its options ----

# "a man with a red hat and a dog": 0 <start>, 1 a, 2 man, 3 with, 4 a, 5 red, 6 hat, 7 and, 8 a, 9 dog, 10 <end>
MAN_HAT_DOG = PromptTree(
    "a man with a red hat and a dog",
    (
        Entity("man", "man", (2, 5), (), None, (2,)),
        Entity("hat", "hat", (17, 20), (Attribute("red", (13, 16), (5,)),), 0, (6,)),
        Entity("dog", "dog", (29, 32), (), None, (9,)),
    ),
)


def test_nouns_decide_the_assignment_so_a_leaking_attribute_cannot_pull_a_patch():
    plan = ModulationPlan.build([plan_sample(CAT_DOG, 9)])
    # a dog patch where "red" (the cat's attribute) leaked: groups cat 0.25 + 0.05 = 0.30 > dog 0.2, nouns 0.05 < 0.2
    probabilities = rows({2: 0.25, 3: 0.05, 7: 0.2})[None]
    assert assign_patches(probabilities, plan.membership, plan.valid, 0.0, "sum").tolist() == [[0]]
    assert assign_patches(probabilities, plan.nouns, plan.valid, 0.0, "mean").tolist() == [[1]]


def test_mean_score_is_fair_to_groups_of_different_size():
    # "a teddy bear and a cat": the bear's noun is two tokens (2, 3), the cat's one (6)
    tree = PromptTree(
        "a teddy bear and a cat",
        (Entity("teddy bear", "teddy bear", (2, 12), (), None, (2, 3)), Entity("cat", "cat", (19, 22), (), None, (6,))),
    )
    plan = ModulationPlan.build([plan_sample(tree, 8)])
    probabilities = rows({2: 0.12, 3: 0.12, 6: 0.2})[None]  # sum 0.24 vs 0.2, mean 0.12 vs 0.2
    assert assign_patches(probabilities, plan.nouns, plan.valid, 0.0, "sum").tolist() == [[0]]
    assert assign_patches(probabilities, plan.nouns, plan.valid, 0.0, "mean").tolist() == [[1]]


def test_family_rule_never_hides_a_child_from_its_parent_and_hides_unrelated_entities():
    family = plan_sample(MAN_HAT_DOG, 11, nested="family")
    assert family.groups == ((2,), (5, 6), (9,)) and family.nouns == ((2,), (6,), (9,))
    assert family.hidden == ((9,), (9,), (2, 5, 6))
    assert plan_sample(MAN_HAT_DOG, 11, nested="ancestors").hidden == ((5, 6, 9), (9,), (2, 5, 6))
    assert plan_sample(MAN_HAT_DOG, 11, nested="strict").hidden == ((5, 6, 9), (2, 9), (2, 5, 6))


def test_smoothing_removes_an_isolated_patch_and_resampling_keeps_regions():
    scores = torch.zeros(1, 2, 5, 5)
    scores[0, 0] = 1.0  # entity 0 everywhere ...
    scores[0, 0, 2, 2], scores[0, 1, 2, 2] = 0.0, 1.0  # ... but one isolated patch of entity 1
    valid = torch.ones(1, 2, dtype=torch.bool)

    def assign(grid):
        return assign_from_scores(grid.reshape(1, 2, -1).transpose(1, 2), valid, 0.0).reshape(grid.shape[-2:])

    assert assign(scores)[2, 2] == 1
    assert torch.all(assign(smooth_scores(scores, 1.0)) == 0)
    halves = torch.zeros(1, 2, 2, 2)
    halves[0, 0, :, 0], halves[0, 1, :, 1] = 1.0, 1.0  # left column entity 0, right column entity 1
    fine = assign(resample_scores(halves, (4, 4)))
    assert torch.all(fine[:, :2] == 0) and torch.all(fine[:, 2:] == 1)


def test_layout_maps_assign_from_the_previous_call():
    config = ModulationConfig.from_variant("masking").with_overrides(["masking.smoothing=0", "masking.margin=0"])
    plan = ModulationPlan.build([plan_sample(CAT_DOG, 9)])
    layout = LayoutMaps(level=1)
    first = rows({3: 0.6}, {3: 0.5}, {7: 0.6}, {7: 0.2, 3: 0.1})[None]  # 2x2 grid, one layer
    second = rows({3: 0.2}, {7: 0.1}, {7: 0.4}, {7: 0.2})[None]  # another layer of the same call
    layout.add(first, (2, 2))
    layout.add(second, (2, 2))
    assert layout.assignment((2, 2), plan, config) is None  # nothing from an earlier call yet
    layout.advance()
    # mean of the two layers: patch 1 has cat 0.25 vs dog 0.05, patch 3 has cat 0.05 vs dog 0.2
    assert layout.assignment((2, 2), plan, config).tolist() == [[0, 0, 1, 1]]
    assert layout.assignment((4, 4), plan, config).reshape(4, 4)[:, 0].tolist() == [0, 0, 1, 1]


def test_layout_maps_assign_every_known_size_in_one_pass_as_each_size_alone():
    config = ModulationConfig.from_variant("masking").with_overrides(["masking.smoothing=0.7", "masking.margin=0.05"])
    plan = ModulationPlan.build([plan_sample(CAT_DOG, 9), plan_sample(CAT_DOG, 9)])
    generator = torch.Generator().manual_seed(3)
    maps = torch.rand(2, 16, 77, generator=generator).softmax(dim=-1)  # 4x4 grid, two samples
    maps[:, :8, 3] += 0.05  # the top half leans to the cat, the bottom half to the dog
    maps[:, 8:, 7] += 0.05

    def fresh() -> LayoutMaps:
        layout = LayoutMaps(level=1)
        layout.add(maps, (4, 4))
        layout.advance()
        return layout

    sizes = [(4, 4), (8, 8), (3, 5)]
    # each size by the pure steps: mean noun score per entity, smoothed on the 4x4 grid, resampled, assigned
    nouns = torch.matmul(maps, plan.nouns.transpose(1, 2)) / plan.nouns.sum(-1)[:, None, :]  # [2, 16, G]
    smoothed = smooth_scores(nouns.transpose(1, 2).reshape(2, -1, 4, 4), 0.7)
    alone = {}
    for size in sizes:
        scores = resample_scores(smoothed, size).flatten(2).transpose(1, 2)
        alone[size] = assign_from_scores(scores, plan.valid, 0.05)
        assert torch.equal(fresh().assignment(size, plan, config), alone[size])  # asked for alone, in a call
    together = fresh()
    for size in sizes:
        together.assignment(size, plan, config)  # the first call learns the sizes
    layout = together
    layout.add(maps, (4, 4))
    layout.advance()
    first = layout.assignment((4, 4), plan, config)  # the next call assigns all three sizes at once
    assert set(layout.cache) == set(sizes)
    assert torch.equal(first, alone[(4, 4)])
    for size in sizes:
        assert layout.assignment(size, plan, config).shape == (2, size[0] * size[1])
        assert torch.equal(layout.assignment(size, plan, config), alone[size]), size
    assert (alone[(8, 8)] == 0).any() and (alone[(8, 8)] == 1).any()  # a layout with both entities in it


def test_substituting_end_tokens_moves_their_mass_to_the_start_token():
    probabilities = rows({3: 0.2, 8: 0.3, 20: 0.1}, {3: 0.5})[None, None]  # [1, 1, 2, 77]
    moved = torch.zeros(1, 2, 77, dtype=torch.bool)
    moved[0, 0, 8:] = True  # first patch only
    used = substitute_tail(probabilities, moved)
    assert torch.isclose(used[0, 0, 0, 0], probabilities[0, 0, 0, 0] + 0.4) and used[0, 0, 0, 8:].sum() == 0
    assert torch.equal(used[0, 0, 1], probabilities[0, 0, 1])
    assert torch.allclose(used.sum(-1), torch.ones(1, 1, 2))


def test_a_negated_entity_gets_no_group_and_no_boost():
    # "a red cat and no blue dog": the same tokens as CAT_DOG (0 <start>, 1 a, 2 red, 3 cat, 4 and, 5 no, 6 blue,
    # 7 dog, 8 <end>) with the dog negated
    cat, dog = CAT_DOG.entities
    negated = PromptTree("a red cat and no blue dog", (cat, dataclasses.replace(dog, span=(22, 25), absent=True)))
    sample = plan_sample(negated, token_count=9)
    assert sample.groups == ((2, 3),) and sample.entities == (0,)
    assert sample.hidden == ((),)  # nothing is masked for, or against, the absent dog
    assert [sample.token_class[t] for t in (2, 3, 6, 7)] == [ATTRIBUTE, ENTITY, OTHER, OTHER]
    config = ModulationConfig(
        reweighting=ReweightingConfig(
            enabled=True,
            window=Window(0.0, 1.0),
            entity=Curve("constant", 3.0, 3.0),
            attribute=Curve("constant", 2.0, 2.0),
            other=Curve("constant", 1.0, 1.0),
        )
    )
    weights = token_weights(ModulationPlan.build([sample]), config, 0.5)[0]
    assert weights[3].item() == 3.0 and weights[2].item() == 2.0  # the cat is boosted
    assert weights[7].item() == 1.0 and weights[6].item() == 1.0  # the dog and its colour are not
    # the same tree with the dog present gives it its group and its boost: the mark is what removes them
    present = plan_sample(CAT_DOG, token_count=9)
    assert token_weights(ModulationPlan.build([present]), config, 0.5)[0, 7].item() == 3.0


def test_a_parsed_negation_reaches_the_plan():
    from attnmod.toolkit.prompt.parse import parse_prompt

    tree = parse_prompt("a bowl without oranges", parser="dependency")
    assert [(e.text, e.absent) for e in tree.entities] == [("bowl", False), ("oranges", True)]
    sample = plan_sample(tree, token_count=6)  # 0 <start>, 1 a, 2 bowl, 3 without, 4 oranges, 5 <end>
    assert sample.groups == ((2,),) and sample.token_class[4] == OTHER
