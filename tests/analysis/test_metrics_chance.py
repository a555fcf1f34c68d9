"""Chance-corrected scores on planted maps whose answers are worked out by hand (8 x 8 pixels unless said otherwise).

Each test plants the situation the issue describes (a uniform floor, a uniform attribute map, a flat map, an
entity the model ignores) and checks the corrected score gives the answer chance predicts, next to the old score's
biased answer.
"""

from __future__ import annotations

import math

import pytest
import torch
from attnmod.analysis import attention_maps, binding, map_overlap, regions, word_attention


def block(rows: slice, cols: slice, size=(8, 8), value: float = 1.0) -> torch.Tensor:
    planted = torch.zeros(size)
    planted[rows, cols] = value
    return planted


def on_floor(blob: torch.Tensor, floor_mass: float) -> torch.Tensor:
    """A unit-mass map: ``1 - floor_mass`` spread evenly over the blob, ``floor_mass`` evenly over all 64 pixels."""
    return (1 - floor_mass) * blob / blob.sum() + floor_mass / blob.numel()


# ---- overlap: the uniform floor no longer counts as shared attention ----


@pytest.mark.parametrize("floor_mass", [0.1, 0.3, 0.6])
def test_disjoint_blobs_on_a_uniform_floor_overlap_zero_after_removing_the_floor(floor_mass):
    cat = on_floor(block(slice(0, 4), slice(0, 4)), floor_mass)  # 16 pixels each, disjoint
    dog = on_floor(block(slice(4, 8), slice(4, 8)), floor_mass)
    # the old score equals the floor's mass exactly: sum_p min = 64 x floor_mass / 64
    assert float(map_overlap.overlap(cat, dog)) == pytest.approx(floor_mass)
    assert float(map_overlap.floor_overlap(cat, dog)) == pytest.approx(0.0, abs=1e-6)


def test_floor_overlap_of_half_shared_blobs_is_one_half_and_identical_maps_one():
    first = on_floor(block(slice(0, 4), slice(0, 4)), 0.4)
    second = on_floor(block(slice(0, 4), slice(2, 6)), 0.4)  # 8 of 16 pixels shared
    assert float(map_overlap.floor_overlap(first, second)) == pytest.approx(0.5, abs=1e-6)
    assert float(map_overlap.floor_overlap(first, first)) == pytest.approx(1.0, abs=1e-6)


def test_a_flat_map_has_undefined_floor_overlap():
    flat = torch.full((8, 8), 1 / 64)
    blob = on_floor(block(slice(0, 4), slice(0, 4)), 0.2)
    matrix = map_overlap.pairwise_floor_overlap(torch.stack([flat, blob]))
    assert math.isnan(float(matrix[0, 1])) and math.isnan(float(matrix[1, 0]))
    assert float(matrix[1, 1]) == pytest.approx(1.0, abs=1e-6)


def test_daam_regions_and_their_iou():
    first = on_floor(block(slice(0, 4), slice(0, 4)), 0.5)
    second = on_floor(block(slice(0, 4), slice(2, 6)), 0.5)
    found = regions.thresholded_region(torch.stack([first, second]), level=0.4)
    assert torch.equal(found[0], block(slice(0, 4), slice(0, 4)).bool())
    # |A ∩ B| = 8, |A ∪ B| = 24
    assert float(regions.region_iou(found[0], found[1])) == pytest.approx(8 / 24)
    iou = regions.pairwise_region_iou(torch.stack([first, second]), level=0.4)
    assert float(iou[0, 1]) == pytest.approx(1 / 3)
    flat = torch.full((8, 8), 1 / 64)
    assert not regions.thresholded_region(flat).any()
    assert math.isnan(
        float(regions.region_iou(torch.zeros(8, 8, dtype=torch.bool), torch.zeros(8, 8, dtype=torch.bool)))
    )


# ---- regions that work on flat maps ----


def test_block_contrast_is_one_over_its_area_share_and_a_flat_map_has_none():
    assert float(
        attention_maps.map_contrast(attention_maps.normalize_maps(block(slice(0, 4), slice(0, 4))))
    ) == pytest.approx(4.0)
    assert float(attention_maps.map_contrast(torch.full((8, 8), 1 / 64))) == pytest.approx(0.0)
    assert float(attention_maps.map_contrast(torch.zeros(8, 8))) == 0.0


def test_spread_rule_finds_the_blob_on_a_high_floor_where_the_peak_rule_takes_every_pixel():
    blob = block(slice(0, 3), slice(0, 3))
    diffuse = on_floor(blob, 0.9)  # peak is only 1.9x the floor value... everything clears 0.2 x peak
    peak_rule = regions.region_candidates(diffuse[None], rule="peak", level=0.2)
    assert bool(peak_rule.all())
    spread = regions.region_candidates(diffuse[None], rule="spread", level=0.4)
    assert torch.equal(spread[0], blob.bool())
    otsu = regions.region_candidates(diffuse[None], rule="otsu")
    assert torch.equal(otsu[0], blob.bool())


def test_a_flat_entity_map_claims_no_pixel_under_the_new_rules():
    flat = torch.full((8, 8), 1 / 64)
    blob = on_floor(block(slice(4, 8), slice(4, 8)), 0.3)
    maps = torch.stack([flat, blob])
    for rule in ("spread", "otsu"):
        candidates = regions.region_candidates(maps, rule=rule)
        labels = regions.assign_regions(maps, parents=[None, None], candidates=candidates)
        assert not (labels == 0).any(), rule
        assert (labels[4:8, 4:8] == 1).all(), rule
        assert (labels[0:4, 0:4] == regions.BACKGROUND).all(), rule
    old = regions.assign_regions(maps, background=0.2)
    assert int((old == 0).sum()) == 64 - 16  # the old rule hands the flat entity every pixel the blob does not win


def test_otsu_threshold_splits_two_clusters():
    values = torch.cat([torch.full((40,), 0.1), torch.full((24,), 0.9)])
    cut = regions.otsu_threshold(values)
    assert 0.1 <= cut < 0.9
    assert int((values > cut).sum()) == 24


def test_unknown_region_rule_is_refused():
    with pytest.raises(ValueError, match="unknown region rule"):
        regions.region_candidates(torch.rand(1, 8, 8), rule="median")


# ---- binding as a lift over the area share ----


def two_unequal_regions() -> torch.Tensor:
    """A small entity (the top-left 4 x 4 = 16 pixels) and a large one (the other 48 pixels)."""
    small = block(slice(0, 4), slice(0, 4)).bool()
    return torch.stack([small, ~small])


def test_a_uniform_attribute_map_has_lift_one_on_every_region_whatever_its_area():
    own = two_unequal_regions()
    uniform = torch.full((8, 8), 1 / 64)
    assert binding.binding_shares(uniform, own).tolist() == pytest.approx([0.25, 0.75])  # the old score: area
    assert binding.binding_lifts(uniform, own).tolist() == pytest.approx([1.0, 1.0])
    assert binding.binding_log_ratio(binding.binding_lifts(uniform, own), 0) == pytest.approx(0.0)
    assert not binding.is_misbound_lift(binding.binding_lifts(uniform, own), 0)
    assert binding.is_misbound(binding.binding_shares(uniform, own), 0)  # the old verdict calls chance misbound


def test_lift_is_the_density_ratio_and_decides_misbinding_by_density():
    own = two_unequal_regions()
    # twice the density on the small region: masses 16 x 2c and 48 x c, union density 80c / 64
    attribute = attention_maps.normalize_maps(own[0].float() * 2 + own[1].float())
    lifts = binding.binding_lifts(attribute, own)
    assert lifts.tolist() == pytest.approx([2 / (80 / 64), 1 / (80 / 64)])
    assert not binding.is_misbound_lift(lifts, 0)
    assert binding.is_misbound_lift(lifts, 1)
    assert binding.binding_log_ratio(lifts, 0) == pytest.approx(math.log(2))
    # the old share still favours the large region (0.6 vs 0.4) and calls the small one's attribute misbound
    assert binding.binding_shares(attribute, own).tolist() == pytest.approx([0.4, 0.6])


def test_lift_is_undefined_for_an_empty_region_and_for_an_attribute_off_every_region():
    own = torch.stack([block(slice(0, 4), slice(0, 4)).bool(), torch.zeros(8, 8, dtype=torch.bool)])
    lifts = binding.binding_lifts(torch.full((8, 8), 1 / 64), own)
    assert lifts[0].item() == pytest.approx(1.0) and math.isnan(lifts[1].item())
    assert not binding.is_misbound_lift(lifts, 1)
    stray = attention_maps.normalize_maps(block(slice(6, 8), slice(6, 8)))  # wholly outside the small region
    off = binding.binding_lifts(stray, two_unequal_regions()[:1])
    assert off.tolist() == [0.0]
    assert math.isnan(binding.binding_log_ratio(binding.binding_lifts(stray, own), 0))  # no other entity to compare
    assert torch.isnan(binding.binding_lifts(torch.zeros(8, 8), two_unequal_regions())).all()


def test_lift_of_a_single_entity_is_measured_against_the_whole_image():
    small = two_unequal_regions()[:1]
    on_it = attention_maps.normalize_maps(block(slice(0, 4), slice(0, 4)))
    assert binding.binding_lifts(on_it, small).tolist() == pytest.approx([4.0])  # all of it on a quarter of the image


def test_raw_maps_of_two_resolutions_average_without_per_token_normalisation():
    fine = torch.zeros(2, 4, 4)
    fine[0], fine[1] = 0.9, 0.1  # token 0 takes 90% of every fine pixel
    coarse = torch.zeros(2, 2, 2)
    coarse[0], coarse[1] = 0.5, 0.5
    combined = attention_maps.combine_raw_resolutions([fine, coarse])
    assert combined.shape == (2, 2, 2)
    assert combined[0].flatten().tolist() == pytest.approx([0.7] * 4)
    assert combined.sum(0).flatten().tolist() == pytest.approx([1.0] * 4)


# ---- self-attention leakage corrected the same way ----


def test_uniform_self_attention_rows_have_lift_one_between_regions_of_any_size():
    own = two_unequal_regions()
    uniform_rows = torch.full((64, 64), 1 / 64)
    shares = map_overlap.self_attention_leakage(uniform_rows, own)
    assert shares[0].tolist() == pytest.approx([0.25, 0.75])  # the old score: e -> f share = f's area
    assert map_overlap.self_attention_lift(uniform_rows, own).flatten().tolist() == pytest.approx([1.0] * 4)


def test_self_attention_that_stays_home_has_lift_above_one_home_and_zero_abroad():
    own = two_unequal_regions()
    small, large = own[0].flatten().float(), own[1].flatten().float()
    rows = torch.where(small.bool()[:, None], small / 16, large / 48)  # each pixel attends to its own region only
    lift = map_overlap.self_attention_lift(rows, own)
    assert lift.flatten().tolist() == pytest.approx([4.0, 0.0, 0.0, 64 / 48])


# ---- presence from absolute attention ----

START, CAT, AND, DOG, END = range(5)
WORDS = [CAT, AND, DOG]


def raw_maps(cat: torch.Tensor, dog: torch.Tensor, conjunction: float = 0.2) -> torch.Tensor:
    """Raw cross-attention over 5 tokens per pixel (sums to 1): the start token takes what the words leave."""
    maps = torch.zeros(5, 8, 8)
    maps[CAT], maps[DOG], maps[AND] = cat, dog, conjunction
    maps[START] = 1 - maps[CAT] - maps[DOG] - maps[AND]
    return maps


def test_presence_is_the_entity_share_of_word_attention():
    maps = raw_maps(cat=block(slice(None), slice(0, 4), value=0.3), dog=block(slice(None), slice(4, 8), value=0.3))
    shares = word_attention.word_attention_shares(maps, WORDS)
    # a left pixel: words hold 0.3 (cat) + 0.2 (and) = 0.5, so the cat's share there is 0.6
    assert float(shares[CAT, 0, 0]) == pytest.approx(0.6) and float(shares[CAT, 0, 7]) == 0.0
    peak, mass = word_attention.presence(maps, [CAT], WORDS, sigma=0.0)
    assert float(peak) == pytest.approx(0.6) and float(mass) == pytest.approx(0.3)
    smoothed_peak, _ = word_attention.presence(maps, [CAT], WORDS, sigma=0.5)
    assert float(smoothed_peak) == pytest.approx(0.6)  # the interior of a constant region survives smoothing


def test_an_entity_with_almost_no_attention_is_neglected_although_its_normalised_map_looks_full():
    maps = raw_maps(cat=block(slice(None), slice(0, 8), value=0.3), dog=torch.full((8, 8), 1e-4))
    dog_map = attention_maps.group_map(maps, [DOG])
    assert float(dog_map.sum()) == pytest.approx(1.0)  # renormalised per token, the ignored dog has a full map
    peak, mass = word_attention.presence(maps, [DOG], WORDS)
    assert float(peak) == pytest.approx(1e-4 / (0.3 + 0.2 + 1e-4), rel=1e-3)
    assert word_attention.is_neglected(float(peak), 0.2)
    cat_peak, _ = word_attention.presence(maps, [CAT], WORDS)
    assert not word_attention.is_neglected(float(cat_peak), 0.2)


def test_word_positions_stop_at_the_first_end_token_whatever_pads_after_it():
    assert word_attention.word_positions([49406, 320, 1670, 49407, 49407, 49407]) == [1, 2]
    assert word_attention.word_positions([49406, 320, 1670, 49407, 0, 0]) == [
        1,
        2,
    ]  # the second SDXL tokenizer pads with "!"
    assert word_attention.word_positions([49406, 49407, 49407]) == []


def test_presence_without_word_attention_or_positions_is_zero():
    maps = torch.zeros(5, 8, 8)
    maps[START] = 1.0
    peak, mass = word_attention.presence(maps, [CAT], WORDS)
    assert float(peak) == 0.0 and float(mass) == 0.0
    assert float(word_attention.presence(maps, [], WORDS)[0]) == 0.0


# ---- the KL margin: SynGen's symmetric KL is the mean of both directions ----


def test_symmetric_kl_is_the_mean_of_the_two_directions():
    first = torch.tensor([[0.5, 0.5]])
    second = torch.tensor([[0.9, 0.1]])
    forward = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    backward = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert float(binding.symmetric_kl(first, second, smoothing=0.0)) == pytest.approx((forward + backward) / 2)
