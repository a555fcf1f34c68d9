"""analysis/judge/truth.py: the judge's reading of a diagnosis' two images, as data and as the lines that lead the
output. The images are planted renders of known scenes, so each verdict is known before the judge reads them."""

from __future__ import annotations

import numpy as np
from attnmod.analysis.judge import judge_image
from attnmod.analysis.judge.truth import truth_section
from attnmod.toolkit.shapes_world import Scene, ShapeObject, render_scene, scene_from_caption

CAPTION = "a red circle and a blue square"
RED_CIRCLE = ShapeObject("circle", "red", "large", 16, 16, 12)
BLUE_SQUARE = ShapeObject("square", "blue", "large", 46, 46, 12)


def _image(*objects: ShapeObject):
    image, _ = render_scene(Scene(objects, "planted", "pair"))
    return image


def _read(baseline, modulated) -> dict:
    scene = scene_from_caption(CAPTION)
    results = {"baseline": judge_image(baseline, scene), "modulated": judge_image(modulated, scene)}
    return truth_section(scene, results, {"baseline": "none", "modulated": "full"})


def test_a_right_image_and_a_wrong_colour():
    red_square = ShapeObject("square", "red", "large", 46, 46, 12)
    truth = _read(_image(RED_CIRCLE, BLUE_SQUARE), _image(RED_CIRCLE, red_square))
    assert truth["judge"] == "shapes" and truth["objects"] == ["red circle", "blue square"]
    right, wrong = truth["images"]["baseline"], truth["images"]["modulated"]
    assert right["all_correct"] and [o["found"] for o in right["objects"]] == [True, True] and right["extra"] == []
    assert not wrong["all_correct"] and wrong["wrong_colour"]
    square = wrong["objects"][1]
    assert (square["found"], square["wrong_colour"], square["detected_colour"]) == (False, True, "red")
    assert truth["lines"] == [
        "without modulation (none): right (red circle: present; blue square: present)",
        "with full: wrong (red circle: present; blue square: drawn red (wrong colour))",
        "full broke the image (1 of 2 named objects present with it)",
    ]
    assert truth["comparison"] == truth["lines"][-1]


def test_a_missing_object_and_an_extra_one_then_fixed():
    green_star = ShapeObject("star", "green", "large", 46, 14, 12)
    truth = _read(_image(RED_CIRCLE, green_star), _image(RED_CIRCLE, BLUE_SQUARE))
    missing = truth["images"]["baseline"]
    assert missing["objects"][1]["missing"] and missing["extra"] == ["large green star"]
    assert (
        truth["lines"][0]
        == "without modulation (none): wrong (red circle: present; blue square: missing; extra: large green star)"
    )
    assert truth["comparison"] == "full fixed the image (1 of 2 named objects present without modulation)"


def test_both_wrong_counts_the_named_objects_drawn_right():
    truth = _read(_image(RED_CIRCLE), _image(BLUE_SQUARE))  # one object each: as many right
    assert truth["comparison"] == "both images are wrong; named objects present: 1 of 2 without modulation, 1 with full"
    truth = _read(_image(RED_CIRCLE), _image())
    assert truth["images"]["modulated"]["seen"] == []
    assert truth["comparison"] == "both images are wrong; named objects present: 1 of 2 without modulation, 0 with full"


def test_a_two_tone_object_is_present_and_leaked():
    """A quarter of the blue square painted red: the square is found, in its colour, and holds the circle's red."""
    from attnmod.toolkit.shapes_world import COLOURS

    image = _image(RED_CIRCLE, BLUE_SQUARE).copy()
    rows, columns = np.where(np.abs(image.astype(int) - np.array(COLOURS["blue"])).sum(-1) < 30)
    top = rows < rows.min() + 0.25 * (rows.max() - rows.min())
    image[rows[top], columns[top]] = COLOURS["red"]
    truth = _read(_image(RED_CIRCLE, BLUE_SQUARE), image)
    square = truth["images"]["modulated"]["objects"][1]
    assert (square["found"], square["leaked"], square["foreign_colour"]) == (True, True, "red")
    assert 0.15 < square["foreign_share"] < 0.35
    assert truth["lines"][1] == "with full: wrong (red circle: present; blue square: present, partly red (leaked))"
    assert truth["comparison"] == "full broke the image (2 of 2 named objects present with it)"


def test_object_lines_name_each_verdict_once():
    from attnmod.analysis.judge.truth import object_line

    base = {"shape": "cross", "colour": "red", "missing": False, "wrong_colour": False, "detected_colour": "red"}
    assert object_line(base) == "red cross: present"
    wrong = {**base, "wrong_colour": True, "detected_colour": "yellow"}
    assert object_line(wrong) == "red cross: drawn yellow (wrong colour)"
    mostly = {**wrong, "leaked": True, "foreign_colour": "yellow"}
    assert object_line(mostly) == "red cross: drawn mostly yellow, partly red (wrong colour, leaked)"
    merged = {**base, "missing": True, "merged": True}
    assert object_line(merged) == "red cross: missing, merged with another object"
