"""The shapes world: seeded scenes, truth masks, held-out combinations, tune/test halves and parseable captions.

Expected values come from geometry (areas and centres of the drawn shapes) and from reading the captions' words,
not from the generator's own bookkeeping.
"""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest
from attnmod.toolkit import shapes_world as world
from attnmod.toolkit.shapes_world import COLOURS, Relation, Scene, ShapeObject, prompt_set, render_scene

PLURAL_TO_SHAPE = {
    "circles": "circle",
    "squares": "square",
    "triangles": "triangle",
    "stars": "star",
    "rings": "ring",
    "crosses": "cross",
}
HELDOUT_PAIRS = {
    ("red", "star"),
    ("green", "ring"),
    ("blue", "triangle"),
    ("yellow", "cross"),
    ("purple", "square"),
    ("white", "circle"),
}
HELDOUT_SHAPES = [{"circle", "triangle"}, {"square", "star"}]


def caption_objects(caption: str) -> list[tuple[str, str]]:
    """(colour, shape) for every "COLOUR SHAPE(S)" in a caption, read from its words."""
    words = re.findall(r"[a-z]+", caption)
    found = []
    for first, second in zip(words, words[1:], strict=False):
        shape = PLURAL_TO_SHAPE.get(second, second)
        if first in COLOURS and shape in world.SHAPES:
            found.append((first, shape))
    return found


def is_heldout_caption(caption: str) -> bool:
    pairs = caption_objects(caption)
    shapes = {shape for _, shape in pairs}
    return any(pair in HELDOUT_PAIRS for pair in pairs) or any(held <= shapes for held in HELDOUT_SHAPES)


def test_same_seed_same_scenes_and_pixels():
    first = prompt_set("seen-2/test", 12, seed=3)
    second = prompt_set("seen-2/test", 12, seed=3)
    assert [s.to_json() for s in first] == [s.to_json() for s in second]
    other = prompt_set("seen-2/test", 12, seed=4)
    assert [s.caption for s in other] != [s.caption for s in first]
    assert [s.to_json() for s in prompt_set("seen-2/test", 5, seed=3)] == [s.to_json() for s in first[:5]]
    scene = world.sample_scene(random.Random(7), "triple")
    assert world.sample_scene(random.Random(7), "triple") == scene
    image_a, masks_a = render_scene(scene)
    image_b, masks_b = render_scene(scene)
    assert np.array_equal(image_a, image_b) and np.array_equal(masks_a, masks_b)
    assert Scene.from_json(scene.to_json()) == scene


@pytest.mark.parametrize(
    ("shape", "area_per_r2"),
    [
        ("circle", math.pi),
        ("square", 1.64**2),
        ("triangle", 3 * math.sqrt(3) / 4),
        ("ring", math.pi * (1 - 0.55**2)),
        ("cross", 2 * 0.64 * 1.9 - 0.64**2),
    ],
)
def test_mask_has_the_shape_area_and_colour(shape, area_per_r2):
    obj = ShapeObject(shape, "green", "large", 30.0, 33.0, 12.0)
    image, masks = render_scene(Scene((obj,), f"a green {shape}", "single"))
    assert masks.shape == (1, 64, 64)
    assert masks[0].sum() == pytest.approx(area_per_r2 * 144, rel=0.08)  # pixel rounding of thin arms
    # Inside the mask (away from its edge) the pixels are the palette colour; far away, the background.
    assert (image[masks[0]] == COLOURS["green"]).all(axis=1).mean() > 0.6
    assert tuple(image[2, 2]) == world.BACKGROUND and tuple(image[60, 60]) == world.BACKGROUND
    if shape != "triangle":  # the triangle's centroid sits below its bounding circle's centre
        ys, xs = np.nonzero(masks[0])
        assert xs.mean() + 0.5 == pytest.approx(30.0, abs=0.3) and ys.mean() + 0.5 == pytest.approx(33.0, abs=0.3)


def test_masks_follow_objects_and_nesting_cuts_the_container():
    outer = ShapeObject("square", "red", "large", 32.0, 32.0, 15.0)
    inner = ShapeObject("circle", "blue", "small", 32.0, 32.0, 6.0)
    image, masks = render_scene(
        Scene((outer, inner), "a red square with a blue circle inside", "nested", (Relation(1, "inside", 0),))
    )
    assert not (masks[0] & masks[1]).any()
    assert masks[1].sum() == pytest.approx(math.pi * 36, rel=0.06)
    # The square's 24.6-pixel side covers 24 whole pixels at this centre.
    assert masks[0].sum() == pytest.approx(24**2 - math.pi * 36, rel=0.03)
    assert tuple(image[32, 32]) == COLOURS["blue"] and tuple(image[32, 20]) == COLOURS["red"]
    for scene in prompt_set("seen-3", 10):
        _, masks = render_scene(scene)
        assert len(masks) == len(scene.objects) == 3
        for mask, obj in zip(masks, scene.objects, strict=True):
            ys, xs = np.nonzero(mask)
            # Every mask pixel lies within reach of its object's centre (plus the pixel's half diagonal); a
            # square's corners reach 0.82 * sqrt(2) = 1.16 radii, beyond its bounding circle.
            reach = obj.radius * (0.82 * math.sqrt(2) if obj.shape == "square" else 1.0)
            assert (np.hypot(xs + 0.5 - obj.x, ys + 0.5 - obj.y) <= reach + 0.75).all()


@pytest.mark.parametrize("objects", ["1", "2", "3"])
def test_heldout_combinations_stay_out_of_seen_sets(objects):
    for scene in prompt_set(f"seen-{objects}", 60, seed=1):
        assert not is_heldout_caption(scene.caption), scene.caption
    # Single held-out objects have few distinct captions (6 pairs, each with or without a size word).
    for scene in prompt_set(f"heldout-{objects}", 15 if objects == "1" else 40, seed=1):
        assert is_heldout_caption(scene.caption), scene.caption
    for name in ("nested", "count"):
        for scene in prompt_set(name, 20):
            assert not is_heldout_caption(scene.caption), scene.caption


def test_training_batches_never_show_a_heldout_combination():
    rng = random.Random(11)
    for _ in range(4):
        images, captions = world.training_batch(rng, 32, drop_caption=0.0)
        assert images.shape == (32, 64, 64, 3) and images.dtype == np.uint8
        assert all(caption and not is_heldout_caption(caption) for caption in captions)


def test_tune_and_test_halves_share_no_caption():
    for name, count in (
        ("seen-1", 20),
        ("heldout-1", 5),
        ("seen-2", 40),
        ("heldout-2", 40),
        ("seen-3", 40),
        ("nested", 40),
        ("count", 20),
    ):
        tune = {s.caption for s in prompt_set(f"{name}/tune", count)}
        test = {s.caption for s in prompt_set(f"{name}/test", count)}
        assert len(tune) == count and len(test) == count and not tune & test


def test_set_names_are_checked():
    for bad in ("seen-4", "unseen-1", "seen-2/train", "nested/val"):
        with pytest.raises(ValueError, match="shapes set|half"):
            prompt_set(bad, 3)


def check_parse(scenes: list[Scene]) -> None:
    from attnmod.toolkit.prompt.parse import parse_prompts

    trees = parse_prompts([s.caption for s in scenes])
    for scene, tree in zip(scenes, trees, strict=True):
        named = caption_objects(scene.caption)
        assert len(tree.entities) == len(named), (scene.caption, tree.entities)
        for entity, (colour, shape) in zip(tree.entities, named, strict=True):
            assert PLURAL_TO_SHAPE.get(entity.noun, entity.noun) == shape
            assert colour in [a.text for a in entity.attributes], (scene.caption, entity)
        if scene.form == "nested":
            assert tree.entities[1].parent == 0
        if scene.form == "count":
            # One entity for the plural noun, its colour bound to it; the scene holds that many objects.
            count = {"two": 2, "three": 3}[scene.caption.split()[0]]
            assert len(scene.objects) == count


def test_every_caption_form_parses_into_its_objects():
    scenes = [world.sample_scene(random.Random(100 + i), form, "any") for form in world.FORMS for i in range(6)]
    # A nested square inside is a known parser failure (next test).
    check_parse([s for s in scenes if not (s.form == "nested" and s.objects[1].shape == "square")])


def test_nested_caption_with_an_inner_square_parses():
    outer = ShapeObject("square", "red", "large", 32.0, 32.0, 15.0)
    inner = ShapeObject("square", "white", "small", 32.0, 32.0, 6.0)
    check_parse(
        [Scene((outer, inner), "a red square with a white square inside", "nested", (Relation(1, "inside", 0),))]
    )


def test_form_weights_parse_and_reject_bad_mixtures():
    assert world.parse_form_weights(" relation = 2, pair=1 ") == {"pair": 1.0, "relation": 2.0}
    for text, message in [
        ("pair=1,spiral=2", "unknown caption form 'spiral'"),
        ("pair", "is not FORM=WEIGHT"),
        ("pair=x", "not a number"),
        ("pair=-1", ">= 0"),
        ("pair=nan", ">= 0"),
        ("pair=0,single=0", "positive weight"),
        ("pair=1,pair=2", "named twice"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            world.parse_form_weights(text)


def test_training_batches_follow_the_form_mixture():
    # The default mixture, written out, draws the very same batch (a run keeps its scenes).
    default = world.training_batch(random.Random(5), 12, 0.0)
    written = world.training_batch(random.Random(5), 12, 0.0, dict(world.FORM_WEIGHTS))
    assert default[1] == written[1] and np.array_equal(default[0], written[0])
    # A form with weight 0, or not named, is never drawn.
    _, counts = world.training_batch(random.Random(1), 40, 0.0, {"count": 1.0, "pair": 0.0})
    assert all(re.fullmatch(r"(two|three) \w+ \w+", c) for c in counts)
    # Relative weights: pairs three times as often as singles (2,000 draws, about 25% singles).
    rng = random.Random(2)
    forms = [world.sample_scene(rng, None, "seen", form_weights={"single": 1, "pair": 3}).form for _ in range(2000)]
    assert set(forms) == {"single", "pair"} and 0.22 < forms.count("single") / 2000 < 0.28


def test_a_count_beyond_a_sets_captions_is_refused_with_the_sets_size_instead_of_searching_for_ever():
    with pytest.raises(ValueError, match=r"holds (\d+) distinct captions, fewer than the 100000000") as refused:
        world.prompt_set("seen-1/test", 100_000_000)
    size = int(re.search(r"holds (\d+)", str(refused.value)).group(1))
    whole = world.prompt_set("seen-1/test", size)  # the size said is available...
    assert len({scene.caption for scene in whole}) == size
    with pytest.raises(ValueError, match=f"ask for at most {size}"):  # ...and one more is not
        world.prompt_set("seen-1/test", size + 1)


# ---- reading a caption back ----


@pytest.mark.parametrize("form", world.FORMS)
def test_every_caption_the_world_writes_reads_back_as_its_scene(form):
    rng = random.Random(11)
    for _ in range(60):
        scene = world.sample_scene(rng, form, "any")
        read = world.scene_from_caption(scene.caption)
        assert read is not None, scene.caption
        assert [(o.shape, o.colour) for o in read.objects] == [(o.shape, o.colour) for o in scene.objects]
        assert read.relations == scene.relations and read.form == form


def test_a_caption_reads_back_with_its_stated_sizes_and_known_geometry():
    read = world.scene_from_caption("  A Large  purple star. ")
    assert read.caption == "a large purple star"
    (star,) = read.objects
    assert (star.shape, star.colour, star.size, star.radius) == ("star", "purple", "large", 12.0)
    nested = world.scene_from_caption("a white ring with a red cross inside")
    assert [(o.shape, o.size, o.radius) for o in nested.objects] == [("ring", "large", 15.0), ("cross", "small", 6.0)]
    assert nested.relations == (Relation(1, "inside", 0),)
    assert [o.shape for o in world.scene_from_caption("three green triangles").objects] == ["triangle"] * 3
    relation = world.scene_from_caption("a red circle below a blue square")
    assert relation.relations == (Relation(0, "below", 1),)


@pytest.mark.parametrize(
    "text",
    ["a red car", "a red circle and a white sheep", "a circle", "red circle", "a red circle and", "four red circles"],
)
def test_other_text_is_not_a_caption(text):
    assert world.scene_from_caption(text) is None


def test_out_of_vocabulary_names_each_unseen_word_once_in_order():
    assert world.out_of_vocabulary("a red car and a white sheep, a car") == ["car", "sheep"]
    assert world.out_of_vocabulary("Two small red circles to the left of a blue square with a star inside") == []
    assert world.out_of_vocabulary("an orange 3d circle") == ["orange", "d"]  # "an" reads as "a"
