"""Contact sheets for checking the shapes judge by eye: each generated image, its caption and the judge's reading.

    python benchmarks/judge_agreement.py IMAGES --out OUT [--count 60] [--seed 0]
    python benchmarks/judge_agreement.py IMAGES --out OUT --count 100 --blind       # the person's sheets first
    python benchmarks/judge_agreement.py IMAGES --out OUT --count 100 --compare OUT/person.csv [--grid FILE.png]

IMAGES is either a run folder of ``attnmod ablate`` with a ``shapes:`` source (``results.jsonl`` rows carry
``metadata.scene``; images in ``items/ID/image.png``) or a folder searched recursively for ``NAME.png`` with a
``NAME.json`` beside it holding ``{"scene": ...}`` or the scene itself (what ``benchmarks/shapes_quality.py
--images`` writes). ``--count`` images are drawn at random (``--seed``) when there are more.

Writes ``OUT/sheet-N.png`` (20 images a page: the image, what the judge saw redrawn from its masks in the colour it
read, the caption and the judge's verdicts) and ``OUT/agreement.csv`` (one row per image, with an empty
``person_agrees`` column): look at each image, write yes/no for whether the judge's all-correct verdict and
failure kinds match what you see, and count. Record the count in docs/shapes.md.

Verdict by verdict, without seeing the judge first: ``--blind`` writes ``OUT/blind-N.png`` (10 images a page,
enlarged, numbered, with the caption and nothing of the judge's) and ``OUT/person.csv``, one row per named object
with empty columns ``present`` (its shape is drawn, any colour), ``colour_right`` (its own colour dominates),
``leaked`` (a visible part of it is in another named object's colour), ``merged`` (it is fused with another named
object into one blob) and ``extra`` (the image holds an object no one named; the same on every row of an image):
``y``, ``n`` or ``-`` (not applicable: colour and leak of an object not drawn). ``--compare`` then judges the same
images and counts agreement per verdict: present against the judge's ``shape_found``, colour right against
``colour_correct`` and leaked against ``leaked`` where both see the object, merged per image (any object) against
``JudgeResult.merged``, extra per image against ``not no_extra``; it prints a Markdown table with Wilson 95%
intervals, writes ``OUT/comparison.json`` and draws every disagreement (``--grid``: the image, the judge's reading
redrawn from its masks, the verdict and both answers).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import textwrap
from pathlib import Path

import numpy as np
from attnmod.analysis.judge.image import judge_image
from attnmod.toolkit.shapes_world import BACKGROUND, COLOURS, Scene

PER_PAGE = 20
COLUMNS = 2
SCALE = 3
CELL_WIDTH = 700
CELL_HEIGHT = 64 * SCALE + 16


def find_images(folder: Path) -> list[tuple[Path, Scene]]:
    """(image, scene) pairs from a run folder or a folder of PNG + JSON pairs."""
    pairs = []
    results = folder / "results.jsonl"
    if results.is_file():
        for line in results.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            scene = (row.get("metadata") or {}).get("scene") if isinstance(row, dict) else None
            image = folder / str(row.get("folder") or "") / "image.png"
            if scene and row.get("status", "done") == "done" and image.is_file():
                pairs.append((image, Scene.from_json(scene)))
        return pairs
    for image in sorted(folder.rglob("*.png")):
        sidecar = image.with_suffix(".json")
        if not sidecar.is_file():
            continue
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        scene = data.get("scene", data) if isinstance(data, dict) else None
        if isinstance(scene, dict) and "objects" in scene:
            pairs.append((image, Scene.from_json(scene)))
    return pairs


def judge_view(result, size: int) -> np.ndarray:
    """The judge's reading redrawn: every detected mask in the colour it read, on the background."""
    view = np.empty((size, size, 3), dtype=np.uint8)
    view[:] = BACKGROUND
    for detection in result.detected:
        view[detection.mask] = COLOURS[detection.colour]
    return view


def verdict_lines(result) -> list[str]:
    lines = [("ALL CORRECT" if result.all_correct else "NOT ALL CORRECT") + f" (objects {result.object_accuracy:.2f})"]
    for obj in result.objects:
        if obj.found:
            state = "found"
        elif obj.wrong_colour:
            state = f"WRONG COLOUR ({obj.detected_colour})"
        else:
            state = "MISSING"
        lines.append(f"- {obj.colour} {obj.shape}: {state}" + (" MERGED" if obj.merged else ""))
    extra = [f"{d.colour} {d.shape}" for d in result.detected if d.named is None]
    if extra:
        lines.append("extra: " + ", ".join(extra))
    if result.relation is not None:
        lines.append(f"relation holds: {result.relation}")
    if not result.counts:
        lines.append("counts wrong")
    return lines


def draw_sheet(entries: list[tuple[int, Path, Scene, object, np.ndarray]], path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    rows = (len(entries) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (CELL_WIDTH * COLUMNS, CELL_HEIGHT * rows), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    side = 64 * SCALE
    for slot, (number, image_path, scene, result, image) in enumerate(entries):
        left, top = (slot % COLUMNS) * CELL_WIDTH, (slot // COLUMNS) * CELL_HEIGHT
        picture = Image.fromarray(image).resize((side, side), Image.Resampling.NEAREST)
        view = Image.fromarray(judge_view(result, image.shape[0])).resize((side // 2, side // 2))
        sheet.paste(picture, (left + 8, top + 8))
        sheet.paste(view, (left + side + 16, top + 8))
        text_left = left + side + 16
        lines = [f"#{number}  {image_path.parent.name}/{image_path.name}"]
        lines += textwrap.wrap(f'"{scene.caption}"', 44)
        lines += verdict_lines(result)
        y = top + 8 + side // 2 + 4
        for line in lines[:1]:
            draw.text((text_left + side // 2 + 8, top + 8), line, fill=(0, 0, 0), font=font)
        for line in lines[1:]:
            draw.text(
                (text_left, y),
                line,
                fill=(160, 0, 0)
                if any(w in line for w in ("NOT ALL", "MISSING", "WRONG", "MERGED", "extra", "False", "counts wrong"))
                else (0, 0, 0),
                font=font,
            )
            y += 12
        draw.rectangle((left, top, left + CELL_WIDTH - 1, top + CELL_HEIGHT - 1), outline=(200, 200, 200))
    sheet.save(path)


BLIND_PER_PAGE = 10
BLIND_COLUMNS = 5
BLIND_SCALE = 4
PERSON_FIELDS = ("present", "colour_right", "leaked", "merged", "extra")


def draw_blind_sheet(entries: list[tuple[int, Path, Scene, np.ndarray]], path: Path) -> None:
    """A page for the person's reading: each image enlarged (nearest neighbour), its number and caption; nothing
    of the judge's."""
    from PIL import Image, ImageDraw, ImageFont

    side = 64 * BLIND_SCALE
    cell_width, cell_height = side + 16, side + 48
    rows = (len(entries) + BLIND_COLUMNS - 1) // BLIND_COLUMNS
    sheet = Image.new("RGB", (cell_width * BLIND_COLUMNS, cell_height * rows), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for slot, (number, _, scene, image) in enumerate(entries):
        left, top = (slot % BLIND_COLUMNS) * cell_width, (slot // BLIND_COLUMNS) * cell_height
        sheet.paste(Image.fromarray(image).resize((side, side), Image.Resampling.NEAREST), (left + 8, top + 8))
        lines = [f"#{number}"] + textwrap.wrap(scene.caption, 40)
        for row, line in enumerate(lines[:3]):
            draw.text((left + 8, top + side + 10 + 12 * row), line, fill=(0, 0, 0), font=font)
    sheet.save(path)


def write_blind(entries: list[tuple[int, Path, Scene, np.ndarray]], out: Path) -> int:
    """Sheets ``blind-N.png`` and ``person.csv`` (one row per named object, the verdict columns empty)."""
    pages = [entries[start : start + BLIND_PER_PAGE] for start in range(0, len(entries), BLIND_PER_PAGE)]
    for page, chunk in enumerate(pages, start=1):
        draw_blind_sheet(chunk, out / f"blind-{page}.png")
    with (out / "person.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "image", "caption", "object", "named", *PERSON_FIELDS, "note"])
        for number, image_path, scene, _ in entries:
            for index, obj in enumerate(scene.objects):
                writer.writerow(
                    [number, image_path.as_posix(), scene.caption, index, f"{obj.colour} {obj.shape}"]
                    + [""] * (len(PERSON_FIELDS) + 1)
                )
    return len(pages)


def read_person(path: Path) -> dict[int, list[dict]]:
    """``person.csv`` as ``{image number: [row per named object, in order]}``; answers lower-cased."""
    images: dict[int, list[dict]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for field in PERSON_FIELDS:
                answer = (row.get(field) or "").strip().lower()
                if answer not in ("y", "n", "-"):
                    raise ValueError(f"image {row.get('number')}, object {row.get('object')}: {field}={answer!r}")
                row[field] = answer
            images.setdefault(int(row["number"]), []).append(row)
    for rows in images.values():
        rows.sort(key=lambda row: int(row["object"]))
    return images


def _yes(answer: str) -> bool | None:
    return None if answer == "-" else answer == "y"


def compare(entries: list[tuple[int, Path, Scene, object, np.ndarray]], person: dict[int, list[dict]]) -> dict:
    """Per verdict: the pairs (person, judge) and every disagreement ``(number, object index or None, verdict,
    person, judge)``."""
    pairs: dict[str, list[tuple[bool, bool]]] = {name: [] for name in PERSON_FIELDS}
    pairs["leaked (two or more named objects)"] = []
    disagreements = []
    for number, _, scene, result, _ in entries:
        rows = person.get(number)
        if rows is None or len(rows) != len(scene.objects):
            raise ValueError(f"image {number}: person.csv has no row for each of its {len(scene.objects)} objects")
        for index, (row, verdict) in enumerate(zip(rows, result.objects, strict=True)):
            seen = {
                "present": (_yes(row["present"]), verdict.shape_found),
                "colour_right": (_yes(row["colour_right"]), verdict.colour_correct),
                "leaked": (_yes(row["leaked"]), getattr(verdict, "leaked", None)),  # None: a judge before leakage
            }
            for name, (theirs, ours) in seen.items():
                if theirs is None or ours is None:
                    continue
                pairs[name].append((theirs, bool(ours)))
                if name == "leaked" and len(scene.objects) > 1:
                    pairs["leaked (two or more named objects)"].append((theirs, bool(ours)))
                if theirs != bool(ours):
                    disagreements.append((number, index, name, theirs, bool(ours)))
        for name, theirs, ours in (
            ("merged", any(_yes(row["merged"]) for row in rows), result.merged),
            ("extra", _yes(rows[0]["extra"]), not result.no_extra),
        ):
            pairs[name].append((bool(theirs), bool(ours)))
            if bool(theirs) != bool(ours):
                disagreements.append((number, None, name, bool(theirs), bool(ours)))
    return {"pairs": pairs, "disagreements": disagreements}


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if total == 0:
        return (float("nan"), float("nan"))
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * (p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5 / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def agreement_table(comparison: dict) -> list[str]:
    lines = [
        "| verdict | compared | agree | 95% interval | both yes | person yes, judge no | person no, judge yes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, pairs in comparison["pairs"].items():
        agree = sum(a == b for a, b in pairs)
        low, high = wilson(agree, len(pairs))
        both = sum(a and b for a, b in pairs)
        person_only = sum(a and not b for a, b in pairs)
        judge_only = sum(b and not a for a, b in pairs)
        lines.append(
            f"| {name} | {len(pairs)} | {agree} ({agree / max(1, len(pairs)):.0%}) | [{low:.0%}, {high:.0%}] | "
            f"{both} | {person_only} | {judge_only} |"
        )
    return lines


def draw_disagreements(entries, comparison: dict, path: Path, per_row: int = 4) -> None:
    """One tile per disagreement: the image and the judge's reading (2x), the caption, the verdict, both answers
    (saved with a 64-colour palette to keep the file small)."""
    from PIL import Image, ImageDraw, ImageFont

    by_number = {entry[0]: entry for entry in entries}
    side = 64 * 2
    tile_width, tile_height = max(2 * side + 24, 300), side + 50
    tiles = comparison["disagreements"]
    rows = max(1, (len(tiles) + per_row - 1) // per_row)
    sheet = Image.new("RGB", (tile_width * per_row, tile_height * rows), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for slot, (number, index, name, theirs, ours) in enumerate(tiles):
        _, _, scene, result, image = by_number[number]
        left, top = (slot % per_row) * tile_width, (slot // per_row) * tile_height
        sheet.paste(Image.fromarray(image).resize((side, side), Image.Resampling.NEAREST), (left + 8, top + 4))
        view = judge_view(result, image.shape[0])
        sheet.paste(Image.fromarray(view).resize((side, side), Image.Resampling.NEAREST), (left + side + 16, top + 4))
        what = "image" if index is None else f"{scene.objects[index].colour} {scene.objects[index].shape}"
        lines = [
            f"#{number} {textwrap.shorten(scene.caption, 46)}",
            f"{name} ({what}): person {'yes' if theirs else 'no'}, judge {'yes' if ours else 'no'}",
            textwrap.shorten("judge " + result.summary(), 50),
        ]
        for row, line in enumerate(lines):
            draw.text((left + 8, top + side + 6 + 13 * row), line, fill=(0, 0, 0), font=font)
        draw.rectangle((left, top, left + tile_width - 1, top + tile_height - 1), outline=(200, 200, 200))
    sheet.quantize(colors=64).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path, help="a run folder or a folder of NAME.png + NAME.json")
    parser.add_argument("--out", type=Path, required=True, help="folder for the sheets and agreement.csv")
    parser.add_argument("--count", type=int, default=60, help="images to show (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random choice (default 0)")
    parser.add_argument(
        "--blind",
        action="store_true",
        help="write only the person's sheets (blind-N.png) and person.csv to fill in, without the judge's reading",
    )
    parser.add_argument("--compare", type=Path, help="a filled person.csv: count agreement per verdict")
    parser.add_argument("--grid", type=Path, help="with --compare: draw the disagreements here (OUT/disagreements.png)")
    args = parser.parse_args(argv)
    if not args.images.is_dir():
        print(f"judge_agreement: {str(args.images)!r} is not a folder", file=sys.stderr)
        return 1
    pairs = find_images(args.images)
    if not pairs:
        print(f"judge_agreement: no images with scenes under {str(args.images)!r}", file=sys.stderr)
        return 1
    if len(pairs) > args.count:
        pairs = sorted(random.Random(args.seed).sample(pairs, args.count), key=lambda pair: str(pair[0]))
    args.out.mkdir(parents=True, exist_ok=True)
    images = []
    for number, (image_path, scene) in enumerate(pairs, start=1):
        with Image.open(image_path) as picture:
            image = np.asarray(picture.convert("RGB").resize((scene.canvas, scene.canvas), Image.Resampling.BOX))
        images.append((number, image_path.relative_to(args.images), scene, image))
    if args.blind:
        pages = write_blind(images, args.out)
        print(f"{len(images)} images on {pages} sheet(s) in {args.out}; fill in person.csv before any judging.")
        return 0
    entries = [(number, path, scene, judge_image(image, scene), image) for number, path, scene, image in images]
    if args.compare:
        try:
            person = read_person(args.compare)
            for number, path, _, _, _ in entries:
                named = (person.get(number) or [{}])[0].get("image")
                if named != path.as_posix():
                    raise ValueError(f"image {number} is {path.as_posix()} here but {named!r} in {args.compare.name}")
            comparison = compare(entries, person)
        except (OSError, ValueError, KeyError) as error:
            print(f"judge_agreement: --compare {str(args.compare)!r}: {error}", file=sys.stderr)
            return 1
        draw_disagreements(entries, comparison, args.grid or args.out / "disagreements.png")
        lines = agreement_table(comparison)
        (args.out / "comparison.json").write_text(
            json.dumps(
                {
                    "table": lines,
                    "pairs": comparison["pairs"],
                    "disagreements": [
                        {"number": n, "object": i, "verdict": v, "person": p, "judge": j}
                        for n, i, v, p, j in comparison["disagreements"]
                    ],
                    "judged": {str(n): result.to_json() for n, _, _, result, _ in entries},
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        print("\n".join(lines))
        print(
            f"{len(comparison['disagreements'])} disagreement(s) drawn in {args.grid or args.out / 'disagreements.png'}"
        )
        return 0
    pages = [entries[start : start + PER_PAGE] for start in range(0, len(entries), PER_PAGE)]
    for page, chunk in enumerate(pages, start=1):
        draw_sheet(chunk, args.out / f"sheet-{page}.png")
    with (args.out / "agreement.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "image", "caption", "judge_all_correct", "judge_reading", "person_agrees"])
        for number, image_path, scene, result, _ in entries:
            writer.writerow([number, str(image_path), scene.caption, result.all_correct, result.summary(), ""])
    correct = sum(result.all_correct for _, _, _, result, _ in entries)
    print(
        f"{len(entries)} images on {len(pages)} sheet(s) in {args.out}; the judge calls {correct} all correct. "
        "Fill person_agrees in agreement.csv and count."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
