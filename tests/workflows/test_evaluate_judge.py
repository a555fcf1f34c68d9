"""`attnmod evaluate RUN --judge shapes` on a 4-item run of planted renders, and the `shapes:` prompt source.

The run is written by hand the way `attnmod ablate` writes one (results.jsonl rows with a folder and the scene in
``metadata.scene``; ``items/ID/image.png``). What each image shows is planted, so every judge score is known.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from attnmod.cli import main
from attnmod.lightning_modules.data import load_sources
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.shapes_world import Relation, Scene, ShapeObject, prompt_set, render_scene
from click.testing import CliRunner
from PIL import Image

RED_CIRCLE = ShapeObject("circle", "red", "large", 18.0, 20.0, 12.0)
BLUE_SQUARE = ShapeObject("square", "blue", "small", 46.0, 44.0, 7.0)
PAIR = Scene((RED_CIRCLE, BLUE_SQUARE), "a red circle and a blue square", "pair")
TRIANGLE = ShapeObject("triangle", "green", "small", 14.0, 30.0, 7.0)
CIRCLE = ShapeObject("circle", "purple", "small", 48.0, 34.0, 7.0)
LEFT_OF = Scene(
    (TRIANGLE, CIRCLE), "a green triangle to the left of a purple circle", "relation", (Relation(0, "left of", 1),)
)


def circle_with_blue_left_third():
    """PAIR drawn right but for the red circle's left third (of its truth mask's columns), painted blue."""
    image, masks = render_scene(PAIR)
    blue, _ = render_scene(dataclasses.replace(PAIR, objects=(dataclasses.replace(RED_CIRCLE, colour="blue"),)))
    columns = masks[0].any(axis=0).nonzero()[0]
    left = masks[0].copy()
    left[:, columns[0] + len(columns) // 3 :] = False
    image[left] = blue[left]
    return image


# (item id, variant, scene asked for, objects drawn (or a function drawing the image), expected judge scores)
ITEMS = [
    (
        "a1",
        "none",
        PAIR,
        (RED_CIRCLE, BLUE_SQUARE),
        {
            "judge_object_accuracy": 1.0,
            "judge_colour_binding": True,
            "judge_count": True,
            "judge_relation": None,
            "judge_all_correct": True,
            "judge_missing": False,
            "judge_wrong_colour": False,
            "judge_merged": False,
            "judge_leaked": False,
        },
    ),
    (
        "a2",
        "none",
        PAIR,
        (dataclasses.replace(RED_CIRCLE, colour="blue"), dataclasses.replace(BLUE_SQUARE, colour="red")),
        {
            "judge_object_accuracy": 0.0,
            "judge_colour_binding": False,
            "judge_count": False,
            "judge_relation": None,
            "judge_all_correct": False,
            "judge_missing": False,
            "judge_wrong_colour": True,
            "judge_merged": False,
            "judge_leaked": False,
        },
    ),
    (
        "b1",
        "full",
        LEFT_OF,
        (TRIANGLE, CIRCLE),
        {
            "judge_object_accuracy": 1.0,
            "judge_colour_binding": True,
            "judge_count": True,
            "judge_relation": True,
            "judge_all_correct": True,
            "judge_missing": False,
            "judge_wrong_colour": False,
            "judge_merged": False,
            "judge_leaked": False,
        },
    ),
    (
        "b2",
        "full",
        LEFT_OF,
        (TRIANGLE,),
        {
            "judge_object_accuracy": 0.5,
            "judge_colour_binding": True,
            "judge_count": False,
            "judge_relation": False,
            "judge_all_correct": False,
            "judge_missing": True,
            "judge_wrong_colour": False,
            "judge_merged": False,
            "judge_leaked": False,
        },
    ),
    (
        "c1",
        "two-tone",
        PAIR,
        circle_with_blue_left_third,
        {
            "judge_object_accuracy": 1.0,
            "judge_colour_binding": True,
            "judge_count": True,
            "judge_relation": None,
            "judge_all_correct": False,
            "judge_missing": False,
            "judge_wrong_colour": False,
            "judge_merged": False,
            "judge_leaked": True,
        },
    ),
]


@pytest.fixture
def planted_run(tmp_path):
    run = tmp_path / "run"
    rows = []
    for item_id, variant, scene, drawn, _ in ITEMS:
        folder = run / "items" / item_id
        folder.mkdir(parents=True)
        if callable(drawn):
            image = drawn()
        else:
            image, _ = render_scene(dataclasses.replace(scene, objects=drawn, relations=()))
        Image.fromarray(image).save(folder / "image.png")
        rows.append(
            {
                "id": item_id,
                "prompt": scene.caption,
                "seed": 0,
                "variant": variant,
                "status": "done",
                "folder": f"items/{item_id}",
                "category": "planted",
                "clip_score": 99.0,
                "metadata": {"scene": scene.to_json()},
            }
        )
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return run


def test_evaluate_judge_writes_item_scores_and_variant_rates(planted_run):
    result = CliRunner().invoke(main, ["evaluate", str(planted_run), "--judge", "shapes", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert "judge shapes (5 items judged" in result.output
    rows = [json.loads(line) for line in (planted_run / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [item[0] for item in ITEMS]
    for row, (_, _, _, _, expected) in zip(rows, ITEMS, strict=True):
        assert {k: row[k] for k in expected} == expected
        assert "clip_score" not in row  # the stale CLIP score of an earlier evaluation is gone; CLIP did not run
        assert row["metadata"]["scene"]["caption"] == row["prompt"]
    summary = json.loads((planted_run / "evaluation.json").read_text())
    assert summary["judge"] == "shapes" and summary["items_judged"] == 5 and summary["clip_model"] is None
    none, full = summary["variants"]["none"], summary["variants"]["full"]
    assert none["n"] == 2 and none["clip_score"] is None
    assert none["judge"]["judge_all_correct"]["mean"] == 0.5 and none["judge"]["judge_wrong_colour"]["mean"] == 0.5
    assert none["judge"]["judge_object_accuracy"]["mean"] == 0.5
    assert none["judge"]["judge_relation"] == {"mean": None, "low": None, "high": None, "n": 0}
    assert full["judge"]["judge_relation"]["mean"] == 0.5 and full["judge"]["judge_missing"]["mean"] == 0.5
    assert full["judge"]["judge_object_accuracy"]["mean"] == 0.75
    binding = full["judge"]["judge_colour_binding"]
    assert binding["mean"] == 1.0 and binding["low"] == 1.0 and binding["high"] == 1.0 and binding["n"] == 2
    assert none["judge"]["judge_leaked"]["mean"] == 0.0 and full["judge"]["judge_leaked"]["mean"] == 0.0
    assert summary["variants"]["two-tone"]["judge"]["judge_leaked"] == {"mean": 1.0, "low": 1.0, "high": 1.0, "n": 1}
    assert "leaked" in result.output  # the printed table has the column
    interval = none["judge"]["judge_all_correct"]
    assert 0.0 <= interval["low"] <= 0.5 <= interval["high"] <= 1.0 and interval["n"] == 2


def test_items_without_a_scene_are_left_out_with_a_warning(planted_run):
    rows = [json.loads(line) for line in (planted_run / "results.jsonl").read_text().splitlines()]
    del rows[0]["metadata"]
    (planted_run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # The scene may also lie next to the image.
    (planted_run / "items" / "a2" / "scene.json").write_text(json.dumps(PAIR.to_json()), encoding="utf-8")
    del rows[1]["metadata"]
    (planted_run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", str(planted_run), "--judge", "shapes", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["items_judged"] == 4
    assert any("1 item(s) have no shapes-world scene" in w and "a1" in w for w in summary["warnings"])
    rows = [json.loads(line) for line in (planted_run / "results.jsonl").read_text().splitlines()]
    assert "judge_all_correct" not in rows[0] and rows[1]["judge_wrong_colour"] is True


def test_unknown_judge_is_one_line_error(planted_run):
    result = CliRunner().invoke(main, ["evaluate", str(planted_run), "--judge", "clip"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_shapes_source_carries_scenes():
    entries = load_sources(["shapes:seen-2/test:6:3"])
    scenes = prompt_set("seen-2/test", 6, seed=3)
    assert [e.prompt for e in entries] == [s.caption for s in scenes]
    assert [Scene.from_json(e.metadata["scene"]) for e in entries] == scenes
    assert {e.category for e in entries} == {"seen-2/test"} and [e.index for e in entries] == list(range(1, 7))
    more = load_sources(["shapes:seen-2/test:9:3"])
    assert [(e.source, e.index, e.prompt) for e in more[:6]] == [(e.source, e.index, e.prompt) for e in entries]
    assert len(load_sources(["shapes:nested"])) == 100  # COUNT defaults to 100
    for bad in ("shapes:seen-9", "shapes:seen-2:x", "shapes:seen-2:0", "shapes:", "shapes:count"):  # count: 72 captions
        with pytest.raises(AttnmodError):
            load_sources([bad])


def test_run_report_shows_the_judge_rates(planted_run):
    from attnmod.reports.run_report import write_run_report

    assert CliRunner().invoke(main, ["evaluate", str(planted_run), "--judge", "shapes"]).exit_code == 0
    (path,) = write_run_report(planted_run, formats="html")
    page = path.read_text(encoding="utf-8")
    section = page[page.index('<section id="judge">') : page.index("</section>", page.index('<section id="judge">'))]
    rows = section[section.index("<tbody>") :].split("<tr>")[1:]
    assert [row.split("</td>")[0].removeprefix("<td>") for row in rows] == ["none", "full", "two-tone"]
    cells = [cell.split(">")[-1] for cell in rows[1].split("</td>")[:-1]]
    # full: all correct 1 of 2, object accuracy (1 + 0.5) / 2, binding 2 of 2, relation 1 of 2
    assert cells[1] == "2" and cells[2].startswith("0.500 [") and cells[3].startswith("0.750 [")
    assert cells[4] == "1.000 [1.000, 1.000]" and cells[6].startswith("0.500 [")
    assert [cell.split(">")[-1] for cell in rows[0].split("</td>")[:-1]][6] == "n/a"  # none: no relation stated
    assert "leaked (lower is better)" in section
    assert [cell.split(">")[-1] for cell in rows[2].split("</td>")[:-1]][-1] == "1.000 [1.000, 1.000]"  # leaked


# ---------------------------------------------------------------------------------------------- issue 30


def _evaluate(run, *extra):
    return CliRunner().invoke(main, ["evaluate", str(run), "--judge", "shapes", "--resamples", "50", *extra])


def test_unreadable_lines_are_kept_verbatim_and_warnings_go_to_stderr(planted_run):
    results = planted_run / "results.jsonl"
    lines = results.read_bytes().splitlines()
    damaged = [lines[0], b'{"id": "cut', lines[1], b"\xff\xfe not utf-8", *lines[2:]]
    results.write_bytes(b"\n".join(damaged) + b"\n")
    result = _evaluate(planted_run)
    assert result.exit_code == 0, result.output
    assert "warning: skipped 2 unreadable line(s) of results.jsonl" in result.stderr
    assert "kept as they are" in result.stderr and "warning" not in result.stdout
    after = results.read_bytes().splitlines()
    assert after[1] == b'{"id": "cut' and after[3] == b"\xff\xfe not utf-8"  # same bytes, same places
    assert [json.loads(after[i])["id"] for i in (0, 2, 4, 5)] == ["a1", "a2", "b1", "b2"]
    assert all("judge_all_correct" in json.loads(after[i]) for i in (0, 2, 4, 5))


def test_only_items_folders_are_read_whatever_the_rows_say(planted_run, tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    Image.fromarray(render_scene(PAIR)[0]).save(outside / "image.png")
    rows = [json.loads(line) for line in (planted_run / "results.jsonl").read_text().splitlines()]
    rows[0]["folder"] = "../../secret"  # a tampered folder field: the item is still read from items/a1
    rows[1]["id"] = "../../secret"  # a tampered id: not a plain name, not read at all
    (planted_run / "items" / "b2" / "image.png").unlink()
    (planted_run / "items" / "b2" / "image.png").symlink_to(outside / "image.png")  # a planted link
    (planted_run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = _evaluate(planted_run, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["items_judged"] == summary["items_scored"] == len(ITEMS) - 2  # all but the tampered id and b2
    assert any("folder field '../../secret' is ignored" in w for w in summary["warnings"])
    assert any("'../../secret'" in w and "not a plain name" in w for w in summary["warnings"])
    assert any("b2" in w and "leads outside its item folder" in w for w in summary["warnings"])
    judged = [json.loads(line) for line in (planted_run / "results.jsonl").read_text().splitlines()]
    assert judged[0]["judge_all_correct"] is True  # items/a1 drawn correctly, whatever the folder field says


def test_a_truncated_image_is_a_warning_not_a_traceback(planted_run):
    image = planted_run / "items" / "a2" / "image.png"
    image.write_bytes(image.read_bytes()[:60])
    result = _evaluate(planted_run)
    assert result.exit_code == 0, result.output
    assert "item a2:" in result.stderr and "does not decode" in result.stderr
    assert f"judge shapes ({len(ITEMS) - 1} items judged" in result.stdout


def test_judging_a_run_without_scenes_is_refused_and_writes_nothing(planted_run):
    rows = [json.loads(line) for line in (planted_run / "results.jsonl").read_text().splitlines()]
    for row in rows:
        del row["metadata"]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (planted_run / "results.jsonl").write_text(text, encoding="utf-8")
    result = _evaluate(planted_run)
    assert result.exit_code == 1
    assert f"none of the {len(ITEMS)} items" in result.stderr and "nothing was written" in result.stderr
    assert (planted_run / "results.jsonl").read_text(encoding="utf-8") == text
    assert not (planted_run / "evaluation.json").exists()


def test_evaluate_refuses_a_run_whose_lock_is_held(planted_run):
    from attnmod.toolkit.output_folder import RunLock

    before = (planted_run / "results.jsonl").read_bytes()
    with RunLock(planted_run, "`attnmod ablate` run"):
        result = _evaluate(planted_run)
    assert result.exit_code == 1 and "is writing to" in result.stderr
    assert (planted_run / "results.jsonl").read_bytes() == before
    assert not (planted_run / "evaluation.json").exists()
