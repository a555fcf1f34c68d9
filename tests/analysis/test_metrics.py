"""The leakage and binding metrics on planted maps with known answers (8 x 8 pixels unless said otherwise)."""

from __future__ import annotations

import math

import pytest
import torch
from attnmod.analysis import attention_maps, binding, map_overlap, regions


def block(rows: slice, cols: slice, size=(8, 8), value: float = 1.0) -> torch.Tensor:
    """A map that is ``value`` on a rectangle and 0 elsewhere (unnormalised)."""
    planted = torch.zeros(size)
    planted[rows, cols] = value
    return planted


LEFT = block(slice(None), slice(0, 4))
RIGHT = block(slice(None), slice(4, 8))


def normalized(*maps: torch.Tensor) -> torch.Tensor:
    return attention_maps.normalize_maps(torch.stack(maps))


# ---- normalisation and groups ----


def test_normalize_sums_to_one_and_keeps_an_all_zero_map_at_zero():
    maps = attention_maps.normalize_maps(torch.stack([LEFT * 3, torch.zeros(8, 8)]))
    assert float(maps[0].sum()) == pytest.approx(1.0)
    assert float(maps[0, 0, 0]) == pytest.approx(1 / 32)
    assert torch.equal(maps[1], torch.zeros(8, 8))
    assert not torch.isnan(maps).any()


def test_group_map_weighs_each_token_equally_whatever_its_raw_mass():
    token_maps = torch.stack([LEFT * 100, RIGHT * 0.01])  # raw masses differ by 10^4
    group = attention_maps.group_map(token_maps, [0, 1])
    assert float(group[0, 0]) == pytest.approx(1 / 64)
    assert float(group[0, 7]) == pytest.approx(1 / 64)
    assert torch.equal(attention_maps.group_map(token_maps, []), torch.zeros(8, 8))


# ---- overlap and leakage ----


def test_disjoint_maps_overlap_zero_and_identical_maps_overlap_one():
    left, right = normalized(LEFT, RIGHT)
    assert float(map_overlap.overlap(left, right)) == 0.0
    assert float(map_overlap.overlap(left, left)) == pytest.approx(1.0)


def test_half_shared_support_overlaps_one_half():
    first, second = normalized(block(slice(None), slice(0, 4)), block(slice(None), slice(2, 6)))
    assert float(map_overlap.overlap(first, second)) == pytest.approx(0.5)


def test_overlap_with_an_all_zero_map_is_zero_not_nan():
    left, empty = normalized(LEFT, torch.zeros(8, 8))
    matrix = map_overlap.pairwise_overlap(torch.stack([left, empty]))
    assert matrix.flatten().tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])
    assert float(map_overlap.leakage(torch.stack([left, empty]))) == 0.0


def test_overlap_is_symmetric_and_leakage_is_permutation_invariant():
    generator = torch.Generator().manual_seed(3)
    maps = attention_maps.normalize_maps(torch.rand(4, 8, 8, generator=generator))
    matrix = map_overlap.pairwise_overlap(maps)
    assert torch.allclose(matrix, matrix.T)
    order = [2, 0, 3, 1]
    permuted = map_overlap.pairwise_overlap(maps[order])
    assert torch.allclose(permuted, matrix[order][:, order])
    assert float(map_overlap.leakage(maps[order])) == pytest.approx(float(map_overlap.leakage(maps)))
    upper = [float(matrix[e, f]) for e in range(4) for f in range(e + 1, 4)]
    assert float(map_overlap.leakage(maps)) == pytest.approx(max(upper))


def test_a_single_entity_has_nothing_to_leak_into():
    assert float(map_overlap.leakage(normalized(LEFT))) == 0.0


def test_leakage_ignores_nested_pairs():
    parent, child, other = normalized(LEFT, LEFT, RIGHT)
    maps = torch.stack([parent, child, other])
    assert float(map_overlap.leakage(maps, parents=[None, 0, None])) == 0.0  # parent/child identical: not leakage
    assert float(map_overlap.leakage(maps, parents=[None, None, None])) == pytest.approx(1.0)


def test_batched_leakage_matches_item_by_item():
    generator = torch.Generator().manual_seed(5)
    maps = attention_maps.normalize_maps(torch.rand(3, 4, 8, 8, generator=generator))
    batched = map_overlap.leakage(maps, parents=[None, None, 0, None])
    single = [float(map_overlap.leakage(maps[b], parents=[None, None, 0, None])) for b in range(3)]
    assert batched.tolist() == pytest.approx(single)


# ---- regions ----


def test_regions_follow_the_highest_map_and_leave_weak_pixels_to_the_background():
    floor = torch.full((8, 8), 0.01)
    car = block(slice(0, 4), slice(0, 4)) + floor
    sheep = block(slice(4, 8), slice(4, 8)) + floor
    labels = regions.assign_regions(normalized(car, sheep), background=0.2)
    assert (labels[0:4, 0:4] == 0).all()
    assert (labels[4:8, 4:8] == 1).all()
    assert (labels[0:4, 4:8] == regions.BACKGROUND).all()  # 0.01 < 0.2 x peak for both
    everything = regions.assign_regions(normalized(car, sheep), background=0.0)
    assert (everything >= 0).all()


def test_an_all_zero_entity_owns_no_pixel():
    labels = regions.assign_regions(normalized(LEFT, torch.zeros(8, 8)), background=0.2)
    assert (labels[:, 0:4] == 0).all()
    assert not (labels == 1).any()


def test_regions_are_permutation_equivariant():
    generator = torch.Generator().manual_seed(7)
    maps = attention_maps.normalize_maps(torch.rand(3, 8, 8, generator=generator))
    labels = regions.assign_regions(maps, 0.2)
    order = [2, 0, 1]
    permuted = regions.assign_regions(maps[order], 0.2)
    mapped = torch.where(permuted >= 0, torch.tensor(order)[permuted.clamp_min(0)], permuted)
    assert torch.equal(mapped, labels)


def test_nested_child_region_lies_inside_its_parent_region():
    """A cat (left half) wearing a hat (its top-left corner, more concentrated), and a dog on the right."""
    cat = LEFT
    hat = block(slice(0, 2), slice(0, 2)) * 4 + block(slice(0, 2), slice(4, 6)) * 4  # half of it over the dog
    dog = RIGHT * 2
    maps = normalized(cat, hat, dog)
    parents = [None, 0, None]
    labels = regions.assign_regions(maps, 0.2, parents)
    full = regions.full_region_masks(labels, parents)
    own = regions.own_region_masks(labels, 3)
    assert (labels[0:2, 0:2] == 1).all()  # the hat wins its corner inside the cat
    assert (labels[:, 4:8] == 2).all()  # but cannot take the dog's pixels: it only contests the cat's region
    assert bool((full[1] <= full[0]).all())  # F_child ⊆ F_parent
    assert not (own[0] & own[1]).any()
    assert float(map_overlap.containment(maps[1], full[0])) == pytest.approx(0.5)  # half of the hat's map is on the dog


# ---- binding ----


def two_regions():
    labels = regions.assign_regions(normalized(LEFT, RIGHT), 0.2)
    return regions.own_region_masks(labels, 2)


def test_attribute_wholly_on_the_wrong_entity_has_binding_zero_and_is_misbound():
    own = two_regions()
    red = attention_maps.normalize_maps(RIGHT)  # "red" of the car (entity 0) sits on the sheep
    shares = binding.binding_shares(red, own)
    assert float(binding.attribute_binding(red, own, 0)) == 0.0
    assert binding.is_misbound(shares, 0)
    assert not binding.is_misbound(shares, 1)


def test_seventy_thirty_split_gives_binding_point_seven():
    own = two_regions()
    red = attention_maps.normalize_maps(LEFT * 0.7 / 32 + RIGHT * 0.3 / 32)
    assert float(binding.attribute_binding(red, own, 0)) == pytest.approx(0.7)
    assert not binding.is_misbound(binding.binding_shares(red, own), 0)


def test_misbound_means_another_region_holds_more_not_merely_less_than_half():
    maps = normalized(block(slice(None), slice(0, 3)), block(slice(None), slice(3, 6)), block(slice(None), slice(6, 8)))
    own = regions.own_region_masks(regions.assign_regions(maps, 0.2), 3)
    attribute = maps[0] * 0.4 + maps[1] * 0.35 + maps[2] * 0.25
    shares = binding.binding_shares(attribute, own)
    assert shares.tolist() == pytest.approx([0.4, 0.35, 0.25])
    assert not binding.is_misbound(shares, 0)  # B = 0.4 < 0.5 but still the largest
    assert binding.is_misbound(shares, 1)


def test_attribute_only_on_background_has_undefined_binding_and_is_not_misbound():
    floor = torch.full((8, 8), 0.001)
    car = block(slice(0, 4), slice(0, 4)) + floor
    own = regions.own_region_masks(regions.assign_regions(normalized(car), 0.2), 1)
    stray = attention_maps.normalize_maps(block(slice(6, 8), slice(6, 8)))
    shares = binding.binding_shares(stray, own)
    assert math.isnan(float(shares[0]))
    assert not binding.is_misbound(shares, 0)


def test_single_entity_binding_is_one():
    own = regions.own_region_masks(regions.assign_regions(normalized(LEFT), 0.2), 1)
    assert float(binding.attribute_binding(attention_maps.normalize_maps(LEFT), own, 0)) == pytest.approx(1.0)


def test_attribute_of_a_parent_landing_on_its_nested_child_counts_as_misbound():
    cat, hat = normalized(LEFT, block(slice(0, 2), slice(0, 2)) * 8)
    labels = regions.assign_regions(torch.stack([cat, hat]), 0.2, [None, 0])
    own = regions.own_region_masks(labels, 2)
    black = attention_maps.normalize_maps(block(slice(0, 2), slice(0, 2)))  # "black" of the cat, on the hat
    assert binding.is_misbound(binding.binding_shares(black, own), 0)


# ---- the distributional (SynGen) view ----


def test_symmetric_kl_is_zero_for_identical_maps_and_symmetric():
    generator = torch.Generator().manual_seed(11)
    first, second = attention_maps.normalize_maps(torch.rand(2, 8, 8, generator=generator))
    assert float(binding.symmetric_kl(first, first)) == pytest.approx(0.0, abs=1e-9)
    assert float(binding.symmetric_kl(first, second)) == pytest.approx(float(binding.symmetric_kl(second, first)))
    assert float(binding.symmetric_kl(first, second)) > 0


def test_binding_margin_is_positive_on_the_own_noun_and_negative_on_another():
    maps = normalized(LEFT, RIGHT)
    margin, own, nearest_divergence, nearest = binding.binding_margin(maps[0], maps, 0)
    assert margin > 0 and own == pytest.approx(0.0, abs=1e-6) and nearest == 1
    assert nearest_divergence == pytest.approx(margin)
    wrong, *_ = binding.binding_margin(maps[1], maps, 0)
    assert wrong < 0
    assert wrong == pytest.approx(-margin)  # the two maps are mirror images


def test_binding_margin_is_undefined_without_a_competitor():
    maps = normalized(LEFT, torch.zeros(8, 8))
    margin, own, _, nearest = binding.binding_margin(maps[0], maps, 0)  # the other map is all zero
    assert math.isnan(margin) and nearest is None and own == pytest.approx(0.0, abs=1e-6)
    excluded, *_ = binding.binding_margin(maps[0], normalized(LEFT, RIGHT), 0, exclude=[1])
    assert math.isnan(excluded)


# ---- self-attention leakage ----


def test_self_attention_leakage_is_the_share_of_the_mean_row_in_the_other_region():
    masks = torch.stack([LEFT.bool(), RIGHT.bool()])
    on_left = LEFT.flatten() / 32
    on_right = RIGHT.flatten() / 32
    rows = torch.where(LEFT.flatten().bool()[:, None], 0.6 * on_left + 0.4 * on_right, on_right)
    shares = map_overlap.self_attention_leakage(rows, masks)
    assert shares.flatten().tolist() == pytest.approx([0.6, 0.4, 0.0, 1.0])
    empty = map_overlap.self_attention_leakage(rows, torch.stack([LEFT.bool(), torch.zeros(8, 8, dtype=torch.bool)]))
    assert torch.isnan(empty[1]).all() and not torch.isnan(empty[0]).any()


# ---- resolutions ----


def test_resize_and_combine_keep_unit_mass():
    fine = attention_maps.normalize_maps(block(slice(0, 8), slice(0, 8), size=(16, 16)))  # top-left quarter at 16x16
    coarse = attention_maps.resize_maps(fine, (8, 8))
    assert float(coarse.sum()) == pytest.approx(1.0)
    assert float(coarse[0:4, 0:4].sum()) == pytest.approx(1.0)
    combined = attention_maps.combine_resolutions(
        [fine, attention_maps.normalize_maps(block(slice(0, 4), slice(0, 4)))]
    )
    assert tuple(combined.shape) == (8, 8)
    assert torch.allclose(combined, coarse)
    enlarged = attention_maps.resize_maps(coarse, (16, 16))
    assert float(enlarged.sum()) == pytest.approx(1.0)
