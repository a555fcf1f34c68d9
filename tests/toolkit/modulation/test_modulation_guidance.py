"""Attend-and-Excite and SynGen losses (toolkit/modulation/guidance.py) on planted maps.

Every expected value is computed here with numpy loops written out from the papers' formulas, not with the code under
test; the gradient tests take a step on planted maps and check the direction each paper promises.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.config import select_map_level
from attnmod.toolkit.modulation.guidance import (
    BindingPair,
    GuidancePart,
    excite_loss,
    excite_peaks,
    gaussian_smooth,
    guidance_targets,
    symmetric_kl,
    syngen_loss,
    syngen_pair_losses,
)
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree
from planted import CAT_DOG, MAN_HAT


def planted_maps(height=4, width=5, tokens=77, seed=0) -> np.ndarray:
    """Cross-attention-like maps: each patch's row a distribution over the 77 tokens, most mass on the start token."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(height, width, tokens))
    logits[..., 0] += 4.0
    rows = np.exp(logits)
    return rows / rows.sum(-1, keepdims=True)


def reference_smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """3x3 Gaussian, exp(-(dy^2 + dx^2) / (2 sigma^2)) normalised, borders reflected (numpy's 'reflect')."""
    kernel = np.array(
        [[math.exp(-(dy * dy + dx * dx) / (2 * sigma * sigma)) for dx in (-1, 0, 1)] for dy in (-1, 0, 1)]
    )
    kernel /= kernel.sum()
    padded = np.pad(image, 1, mode="reflect")
    out = np.zeros_like(image)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            out[y, x] = (padded[y : y + 3, x : x + 3] * kernel).sum()
    return out


def reference_excite(maps: np.ndarray, subjects, words, scale=100.0, sigma=0.5) -> tuple[float, list[float]]:
    height, width, _ = maps.shape
    shares = np.zeros((height, width, len(words)))
    for y in range(height):
        for x in range(width):
            values = [math.exp(scale * maps[y, x, w]) for w in words]
            total = sum(values)
            shares[y, x] = [v / total for v in values]
    peaks = []
    for subject in subjects:
        image = np.mean([shares[..., words.index(t)] for t in subject], axis=0)
        peaks.append(reference_smooth(image, sigma).max())
    return max(max(0.0, 1.0 - peak) for peak in peaks), peaks


def reference_skl(a: np.ndarray, b: np.ndarray) -> float:
    p, q = a.flatten() / a.sum(), b.flatten() / b.sum()
    kl_pq = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    kl_qp = sum(qi * math.log(qi / pi) for pi, qi in zip(p, q, strict=True))
    return (kl_pq + kl_qp) / 2


def reference_syngen(maps: np.ndarray, pairs, words) -> float:
    total = 0.0
    for noun, modifier, phrase in pairs:
        positive = max(reference_skl(maps[..., m], maps[..., n]) for m in modifier for n in noun)
        outside = [u for u in words if u not in phrase]
        noun_term = np.mean([max(reference_skl(maps[..., n], maps[..., u]) for n in noun) for u in outside])
        modifier_term = np.mean([max(reference_skl(maps[..., m], maps[..., u]) for m in modifier) for u in outside])
        total += positive - (noun_term + modifier_term) / 2
    return total


# ---- Attend-and-Excite ----


def test_excite_loss_equals_the_written_out_formula():
    maps = planted_maps()
    words = list(range(1, 8))
    subjects = [(3,), (6, 7)]  # one single-token subject, one of two tokens (mean of their maps)
    expected, expected_peaks = reference_excite(maps, subjects, words)
    tensor = torch.tensor(maps, dtype=torch.float32)
    peaks = excite_peaks(tensor, subjects, words)
    assert peaks.tolist() == pytest.approx(expected_peaks, rel=1e-5)
    assert float(excite_loss(tensor, subjects, words)) == pytest.approx(expected, rel=1e-5)
    assert 0.0 < expected < 1.0  # a planted case where the loss is neither clipped nor trivial


def test_excite_smoothing_is_a_normalised_gaussian_with_reflected_borders():
    image = np.zeros((5, 5))
    image[0, 2] = 1.0  # an impulse on the border: the reflection puts mass back inside
    smoothed = gaussian_smooth(torch.tensor(image[None], dtype=torch.float64), sigma=0.5, kernel_size=3)[0]
    assert smoothed.numpy() == pytest.approx(reference_smooth(image, 0.5), abs=1e-12)
    centre = math.exp(0) / (1 + 4 * math.exp(-2) + 4 * math.exp(-4))  # the kernel's own centre weight
    assert float(smoothed[0, 2]) == pytest.approx(centre, rel=1e-9)
    assert gaussian_smooth(torch.ones(1, 3, 3), sigma=0.0, kernel_size=3).equal(torch.ones(1, 3, 3))


def test_excite_loss_is_the_most_neglected_subject_and_zero_when_all_peak():
    maps = np.full((4, 4, 77), 1e-3)
    maps[..., 0] = 1.0
    maps[0, 0, 2] = 0.5  # subject 2 owns patch (0, 0) outright after the x100 softmax
    maps[3, 3, 5] = 0.5  # subject 5 owns patch (3, 3)
    maps /= maps.sum(-1, keepdims=True)
    tensor = torch.tensor(maps, dtype=torch.float32)
    words = [1, 2, 3, 4, 5]
    # unsmoothed, both peaks are ~1: the loss is ~0; the neglected subject 4 (never above the others) makes it large
    assert float(excite_loss(tensor, [(2,), (5,)], words, sigma=0.0)) == pytest.approx(0.0, abs=1e-6)
    loss = float(excite_loss(tensor, [(2,), (4,)], words, sigma=0.0))
    expected, _ = reference_excite(maps, [(2,), (4,)], words, sigma=1e-9)
    assert loss == pytest.approx(expected, rel=1e-5) and loss > 0.7
    assert float(excite_loss(tensor, [], words)) == 0.0
    with pytest.raises(AttnmodError, match="word positions"):
        excite_loss(tensor, [(9,)], words)


def test_excite_gradient_raises_the_neglected_subjects_peak():
    torch.manual_seed(0)
    logits = torch.randn(6, 6, 77) * 0.1
    logits[..., 0] += 5.0
    logits[1, 1, 2] += 2.0  # subject 2 already has a clear peak; subject 4 has none
    logits.requires_grad_(True)
    words, subjects = list(range(1, 9)), [(2,), (4,)]

    def peaks(values):
        return excite_peaks(values.softmax(-1), subjects, words)

    before = peaks(logits).detach()
    loss = excite_loss(logits.softmax(-1), subjects, words)
    (gradient,) = torch.autograd.grad(loss, [logits])
    after = peaks((logits - 1.0 * gradient).detach()).detach()
    assert float(before[1]) < float(before[0])  # 4 is the neglected one, so the loss is its shortfall
    assert float(after[1]) > float(before[1])  # its peak rises
    assert float(excite_loss((logits - 1.0 * gradient).detach().softmax(-1), subjects, words)) < float(loss.detach())


# ---- SynGen ----


def test_symmetric_kl_equals_the_written_out_formula():
    p = torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64)
    q = torch.tensor([0.3, 0.3, 0.4], dtype=torch.float64)
    expected = 0.5 * sum(a * math.log(a / b) + b * math.log(b / a) for a, b in zip(p.tolist(), q.tolist(), strict=True))
    assert float(symmetric_kl(p, q)) == pytest.approx(expected, rel=1e-12)
    assert float(symmetric_kl(p, p)) == 0.0


def test_syngen_loss_equals_the_written_out_formula():
    maps = planted_maps(seed=3)
    words = list(range(1, 8))
    # "a red cat and a big blue dog": red-cat, and two attributes of the dog, one of them of two tokens
    pairs = [((3,), (2,), (2, 3)), ((7,), (5,), (5, 6, 7)), ((7,), (6, 4), (4, 5, 6, 7))]
    tensor = torch.tensor(maps, dtype=torch.float64)
    loss = syngen_loss(tensor, [BindingPair(*pair) for pair in pairs], words)
    assert float(loss) == pytest.approx(reference_syngen(maps, pairs, words), rel=1e-6)
    positive, negative = syngen_pair_losses(tensor, BindingPair(*pairs[0]), words)
    assert float(positive) == pytest.approx(reference_skl(maps[..., 2], maps[..., 3]), rel=1e-9)
    assert float(negative) < 0
    assert float(syngen_loss(tensor, [], words)) == 0.0


def test_syngen_gradient_moves_the_attribute_toward_its_noun_and_away_from_the_other():
    torch.manual_seed(1)
    logits = torch.randn(6, 6, 77) * 0.5
    logits[..., 0] += 3.0
    logits[:3, :, 3] += 2.0  # cat on the top half
    logits[3:, :, 7] += 2.0  # dog on the bottom half
    logits[3:, :, 2] += 2.0  # "red" (of the cat) leaks onto the dog
    logits.requires_grad_(True)
    words = list(range(1, 8))
    pairs = [BindingPair((3,), (2,), (2, 3))]

    def distance(values, a, b):
        maps = values.softmax(-1)
        return float(
            symmetric_kl(maps[..., a].flatten() / maps[..., a].sum(), maps[..., b].flatten() / maps[..., b].sum())
        )

    loss = syngen_loss(logits.softmax(-1), pairs, words)
    (gradient,) = torch.autograd.grad(loss, [logits])
    stepped = (logits - 0.5 * gradient).detach()
    assert distance(stepped, 2, 3) < distance(logits.detach(), 2, 3)  # red moves toward cat
    assert distance(stepped, 2, 7) > distance(logits.detach(), 2, 7)  # and away from dog
    assert float(syngen_loss(stepped.softmax(-1), pairs, words)) < float(loss.detach())


# ---- targets from the prompt tree ----


def test_targets_come_from_the_tree_with_repeated_words_and_nesting():
    targets = guidance_targets(CAT_DOG, token_count=9)
    assert targets.subjects == ((3,), (7,))
    assert targets.pairs == (BindingPair((3,), (2,), (2, 3)), BindingPair((7,), (6,), (6, 7)))
    assert targets.words == tuple(range(1, 8))
    nested = guidance_targets(MAN_HAT, token_count=8)
    assert nested.subjects == ((2,), (6,))
    assert nested.pairs == (BindingPair((6,), (5,), (5, 6)),)  # the man has no attribute; the hat's red binds to hat
    # "a red cat and a red dog": the same word twice, each bound to its own noun by position
    repeated = PromptTree(
        "a red cat and a red dog",
        (
            Entity("cat", "cat", (6, 9), (Attribute("red", (2, 5), (2,)),), None, (3,)),
            Entity("dog", "dog", (20, 23), (Attribute("red", (16, 19), (6,)),), None, (7,)),
        ),
    )
    assert [(p.noun, p.modifier) for p in guidance_targets(repeated, 9).pairs] == [((3,), (2,)), ((7,), (6,))]
    # tokens past the limit are dropped; no tree, no targets
    assert guidance_targets(CAT_DOG, token_count=5).subjects == ((3,),)
    assert guidance_targets(None, 9).subjects == () and guidance_targets(None, 9).words == tuple(range(1, 8))


# ---- schedules and resolutions ----


def test_schedule_follows_the_papers_at_50_steps_and_scales_with_progress():
    excite = GuidancePart("excite", (0.0, 0.5), 20.0, 0.5, ((0.0, 0.05), (0.2, 0.5), (0.4, 0.8)), 20)
    assert [i for i in range(50) if excite.active(i, 50)] == list(range(25))  # "the first 25 of 50 steps"
    assert excite.step_size_at(0, 50) == pytest.approx(20.0)
    assert excite.step_size_at(49, 50) == pytest.approx(20.0 * math.sqrt(0.5))  # sqrt(linspace(1, 0.5, 50))
    assert excite.step_size_at(10, 50) == pytest.approx(20.0 * math.sqrt(1 - 0.5 * 10 / 49))
    targets = {i: excite.refinement_target(i, 50) for i in range(50)}
    assert {i: t for i, t in targets.items() if t is not None} == pytest.approx({0: 0.95, 10: 0.5, 20: 0.2})
    at_25 = {i for i in range(25) if excite.refinement_target(i, 25) is not None}
    assert at_25 == {0, 5, 10}  # the same progress on a 25-step schedule
    empty = GuidancePart("excite", (0.0, 0.0), 20.0)
    assert not any(empty.active(i, 50) for i in range(50))


def test_map_level_auto_is_a_quarter_of_the_latent_else_the_coarsest():
    # SD 1.x at 512 px: latent 64, cross-attention at levels 0-3 (64, 32, 16, 8): auto is 16x16, level 2
    assert select_map_level("auto", [0, 1, 2, 3], (64, 64), "excite") == 2
    # SDXL at 1024 px: latent 128, cross-attention at levels 1 and 2 (64, 32): auto is 32x32
    assert select_map_level("auto", [1, 2], (128, 128), "excite") == 2
    # the shapes model at 64 px: latent 16, maps 16 and 8; a quarter of 16 (4) does not exist: the coarsest
    assert select_map_level("auto", [0, 1], (16, 16), "excite") == 1
    assert select_map_level(16, [0, 1], (16, 16), "excite") == 0
    with pytest.raises(AttnmodError, match=r"excite.resolution: .* no 24x24 .* \(it has 16x16, 8x8\)"):
        select_map_level(24, [0, 1], (16, 16), "excite")
