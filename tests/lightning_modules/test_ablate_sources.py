"""Prompt sources of an ablation run: file formats, named benchmark loaders, filters, seeds and stable item ids.

Every file here is planted in tmp_path in the format of the public set it imitates (see each test).
"""

from __future__ import annotations

import json

import pytest
from attnmod.lightning_modules.data import (
    PromptEntry,
    expand_items,
    item_id,
    item_problem,
    load_source,
    load_sources,
    parse_seeds,
)
from attnmod.toolkit.errors import AttnmodError


def test_text_file_one_prompt_per_line_skips_blank_lines_and_keeps_line_numbers(tmp_path):
    path = tmp_path / "mine.txt"
    # T2I-CompBench style: CRLF line endings and no newline after the last line; a blank line in between.
    path.write_bytes(b"a red car and a white sheep\r\n\r\n  a blue bowl  \r\na green bench")
    entries = load_source(str(path))
    assert [(e.prompt, e.index, e.source, e.category) for e in entries] == [
        ("a red car and a white sheep", 1, "mine.txt", None),
        ("a blue bowl", 3, "mine.txt", None),
        ("a green bench", 4, "mine.txt", None),
    ]


def test_jsonl_keeps_category_and_metadata_and_turns_bad_lines_into_failing_entries(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"prompt": "a red car", "category": "color", "difficulty": 2}\n'
        "{not json\n"
        '{"text": "no prompt field"}\n'
        "\n"
        '{"prompt": "a cat"}\n',
        encoding="utf-8",
    )
    entries = load_source(str(path))
    assert [e.index for e in entries] == [1, 2, 3, 5]
    assert (entries[0].prompt, entries[0].category, entries[0].metadata, entries[0].problem) == (
        "a red car",
        "color",
        {"difficulty": 2},
        None,
    )
    assert "line 2 of set.jsonl is not valid JSON" in entries[1].problem
    assert entries[2].problem == "line 3 of set.jsonl has no string field 'prompt'"
    assert entries[3].prompt == "a cat" and entries[3].problem is None


def test_t2i_compbench_file_and_folder(tmp_path):
    folder = tmp_path / "t2i"
    folder.mkdir()
    (folder / "color_val.txt").write_bytes(b"a green bench and a blue bowl\r\na blue bench and a green bowl")
    (folder / "shape_val.txt").write_bytes(b"an oval clock and a square mirror\r\n")
    (folder / "color_val_seen.txt").write_bytes(b"not an official val set\r\n")
    (folder / "color_train.txt").write_bytes(b"training prompt\r\n")
    one = load_source(f"t2i-compbench:{folder / 'color_val.txt'}")
    assert [(e.prompt, e.category, e.source) for e in one] == [
        ("a green bench and a blue bowl", "color", "t2i-compbench:color_val.txt"),
        ("a blue bench and a green bowl", "color", "t2i-compbench:color_val.txt"),
    ]
    # A folder means the official *_val.txt sets only (not *_val_seen, not *_train).
    every = load_source(f"t2i-compbench:{folder}")
    assert [e.category for e in every] == ["color", "color", "shape"]
    seen = load_source(f"t2i-compbench:{folder / 'color_val_seen.txt'}")
    assert seen[0].category == "color_seen"


def test_cc500_stops_at_line_446(tmp_path):
    lines = [f"a red thing{n} and a blue thing{n}" for n in range(1, 447)] + ["a red cube on top of a blue cube"] * 3
    path = tmp_path / "CC-500.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    entries = load_source(f"cc-500:{path}")
    assert len(entries) == 446
    assert entries[-1].prompt == "a red thing446 and a blue thing446"
    assert {e.category for e in entries} == {"cc-500"}


def test_attend_and_excite_json_object_categories(tmp_path):
    path = tmp_path / "a.e_prompts.txt"  # JSON despite the .txt name, as published
    path.write_text(
        json.dumps({"animals": ["a cat and a dog"], "objects": ["a red bench and a blue car", "a gold clock"]}),
        encoding="utf-8",
    )
    entries = load_source(f"attend-and-excite:{path}")
    assert [(e.prompt, e.category, e.index) for e in entries] == [
        ("a cat and a dog", "animals", 1),
        ("a red bench and a blue car", "objects", 2),
        ("a gold clock", "objects", 3),
    ]


def test_geneval_metadata_tag_becomes_category(tmp_path):
    path = tmp_path / "evaluation_metadata.jsonl"
    rows = [
        {"tag": "single_object", "include": [{"class": "bench", "count": 1}], "prompt": "a photo of a bench"},
        {
            "tag": "color_attr",
            "include": [{"class": "apple", "count": 1, "color": "black"}],
            "prompt": "a photo of a black apple",
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    entries = load_source(f"geneval:{tmp_path}")  # the folder works too
    assert [(e.prompt, e.category) for e in entries] == [
        ("a photo of a bench", "single_object"),
        ("a photo of a black apple", "color_attr"),
    ]
    assert entries[1].metadata == {"include": [{"class": "apple", "count": 1, "color": "black"}]}


def test_coco_caption_csv_and_json(tmp_path):
    csv_path = tmp_path / "metadata.csv"
    csv_path.write_text(
        "file_name,text\n"
        "COCO_val2014_000000000042.jpg,A small dog is curled up on top of the shoes\n"
        'COCO_val2014_000000000073.jpg,"A motorcycle, parked, with a brown leather seat."\n',
        encoding="utf-8",
    )
    entries = load_source(f"coco:{csv_path}")
    assert [(e.prompt, e.index, e.metadata["file_name"]) for e in entries] == [
        ("A small dog is curled up on top of the shoes", 2, "COCO_val2014_000000000042.jpg"),
        ("A motorcycle, parked, with a brown leather seat.", 3, "COCO_val2014_000000000073.jpg"),
    ]
    json_path = tmp_path / "captions_val2014.json"
    json_path.write_text(
        json.dumps({"annotations": [{"image_id": 42, "id": 7, "caption": "A dog on shoes. "}]}), encoding="utf-8"
    )
    (entry,) = load_source(f"coco:{json_path}")
    assert (entry.prompt, entry.category, entry.metadata) == (
        "A dog on shoes.",
        "coco",
        {"image_id": 42, "caption_id": 7},
    )


def test_limit_is_per_source_after_the_category_filter(tmp_path):
    path = tmp_path / "set.jsonl"
    rows = [{"prompt": f"p{n}", "category": "color" if n % 2 else "shape"} for n in range(10)]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("q1\nq2\nq3\n", encoding="utf-8")
    entries = load_sources([str(path), str(other)], limit=2, categories=["color"])
    assert [e.prompt for e in entries] == ["p1", "p3"]  # other.txt has no category "color"
    assert [e.prompt for e in load_sources([str(path), str(other)], limit=2)] == ["p0", "p1", "q1", "q2"]


def test_bad_sources_are_clear_errors(tmp_path):
    with pytest.raises(AttnmodError, match="does not exist"):
        load_source(str(tmp_path / "missing.txt"))
    with pytest.raises(AttnmodError, match="named loader"):
        load_source(str(tmp_path / "prompts.parquet"))
    with pytest.raises(AttnmodError, match="does not exist"):
        load_source(f"cc-500:{tmp_path / 'nope.txt'}")
    bad_csv = tmp_path / "captions.csv"
    bad_csv.write_text("image,words\nx,y\n", encoding="utf-8")
    with pytest.raises(AttnmodError, match="'text'"):
        load_source(f"coco:{bad_csv}")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(AttnmodError, match="hold no prompts"):
        load_sources([str(empty)])


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,5,7-8,5") == [0, 5, 7, 8]
    for bad in ("", "a", "3-1", "1-"):
        with pytest.raises(AttnmodError):
            parse_seeds(bad)


def test_item_ids_are_stable_distinct_and_independent_of_the_folder(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for folder in (first, second):
        (folder / "p.txt").write_text("a red car\na red car\na cat\n", encoding="utf-8")
    items_a = expand_items(load_source(str(first / "p.txt")), [0, 1], ["none", "full"])
    items_b = expand_items(load_source(str(second / "p.txt")), [0, 1], ["none", "full"])
    assert [i.id for i in items_a] == [i.id for i in items_b]  # moving the file keeps the ids
    assert len({i.id for i in items_a}) == 12  # the repeated prompt on line 2 is its own item
    assert items_a[0].id == item_id("p.txt", 1, "a red car", 0, "none")
    # Variant-major order: a batch of consecutive items shares one modulation config.
    assert [i.variant for i in items_a] == ["none"] * 6 + ["full"] * 6
    assert [(i.index, i.seed) for i in items_a[:4]] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    # Giving the same source twice does not duplicate items.
    doubled = expand_items(load_sources([str(first / "p.txt")] * 2), [0], ["none"])
    assert len(doubled) == 3


def test_item_problem_flags_bad_prompts():
    entries = [PromptEntry(prompt, "planted", n) for n, prompt in enumerate(["a red car", "   ", "a red\x00car"], 1)]
    good, empty, control = expand_items(entries, [0], ["none"])
    assert item_problem(good) is None
    assert item_problem(empty) == "empty prompt"
    assert item_problem(control) == "prompt contains the control character U+0000"
