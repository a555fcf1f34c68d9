"""Contact sheets for checking the shapes judge by eye: each generated image, its caption and the judge's reading.

    python benchmarks/judge_agreement.py IMAGES --out OUT [--count 60] [--seed 0]

IMAGES is either a run folder of ``attnmod ablate`` with a ``shapes:`` source (``results.jsonl`` rows carry
``metadata.scene``; images in ``items/ID/image.png``) or a folder searched recursively for ``NAME.png`` with a
``NAME.json`` beside it holding ``{"scene": ...}`` or the scene itself (what ``benchmarks/shapes_quality.py
--images`` writes). ``--count`` images are drawn at random (``--seed``) when there are more.

Writes ``OUT/sheet-N.png`` (20 images a page: the image, what the judge saw redrawn from its masks in the colour it
read, the caption and the judge's verdicts) and ``OUT/agreement.csv`` (one row per image, with an empty
``person_agrees`` column): look at each image, write yes/no for whether the judge's all-correct verdict and
failure kinds match what you see, and count. Record the count in docs/shapes.md.
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
                    [number, str(image_path), scene.caption, index, f"{obj.colour} {obj.shape}"]
                    + [""] * (len(PERSON_FIELDS) + 1)
                )
    return len(pages)


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
        images.append((number, image_path, scene, image))
    if args.blind:
        pages = write_blind(images, args.out)
        print(f"{len(images)} images on {pages} sheet(s) in {args.out}; fill in person.csv before any judging.")
        return 0
    entries = [(number, path, scene, judge_image(image, scene), image) for number, path, scene, image in images]
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
