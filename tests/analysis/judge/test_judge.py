"""The shapes-world judge on planted renders whose right answers are known by construction.

Each test draws a scene by hand (shapes, colours, places chosen here), sometimes changes what is drawn (a colour
swapped, an object left out or added, two objects pushed together), and checks the judge's reading against the
scene it was asked about.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from attnmod.analysis.judge import image as judge
from attnmod.analysis.judge import objects as judge_objects
from attnmod.analysis.judge import pixels as judge_pixels
from attnmod.analysis.judge.image import judge_image
from attnmod.toolkit.shapes_world import BACKGROUND, COLOURS, SHAPES, Relation, Scene, ShapeObject, render_scene
from PIL import Image

RED_CIRCLE = ShapeObject("circle", "red", "large", 18.0, 20.0, 12.0)
BLUE_SQUARE = ShapeObject("square", "blue", "small", 46.0, 44.0, 7.0)
PAIR = Scene((RED_CIRCLE, BLUE_SQUARE), "a red circle and a blue square", "pair")


def drawn(*objects: ShapeObject) -> np.ndarray:
    image, _ = render_scene(Scene(tuple(objects), "", "pair"))
    return image


def test_correct_pair_is_all_correct_and_read_exactly():
    result = judge_image(drawn(RED_CIRCLE, BLUE_SQUARE), PAIR)
    seen = sorted((d.shape, d.colour, d.size) for d in result.detected)
    assert seen == [("circle", "red", "large"), ("square", "blue", "small")]
    assert result.all_correct and result.present and result.no_extra and result.counts
    assert result.colour_binding is True and result.relation is None and result.size_correct is None
    assert not (result.missing or result.wrong_colour or result.merged)
    assert result.object_accuracy == 1.0
    circle = result.objects[0]
    assert circle.found and circle.centre == pytest.approx((18.0, 20.0), abs=0.3)
    _, masks = render_scene(PAIR)
    assert (circle.mask == masks[0]).mean() > 0.995  # the judge's mask is the truth mask up to a few edge pixels
    # A PIL image reads the same as the array, and the result is JSON.
    assert judge_image(Image.fromarray(drawn(RED_CIRCLE, BLUE_SQUARE)), PAIR).to_json() == result.to_json()
    text = json.dumps(result.to_json())
    back = judge_objects.rle_to_mask(json.loads(text)["objects"][0]["mask"])
    assert np.array_equal(back, circle.mask)
    assert result.metrics() == {
        "judge_object_accuracy": 1.0,
        "judge_colour_binding": True,
        "judge_count": True,
        "judge_relation": None,
        "judge_all_correct": True,
        "judge_missing": False,
        "judge_wrong_colour": False,
        "judge_merged": False,
        "judge_leaked": False,
    }
    assert [o.leaked for o in result.objects] == [False, False] and [o.foreign_share for o in result.objects] == [0, 0]


def test_every_shape_and_colour_is_read():
    for index, shape in enumerate(SHAPES):
        for colour in COLOURS:
            for size, radius in (("small", 7.0), ("large", 12.0)):
                obj = ShapeObject(shape, colour, size, 20.0 + 3 * index, 40.0 - 2 * index, radius)
                result = judge_image(drawn(obj), Scene((obj,), f"a {size} {colour} {shape}", "single"))
                assert [(d.shape, d.colour, d.size) for d in result.detected] == [(shape, colour, size)]
                assert result.all_correct and result.size_correct is True
                assert not result.leaked and result.detected[0].colour_shares == {colour: 1.0}


def test_swapped_colours_are_wrong_colour_and_break_binding():
    swapped = drawn(dataclasses.replace(RED_CIRCLE, colour="blue"), dataclasses.replace(BLUE_SQUARE, colour="red"))
    result = judge_image(swapped, PAIR)
    assert result.wrong_colour and result.colour_binding is False and not result.present
    assert [o.wrong_colour for o in result.objects] == [True, True]
    assert [o.detected_colour for o in result.objects] == ["blue", "red"]
    assert [o.missing for o in result.objects] == [False, False]
    assert result.object_accuracy == 0.0 and not result.all_correct and result.no_extra


def test_removed_object_is_missing():
    result = judge_image(drawn(RED_CIRCLE), PAIR)
    assert result.missing and not result.present and not result.all_correct
    assert [o.missing for o in result.objects] == [False, True]
    assert result.objects[1].mask is None and result.objects[1].colour_correct is None
    assert result.object_accuracy == 0.5 and result.colour_binding is True  # the circle that is there is red


def test_wrong_shape_in_the_named_colour_is_missing_and_extra():
    result = judge_image(drawn(RED_CIRCLE, dataclasses.replace(BLUE_SQUARE, shape="star")), PAIR)
    assert result.objects[1].missing and not result.no_extra
    assert [(d.shape, d.colour) for d in result.detected if d.named is None] == [("star", "blue")]


def test_extra_object_fails_no_extra_only():
    extra = ShapeObject("triangle", "yellow", "small", 50.0, 12.0, 7.0)
    result = judge_image(drawn(RED_CIRCLE, BLUE_SQUARE, extra), PAIR)
    assert result.present and result.counts and not result.no_extra and not result.all_correct
    assert not (result.missing or result.wrong_colour or result.merged)


def relation_scene(relation: str) -> Scene:
    triangle = ShapeObject("triangle", "green", "small", 14.0, 30.0, 7.0)
    circle = ShapeObject("circle", "purple", "small", 48.0, 34.0, 7.0)
    words = {"left of": "to the left of", "right of": "to the right of"}[relation]
    return Scene(
        (triangle, circle), f"a green triangle {words} a purple circle", "relation", (Relation(0, relation, 1),)
    )


def test_relation_holds_and_a_flipped_one_does_not():
    image = drawn(*relation_scene("left of").objects)
    assert judge_image(image, relation_scene("left of")).relation is True
    flipped = judge_image(image, relation_scene("right of"))
    assert flipped.relation is False and flipped.present and not flipped.all_correct
    above = dataclasses.replace(relation_scene("left of"), relations=(Relation(0, "above", 1),))
    assert judge_image(image, above).relation is False  # 34 px apart sideways, 4 px up: the sideways axis rules


def nested_scene(inner_x: float = 32.0) -> Scene:
    outer = ShapeObject("square", "red", "large", 32.0, 32.0, 15.0)
    inner = ShapeObject("circle", "blue", "small", inner_x, 32.0, 6.0)
    return Scene((outer, inner), "a red square with a blue circle inside", "nested", (Relation(1, "inside", 0),))


def test_nested_pair_is_read_with_the_container_hole():
    scene = nested_scene()
    result = judge_image(drawn(*scene.objects), scene)
    assert result.all_correct and result.relation is True and not result.merged
    container = result.detected[result.objects[0].detection]
    assert container.shape == "square" and container.size == "large"
    assert (container.filled & ~container.mask).sum() == pytest.approx(np.pi * 36, rel=0.15)  # the hole
    # A ring holds background in its hole, a container holds its inner object: both are read right.
    ring = ShapeObject("ring", "green", "large", 32.0, 32.0, 15.0)
    inside_ring = ShapeObject("star", "white", "small", 32.0, 32.0, 6.0)
    ring_scene = Scene((ring, inside_ring), "a green ring with a white star inside", "nested", scene.relations)
    assert judge_image(drawn(ring, inside_ring), ring_scene).all_correct


def test_container_seen_through_a_nested_ring_is_not_an_extra_object():
    outer = ShapeObject("square", "red", "large", 32.0, 32.0, 15.0)
    ring = ShapeObject("ring", "yellow", "small", 32.0, 32.0, 6.0)
    scene = Scene((outer, ring), "a red square with a yellow ring inside", "nested", (Relation(1, "inside", 0),))
    result = judge_image(drawn(outer, ring), scene)
    assert [(d.colour, d.shape) for d in result.detected] == [("red", "square"), ("yellow", "ring")]
    assert result.all_correct and result.no_extra


def test_inner_object_outside_its_container_breaks_inside():
    outer = ShapeObject("square", "red", "large", 20.0, 32.0, 12.0)
    inner = ShapeObject("circle", "blue", "small", 50.0, 32.0, 6.0)
    scene = Scene((outer, inner), "a red square with a blue circle inside", "nested", (Relation(1, "inside", 0),))
    result = judge_image(drawn(outer, inner), scene)
    assert result.present and result.relation is False and not result.all_correct


def test_counts():
    rings = tuple(ShapeObject("ring", "red", "small", x, y, 7.0) for x, y in ((12, 12), (50, 14), (30, 48)))
    scene = Scene(rings, "three red rings", "count")
    result = judge_image(drawn(*rings), scene)
    assert result.counts and result.all_correct
    two = judge_image(drawn(*rings[:2]), scene)
    assert not two.counts and two.missing and two.object_accuracy == pytest.approx(2 / 3)
    four = judge_image(drawn(*rings, ShapeObject("ring", "red", "small", 52.0, 50.0, 7.0)), scene)
    assert not four.counts and not four.no_extra and four.present


def test_two_objects_drawn_as_one_blob_are_merged():
    overlapping = dataclasses.replace(BLUE_SQUARE, x=26.0, y=27.0)
    result = judge_image(drawn(RED_CIRCLE, overlapping), PAIR)
    assert result.merged and not result.all_correct and not result.leaked  # two touching objects, not a two-tone one
    assert len(result.merged_blobs) == 1
    assert all(o.merged for o in result.objects)
    # Touching colours that are not named are an extra object, not a merge of named objects.
    other = Scene((RED_CIRCLE,), "a red circle", "single")
    assert not judge_image(drawn(RED_CIRCLE, dataclasses.replace(overlapping, colour="green")), other).merged


def test_small_object_partly_under_a_large_one_is_merged():
    triangle = ShapeObject("triangle", "red", "small", 20.0, 30.0, 7.0)
    ring = ShapeObject("ring", "green", "large", 32.0, 30.0, 12.0)  # overlaps the triangle's right side
    scene = Scene((triangle, dataclasses.replace(ring, x=48.0)), "a red triangle and a green ring", "pair")
    result = judge_image(drawn(triangle, ring), scene)
    assert result.merged and not result.all_correct
    apart = judge_image(drawn(triangle, dataclasses.replace(ring, x=48.0)), scene)
    assert not apart.merged and apart.all_correct


def test_one_colour_blob_of_two_named_objects_is_merged():
    first = ShapeObject("star", "yellow", "large", 26.0, 30.0, 12.0)
    second = ShapeObject("cross", "yellow", "large", 36.0, 32.0, 12.0)
    scene = Scene((first, dataclasses.replace(second, x=50.0)), "a yellow star and a yellow cross", "pair")
    result = judge_image(drawn(first, second), scene)
    assert len(result.detected) == 1
    if result.detected[0].confidence < judge.MERGE_CONFIDENCE:
        assert result.merged
    else:  # the blob looks like one known shape: it is read as that shape, the other named object is missing
        assert result.missing


def test_one_colour_merge_followed_by_another_blob():
    # Detections come colour by colour (red first): a red merged blob is judged before the blue circle's blob.
    star = ShapeObject("star", "red", "large", 20.0, 24.0, 12.0)
    cross = ShapeObject("cross", "red", "large", 30.0, 26.0, 12.0)
    blue = ShapeObject("circle", "blue", "small", 50.0, 50.0, 7.0)
    scene = Scene(
        (star, dataclasses.replace(cross, x=48.0, y=14.0), blue), "a red star, a red cross and a blue circle", "triple"
    )
    result = judge_image(drawn(star, cross, blue), scene)
    red = [d for d in result.detected if d.colour == "red"]
    assert len(red) == 1 and result.objects[2].found
    assert result.merged == (red[0].confidence < judge.MERGE_CONFIDENCE)


def test_pixel_colours_and_components():
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    image[0, 0] = COLOURS["red"]
    half = (np.asarray(COLOURS["yellow"], float) + BACKGROUND) / 2 + 1  # an anti-aliased yellow edge
    image[1, 1] = np.rint(half)
    image[2, 2] = (255, 128, 0)  # orange: far from every colour, every blend and the background
    image[3, 3] = np.rint((np.asarray(COLOURS["green"], float) + BACKGROUND) / 2 - 3)  # under half green
    labels = judge_pixels.colour_labels(image)
    names = list(COLOURS)
    assert labels[0, 0] == names.index("red") and labels[1, 1] == names.index("yellow")
    assert (
        labels[2, 2] == judge_pixels.UNKNOWN
        and labels[3, 3] == judge_pixels.BACKGROUND_LABEL
        and labels[0, 5] == judge_pixels.BACKGROUND_LABEL
    )
    mask = np.zeros((5, 7), dtype=bool)
    mask[0, 0] = mask[1, 1] = True  # diagonal neighbours: one component with 8-connectivity, two with 4
    mask[3:5, 4:7] = True
    labelled, count = judge_pixels.connected_components(mask)
    assert count == 2 and labelled[0, 0] == labelled[1, 1] == 1 and (labelled[3:5, 4:7] == 2).all()
    assert judge_pixels.connected_components(mask, connectivity=4)[1] == 3
    ring = np.zeros((7, 7), dtype=bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False
    assert judge_pixels.fill_holes(ring)[3, 3] and judge_pixels.fill_holes(ring).sum() == 25


def test_erosion_by_4_and_8_neighbours():
    plus = np.zeros((5, 5), dtype=bool)
    plus[2, 1:4] = plus[1:4, 2] = True  # the centre's 4 neighbours are in, its diagonal ones are not
    assert judge_pixels.erode(plus, connectivity=4).sum() == 1 and judge_pixels.erode(plus, connectivity=4)[2, 2]
    assert not judge_pixels.erode(plus).any()
    block = np.zeros((5, 5), dtype=bool)
    block[1:4, 1:4] = True
    assert judge_pixels.erode(block).sum() == 1 and judge_pixels.erode(block)[2, 2]


def test_image_size_and_bad_input():
    big = np.kron(drawn(RED_CIRCLE, BLUE_SQUARE), np.ones((2, 2, 1), dtype=np.uint8))  # 128 x 128
    assert judge_image(big, PAIR).all_correct
    with pytest.raises(ValueError, match="expected an image"):
        judge_image(np.zeros((64, 64, 5), dtype=np.uint8), PAIR)


def two_tone(obj: ShapeObject, foreign: str, share: float, angle: float) -> tuple[np.ndarray, float]:
    """``obj`` drawn with the pixels of its truth mask beyond a straight cut (perpendicular to ``angle`` degrees)
    painted ``foreign``, the cut placed so that ``share`` of the mask lies beyond it; returns the image and the
    foreign share of the mask as drawn."""
    image, masks = render_scene(Scene((obj,), "", "single"))
    other, _ = render_scene(Scene((dataclasses.replace(obj, colour=foreign),), "", "single"))
    ys, xs = np.nonzero(masks[0])
    along = np.cos(np.radians(angle)) * xs + np.sin(np.radians(angle)) * ys
    beyond = along > np.quantile(along, 1 - share)
    painted = image.copy()
    painted[ys[beyond], xs[beyond]] = other[ys[beyond], xs[beyond]]
    return painted, float(beyond.mean())


@pytest.mark.parametrize("shape", SHAPES)
def test_two_tone_object_is_present_and_leaked_with_the_foreign_colour(shape):
    obj = ShapeObject(shape, "green", "large", 30.0, 30.0, 12.0)
    scene = Scene((obj, ShapeObject("circle", "purple", "small", 54.0, 54.0, 6.0)), "", "pair")
    for share in (0.2, 0.3, 0.45):
        for angle in (0.0, 70.0, 135.0, 200.0, 290.0):
            image, planted = two_tone(obj, "purple", share, angle)
            result = judge_image(image, scene)
            verdict = result.objects[0]
            assert verdict.found and verdict.colour_correct and not verdict.missing, (share, angle, result.summary())
            assert verdict.leaked and verdict.foreign_colour == "purple", (share, angle, result.summary())
            assert verdict.foreign_share == pytest.approx(planted, abs=0.05)
            assert result.leaked and not result.merged and result.no_extra and not result.all_correct
            assert result.detected[verdict.detection].shape == shape
    # A small object leaks as well once the foreign part is more than a sliver.
    small = dataclasses.replace(obj, size="small", radius=7.0)
    image, _ = two_tone(small, "purple", 0.4, 30.0)
    verdict = judge_image(image, dataclasses.replace(scene, objects=(small, scene.objects[1]))).objects[0]
    assert verdict.found and verdict.leaked and verdict.foreign_colour == "purple"


def test_foreign_colour_must_be_another_named_objects():
    obj = ShapeObject("square", "blue", "large", 30.0, 30.0, 12.0)
    image, planted = two_tone(obj, "yellow", 0.35, 0.0)
    result = judge_image(image, Scene((obj,), "a blue square", "single"))  # yellow is nobody's colour here
    verdict = result.objects[0]
    assert verdict.found and not verdict.leaked and verdict.foreign_colour is None and verdict.foreign_share == 0.0
    assert result.detected[0].colour_shares["yellow"] == pytest.approx(planted, abs=0.05)
    # Mostly the other named object's colour: the colour is wrong (the right colour must dominate) and it leaked.
    image, _ = two_tone(obj, "red", 0.7, 0.0)
    pair = Scene((obj, ShapeObject("circle", "red", "small", 54.0, 54.0, 6.0)), "", "pair")
    verdict = judge_image(image, pair).objects[0]
    assert verdict.shape_found and verdict.wrong_colour and verdict.detected_colour == "red"
    assert verdict.leaked and verdict.foreign_colour == "red" and verdict.foreign_share > 0.5


def test_ring_is_a_ring_with_its_hole_in_one_or_two_colours():
    ring = ShapeObject("ring", "yellow", "large", 30.0, 32.0, 12.0)
    scene = Scene((ring, ShapeObject("star", "blue", "small", 54.0, 10.0, 7.0)), "", "pair")
    image, _ = render_scene(Scene((ring,), "", "single"))
    detection = judge_image(image, scene).detected[0]
    assert detection.shape == "ring" and (detection.filled & ~detection.mask).sum() > 30  # the hole
    for angle in (0.0, 90.0, 225.0):  # a cut straight through the hole leaves two arcs, neither with a hole
        image, _ = two_tone(ring, "blue", 0.5, angle)
        result = judge_image(image, scene)
        ring_found = result.detected[result.objects[0].detection]
        assert ring_found.shape == "ring" and result.objects[0].leaked, result.summary()
        assert (ring_found.filled & ~ring_found.mask).sum() > 30


def test_leak_from_a_ring_touching_another_object_is_a_merge_not_a_leak():
    ring = ShapeObject("ring", "red", "large", 30.0, 30.0, 12.0)
    circle = ShapeObject("circle", "green", "small", 22.0, 40.0, 7.0)  # sticks out of the ring's outline
    scene = Scene((ring, dataclasses.replace(circle, x=54.0, y=54.0)), "", "pair")
    result = judge_image(drawn(circle, ring), scene)
    assert not result.leaked and result.merged


def test_patch_of_another_colour_inside_an_object_is_its_paint_unless_the_caption_nests():
    square = ShapeObject("square", "blue", "large", 30.0, 30.0, 12.0)
    patch = ShapeObject("circle", "purple", "small", 30.0, 30.0, 5.0)  # lies wholly inside the square
    image = drawn(square, patch)
    pair = Scene((square, ShapeObject("cross", "purple", "large", 54.0, 54.0, 7.0)), "", "pair")
    result = judge_image(image, pair)
    (detection,) = result.detected  # one object: a blue square with a purple centre
    assert detection.shape == "square" and detection.colour == "blue"
    patch_share = np.pi * 25 / (1.64 * 12) ** 2  # the patch's share of the square's area
    assert detection.colour_shares["purple"] == pytest.approx(patch_share, abs=0.04)
    assert result.objects[0].found and result.objects[0].leaked and result.objects[0].foreign_colour == "purple"
    assert result.objects[1].missing and result.no_extra  # the purple patch is not the purple cross
    # The same image for a caption that nests a purple circle in the square: two objects, nothing leaked.
    nested = Scene((square, patch), "", "nested", (Relation(1, "inside", 0),))
    result = judge_image(image, nested)
    assert [(d.shape, d.colour) for d in result.detected] == [("square", "blue"), ("circle", "purple")]
    assert result.all_correct and not result.leaked


def test_ring_broken_by_stray_pixels_of_no_object_is_a_ring():
    ring = ShapeObject("ring", "red", "large", 30.0, 30.0, 12.0)
    image, masks = render_scene(Scene((ring,), "", "single"))
    broken = image.copy()
    gap = masks[0] & (np.arange(64)[None, :] < 25)  # the ring's left arc, beyond its hole's left edge
    broken[gap] = (255, 128, 0)  # orange: far from every colour and blend (unknown, as test_pixel_colours shows)
    assert gap.sum() > 15
    result = judge_image(broken, Scene((ring,), "a red ring", "single"))
    (detection,) = result.detected
    assert detection.shape == "ring" and detection.colour_shares == {"red": 1.0}
    assert (detection.filled & ~detection.mask).sum() > 30  # the hole, closed by the orange arc


def test_object_in_a_rings_hole_is_no_paint_of_the_ring():
    ring = ShapeObject("ring", "green", "large", 30.0, 30.0, 12.0)
    dot = ShapeObject("circle", "red", "small", 30.0, 30.0, 3.5)  # inside the hole, background all around it
    scene = Scene((ring, dataclasses.replace(dot, x=54.0, y=54.0)), "a green ring and a red circle", "pair")
    result = judge_image(drawn(ring, dot), scene)
    assert sorted((d.shape, d.colour) for d in result.detected) == [("circle", "red"), ("ring", "green")]
    assert not result.leaked and result.objects[0].found and result.objects[0].colour_correct
