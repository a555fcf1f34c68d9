"""The accuracy benchmark's gold derivation and scoring, and the dependency back end on the vendored subsets."""

from __future__ import annotations

import json
import re

import pytest
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree
from places import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("parse_accuracy")


def test_gold_from_templates(bench):
    sets = bench.load_gold(bench.VENDORED)
    assert set(sets) == {
        "geneval/two_object",
        "geneval/colors",
        "geneval/color_attr",
        "attend-and-excite",
        "cc-500",
        "t2i-compbench/color_val",
        "t2i-compbench/shape_val",
        "t2i-compbench/texture_val",
    }
    geneval = sets["geneval/color_attr"][0]
    assert geneval.prompt == "a photo of a purple wine glass and a black apple"
    spans = [
        (geneval.prompt[slice(*e.noun)], [geneval.prompt[slice(*a)] for a in e.attributes]) for e in geneval.entities
    ]
    assert spans == [("wine glass", ["purple"]), ("apple", ["black"])]
    nested = [g for g in sets["attend-and-excite"] if " with " in g.prompt]
    assert nested and all(g.entities[1].parent == 0 for g in nested)
    assert all(e.parent is None for g in sets["cc-500"] for e in g.entities)
    # the strict template keeps only "a ATTR NOUN and a ATTR NOUN" lines with known attribute words
    for gold in sets["t2i-compbench/shape_val"]:
        assert re.match(r"^(an? )?\w+ [a-z ]+ and (an? )?\w+ [a-z ]+\.?$", gold.prompt, re.IGNORECASE)


def _tree(prompt, entities):
    built = []
    for noun, attributes, parent in entities:
        start = prompt.index(noun)
        built.append(
            Entity(
                noun=noun,
                text=noun,
                span=(start, start + len(noun)),
                attributes=tuple(
                    Attribute(text=a, span=(prompt.index(a), prompt.index(a) + len(a))) for a in attributes
                ),
                parent=parent,
            )
        )
    return PromptTree(prompt=prompt, entities=tuple(built))


def test_score_counts_planted_errors(bench):
    prompt = "a spherical crystal wand and a red car"
    gold = bench.GoldPrompt(
        prompt,
        [
            bench.GoldEntity(noun=(12, 24), attributes=[(2, 11)]),  # "crystal wand" <- "spherical"
            bench.GoldEntity(noun=(35, 38), attributes=[(31, 34)]),  # "car" <- "red"
        ],
    )
    perfect = _tree(prompt, [("wand", ["spherical", "crystal"], None), ("car", ["red"], None)])
    counts = bench.score(gold, perfect)
    # "crystal" lies inside the gold noun slot: not scored either way
    assert (counts.entity_tp, counts.entity_fp, counts.entity_fn) == (2, 0, 0)
    assert (counts.binding_tp, counts.binding_fp, counts.binding_fn) == (2, 0, 0)
    assert counts.perfect == 1
    swapped = _tree(prompt, [("wand", [], None), ("car", ["red", "spherical"], 0)])
    counts = bench.score(gold, swapped)
    assert (counts.binding_tp, counts.binding_fp, counts.binding_fn) == (1, 1, 1)
    assert (counts.nesting_right, counts.nesting_total) == (1, 2)
    missing = _tree(prompt, [("crystal", [], None), ("car", ["red"], None)])
    counts = bench.score(gold, missing)
    assert (counts.entity_tp, counts.entity_fp, counts.entity_fn) == (1, 1, 1)
    assert bench.Counts.f1(1, 1, 1) == pytest.approx(0.5)


def test_dependency_back_end_meets_the_targets_on_the_vendored_subsets(bench):
    results, _ = bench.evaluate(bench.load_gold(bench.VENDORED), "dependency")
    overall = results["overall"]
    assert overall.prompts == 234
    assert overall.entity_f1 >= 0.98
    assert overall.binding_f1 >= 0.97
    assert overall.nesting >= 0.97


def test_spatial_gold_is_siblings_and_the_dependency_back_end_agrees(bench, tmp_path):
    (tmp_path / "t2i-compbench").mkdir()
    (tmp_path / "t2i-compbench" / "spatial_val.txt").write_text(
        "a bird on the left of a dog\na wine glass next to a cup\nthe sky is blue and so on\n", encoding="utf-8"
    )
    (tmp_path / "geneval").mkdir()
    row = {
        "tag": "position",
        "include": [{"class": "teddy bear", "count": 1}, {"class": "dog", "count": 1, "position": ["right of", 0]}],
        "prompt": "a photo of a dog right of a teddy bear",
    }
    (tmp_path / "geneval" / "evaluation_metadata.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    (tmp_path / "hrs-bench").mkdir()
    (tmp_path / "hrs-bench" / "synthetic_spatial_relation_prompts.csv").write_text(
        "meta_prompt,obj1,obj2,obj3,obj4,rel1,rel2,synthetic_prompt\n"
        "a banana above a dog and on a horse.,banana,dog,horse,,above,on,\n",
        encoding="utf-8",
    )
    sets = bench.load_gold(tmp_path)
    assert set(sets) == {"t2i-compbench/spatial_val", "geneval/position", "hrs-bench/spatial"}

    def nouns(gold):
        return [gold.prompt[slice(*e.noun)] for e in gold.entities]

    # the free-text line matches no template; GenEval lists the teddy bear first, the prompt names the dog first
    assert [nouns(g) for g in sets["t2i-compbench/spatial_val"]] == [["bird", "dog"], ["wine glass", "cup"]]
    assert nouns(sets["geneval/position"][0]) == ["dog", "teddy bear"]
    assert nouns(sets["hrs-bench/spatial"][0]) == ["banana", "dog", "horse"]
    assert all(e.parent is None for prompts in sets.values() for g in prompts for e in g.entities)
    results, mistakes = bench.evaluate(sets, "dependency")
    assert not mistakes
    assert (results["overall"].nesting_right, results["overall"].nesting_total) == (9, 9)


def test_every_prose_gold_file_reads_and_names_only_words_of_its_prompt(bench):
    files = sorted(bench.PROSE.glob("*.txt"))
    assert len(files) >= 10
    for path in files:
        sets = bench.load_prose(path.stem)
        prompts = [g for name, group in sets.items() for g in group]
        assert prompts, path.name
        assert len({g.prompt for g in prompts}) == len(prompts), f"{path.name}: a prompt is repeated"
        for gold in prompts:
            assert gold.entities, f"{path.name}: {gold.prompt!r} has no gold entity"
            for index, entity in enumerate(gold.entities):
                assert entity.parent is None or (0 <= entity.parent < len(gold.entities) and entity.parent != index)
                assert gold.prompt[slice(*entity.noun)].strip()
                assert all(gold.prompt[slice(*a)].strip() for a in entity.attributes)


def test_bootstrap_intervals_on_planted_counts(bench):
    same = [bench.Counts(entity_tp=2, entity_fn=0, binding_tp=1, binding_fp=1, nesting_right=1, nesting_total=2)] * 30
    intervals = bench.bootstrap(same, resamples=200)
    # identical prompts: every resample gives the point figures (entity 1.0, binding 2/(2+1), nesting 0.5)
    assert intervals["entity F1"] == (1.0, 1.0)
    assert intervals["binding F1"] == pytest.approx((2 / 3, 2 / 3))
    assert intervals["nesting"] == (0.5, 0.5)
    right = bench.Counts(entity_tp=1, binding_tp=1, nesting_right=1, nesting_total=1)
    wrong = bench.Counts(entity_fp=1, entity_fn=1, binding_fn=1, nesting_total=0)
    mixed = [right] * 50 + [wrong] * 50
    low, high = bench.bootstrap(mixed, resamples=500)["entity F1"]
    assert 0.3 < low < 0.5 < high < 0.7  # point estimate 2*50/(2*50+100) = 0.5
    assert bench.bootstrap(mixed, resamples=500) == bench.bootstrap(mixed, resamples=500)  # seeded
    with pytest.raises(ValueError):
        bench.bootstrap([])
