"""benchmarks/judge_agreement.py's person-first flow: blind sheets and an empty person.csv, then agreement per
verdict against a filled person.csv, on planted renders whose judge verdicts are known."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

from attnmod.toolkit.shapes_world import Scene, ShapeObject, render_scene
from PIL import Image
from places import load_benchmark

agreement = load_benchmark("judge_agreement")

SQUARE = ShapeObject("square", "blue", "large", 20.0, 22.0, 12.0)
CIRCLE = ShapeObject("circle", "red", "small", 48.0, 46.0, 7.0)
PAIR = Scene((SQUARE, CIRCLE), "a blue square and a red circle", "pair")


def write_images(folder: Path) -> None:
    """Image 1: the pair drawn right. Image 2: the square's left third painted red (a leak) and the circle left out."""
    folder.mkdir(parents=True)
    right, _ = render_scene(PAIR)
    leaked, masks = render_scene(dataclasses.replace(PAIR, objects=(SQUARE,)))
    red, _ = render_scene(dataclasses.replace(PAIR, objects=(dataclasses.replace(SQUARE, colour="red"),)))
    left = masks[0].copy()
    left[:, 16:] = False  # the square spans columns 10-29
    leaked[left] = red[left]
    for name, image in (("a", right), ("b", leaked)):
        Image.fromarray(image).save(folder / f"{name}.png")
        (folder / f"{name}.json").write_text(json.dumps({"scene": PAIR.to_json()}), encoding="utf-8")


def test_blind_sheets_then_agreement_per_verdict(tmp_path, capsys):
    images, out = tmp_path / "images", tmp_path / "out"
    write_images(images)
    assert agreement.main([str(images), "--out", str(out), "--blind"]) == 0
    assert (out / "blind-1.png").is_file() and not (out / "sheet-1.png").exists()
    with (out / "person.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["number"], r["image"], r["named"], r["present"]) for r in rows] == [
        ("1", "a.png", "blue square", ""),
        ("1", "a.png", "red circle", ""),
        ("2", "b.png", "blue square", ""),
        ("2", "b.png", "red circle", ""),
    ]
    # The person's answers: right everywhere but two (says the leaked square is not leaked; sees an extra object
    # in the first image).
    answers = {
        ("1", "0"): "y y n n n",
        ("1", "1"): "y y n n n",
        ("2", "0"): "y y n n n",
        ("2", "1"): "n - - n n",
    }
    for row in rows:
        for field, answer in zip(agreement.PERSON_FIELDS, answers[(row["number"], row["object"])].split(), strict=True):
            row[field] = answer
        if row["number"] == "1":
            row["extra"] = "y"
    filled = tmp_path / "person.csv"
    with filled.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    grid = tmp_path / "grid.png"
    assert agreement.main([str(images), "--out", str(out), "--compare", str(filled), "--grid", str(grid)]) == 0
    table = capsys.readouterr().out
    assert "| present | 4 | 4 (100%)" in table  # the missing circle is missing for both
    assert "| colour_right | 3 | 3 (100%)" in table
    assert "| leaked | 3 | 2 (67%)" in table and "| 3 | 2 (67%) | [21%, 94%] | 0 | 0 | 1 |" in table
    assert "| extra | 2 | 1 (50%)" in table
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert {(d["number"], d["object"], d["verdict"], d["person"], d["judge"]) for d in comparison["disagreements"]} == {
        (2, 0, "leaked", False, True),
        (1, None, "extra", True, False),
    }
    assert Image.open(grid).size[1] > 0


def test_compare_refuses_a_person_file_for_other_images(tmp_path, capsys):
    images, out = tmp_path / "images", tmp_path / "out"
    write_images(images)
    agreement.main([str(images), "--out", str(out), "--blind"])
    text = (out / "person.csv").read_text(encoding="utf-8").replace("b.png", "c.png")
    (out / "person.csv").write_text(text.replace(",,,,,,", ",y,y,n,n,n,"), encoding="utf-8")
    assert agreement.main([str(images), "--out", str(out), "--compare", str(out / "person.csv")]) == 1
    assert "image 2 is b.png here" in capsys.readouterr().err
