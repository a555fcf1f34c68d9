"""Scores, verdicts, thresholds, the diagnosis.json schema and `attnmod analyze` on hand-made attention records.

The planted record of "a red car and a white sheep" (8 x 8 maps, tokens: 2 red, 3 car, 6 white, 7 sheep):
early phase: car and sheep both spread evenly over the whole image (flat maps: no localised attention, so their
overlap is undefined); middle and late: car on the left half, sheep on the right half (floor-removed overlap 0).
Every phase has the same count, so the whole-run maps are car = (uniform + 2 x left) / 3 and sheep =
(uniform + 2 x right) / 3: a uniform floor of mass 1/3 under disjoint halves. The original overlap sum_p min gave
exactly that floor, 1/3; with each map's floor (its median, 3/192 per pixel) removed the halves are disjoint: 0.
Regions: the spread rule gives the car the left half and the sheep the right half (each 1/2 of the image).
"red" puts 70% on the left and 30% on the right: lift 0.7 / 0.5 = 1.4 on the car; "white" lies wholly on the car's
half: lift 0 on the sheep, 2.0 on the car (misbound).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from attnmod.analysis import schema
from attnmod.analysis.scoring import score_record, summary_metrics
from attnmod.analysis.thresholds import Thresholds
from attnmod.analysis.verdicts import compare_scores, verdicts
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.record import AttentionRecord
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree
from places import DOCS

SIZE = 8
COUNT = 2  # contributions per phase: the sums hold COUNT x the mean map


def half(side: str) -> torch.Tensor:
    planted = torch.zeros(SIZE, SIZE)
    if side == "left":
        planted[:, : SIZE // 2] = 1.0
    else:
        planted[:, SIZE // 2 :] = 1.0
    return planted / planted.sum()


UNIFORM = torch.full((SIZE, SIZE), 1.0 / SIZE**2)


def car_and_sheep_tree(**changes) -> PromptTree:
    car = Entity("car", "car", (6, 9), (Attribute("red", (2, 5), (2,)),), None, (3,))
    sheep = Entity("sheep", "sheep", (22, 27), (Attribute("white", (16, 21), (6,)),), None, (7,))
    return PromptTree("a red car and a white sheep", (car, sheep), **changes)


def planted_record(tree: PromptTree | None = None, self_attention: bool = False) -> AttentionRecord:
    record = AttentionRecord(tree=tree or car_and_sheep_tree())
    for phase in ("early", "middle", "late"):
        maps = torch.zeros(77, SIZE, SIZE)
        maps[0] = 5.0 * UNIFORM  # the start token takes most raw mass; normalisation makes that irrelevant
        maps[3] = UNIFORM if phase == "early" else half("left")
        maps[7] = UNIFORM if phase == "early" else half("right")
        maps[2] = 0.7 * half("left") + 0.3 * half("right")
        maps[6] = half("left")
        record.add("cross", f"{SIZE}x{SIZE}", phase, maps * COUNT, count=COUNT)
        if self_attention:
            left = half("left").flatten() > 0
            rows = torch.where(left[:, None], 0.75 * half("left").flatten() + 0.25 * half("right").flatten(), 0)
            rows = rows + torch.where(~left[:, None], half("right").flatten(), 0)
            record.add("self", f"{SIZE}x{SIZE}", phase, rows * COUNT, count=COUNT)
    record.token_texts = ["<|startoftext|>", "a</w>", "red</w>", "car</w>", "and</w>", "a</w>", "white</w>"]
    record.metadata = {"variant": "none", "prompt": "a red car and a white sheep"}
    return record


# ---- scores ----


def test_planted_record_reproduces_the_planted_figures():
    scores = score_record(planted_record())
    assert scores.maps == "model"
    assert scores.phases["early"].leakage is None  # flat maps localise nothing
    assert all(row.flat for row in scores.phases["early"].entities)
    assert scores.phases["middle"].leakage == pytest.approx(0.0)
    assert scores.overall.leakage == pytest.approx(0.0, abs=1e-6)  # the floor of mass 1/3 no longer counts
    entities = scores.overall.entities
    assert [row.full_region for row in entities] == pytest.approx([0.5, 0.5])
    assert not any(row.neglected for row in entities)
    bindings = {row.text: row for row in scores.overall.bindings}
    assert bindings["red"].value == pytest.approx(1.4)
    assert [row.value for row in bindings["red"].shares] == pytest.approx([0.7, 0.3])
    assert not bindings["red"].misbound
    assert bindings["white"].value == pytest.approx(0.0)
    assert [row.value for row in bindings["white"].lifts] == pytest.approx([2.0, 0.0])
    assert bindings["white"].misbound and bindings["white"].dominant == 0
    assert scores.overall.misbound == 1
    summary = summary_metrics(scores)
    assert summary["leakage"] == pytest.approx(0.0, abs=1e-6)
    assert summary["binding"] == pytest.approx(0.7)  # (1.4 + 0) / 2
    assert summary["misbound"] == 1.0 and summary["entities"] == 2.0 and summary["attributes"] == 2.0
    assert summary["neglected"] == 0.0
    assert math.isnan(summary["self_leakage"])  # not captured
    assert math.isnan(summary["leakage_early"])
    json.dumps(scores.to_json(), allow_nan=False)  # strict JSON: undefined values are null


def test_verdicts_name_entities_attributes_phases_and_evidence():
    found = verdicts(score_record(planted_record()))
    assert any(  # the line may go on with what the validation measured (analysis/validation.json)
        line.startswith(
            "attribute 'white' (sheep) is misbound: it lies more densely on 'car' than on 'sheep' (lift 2.00 vs "
            "0.00; 1 = chance)"
        )
        for line in found
    )
    assert not any("overlap" in line for line in found)  # flat early maps are not an overlap
    assert not any("'red'" in line and "misbound" in line for line in found)


def test_thresholds_change_the_verdicts_not_the_scores():
    record = planted_record()
    strict = Thresholds(binding=1.5)
    scores = score_record(record, thresholds=strict)
    assert scores.overall.bindings[0].value == pytest.approx(1.4)
    (weak,) = [line for line in verdicts(scores, strict) if "weakly bound" in line]
    assert weak.startswith(  # then what the validation measured (analysis/validation.json)
        "attribute 'red' (car) is weakly bound: it lies on 'car' only 1.4x as densely as on an average pixel "
        "(lift 1.40 < 1.50)"
    )
    assert not [line for line in verdicts(score_record(record)) if "weakly bound" in line]


def test_self_attention_leakage_from_a_record():
    scores = score_record(planted_record(self_attention=True))
    rows = {(row.source, row.to): row.value for row in scores.phases["middle"].self_leakage_pairs}
    # 25% of the car's self-attention falls on the sheep's half, which covers 50% of the image: lift 0.5
    assert rows[(0, 1)] == pytest.approx(0.5)
    assert rows[(1, 0)] == pytest.approx(0.0)
    assert summary_metrics(scores)["self_leakage"] == pytest.approx(0.5)
    found = verdicts(scores, Thresholds(self_leakage=0.4))
    assert any(
        line.startswith(
            "self-attention of 'car' leaks into 'sheep': up to 0.5x as densely on the region of 'sheep' as on an "
            "average pixel, in the middle and late phases"
        )
        for line in found
    )


def test_permuting_the_entities_permutes_the_scores():
    tree = car_and_sheep_tree()
    swapped = PromptTree(tree.prompt, (tree.entities[1], tree.entities[0]))
    first, second = score_record(planted_record(tree)), score_record(planted_record(swapped))
    assert first.overall.leakage == pytest.approx(second.overall.leakage)
    by_text = {row.text: row.value for row in first.overall.bindings}
    assert by_text == pytest.approx({row.text: row.value for row in second.overall.bindings})


def test_single_entity_without_attributes():
    tree = PromptTree("a car", (Entity("car", "car", (2, 5), (), None, (2,)),))
    record = AttentionRecord(tree=tree)
    maps = torch.zeros(77, SIZE, SIZE)
    maps[2] = half("left")
    record.add("cross", f"{SIZE}x{SIZE}", "early", maps)
    scores = score_record(record)
    summary = summary_metrics(scores)
    assert scores.overall.leakage is None  # nothing to leak into: undefined, not a perfect 0
    assert math.isnan(summary["leakage"]) and summary["entities"] == 1.0
    assert math.isnan(summary["binding"]) and summary["misbound"] == 0.0
    assert list(scores.phases) == ["early"]  # phases without captures are left out
    assert verdicts(scores) == ["no leakage or binding problem at these thresholds (leakage n/a, no attributes)"]


def test_a_prompt_without_entities_says_so():
    scores = score_record(planted_record(PromptTree("abstract art")))
    assert scores.overall.leakage is None and scores.overall.bindings == ()
    assert verdicts(scores) == [
        "no entities to score: the prompt tree has no entity with token positions in the record"
    ]


def test_all_zero_entity_map_gives_defined_values_and_a_verdict():
    record = planted_record()
    for key in list(record.sums):
        record.sums[key][7] = 0.0  # the sheep receives no attention at all
    scores = score_record(record)
    overall = scores.overall
    assert overall.leakage is None  # an all-zero map localises nothing: no pair can be scored
    assert overall.entities[1].empty and overall.entities[1].own_region == 0.0
    assert overall.entities[1].presence == 0.0 and overall.entities[1].neglected
    json.dumps(scores.to_json(), allow_nan=False)
    assert "entity 'sheep' receives no cross-attention (all-zero map)" in verdicts(scores)


def test_truncated_entity_is_skipped_with_a_note():
    tree = car_and_sheep_tree()
    lost = Entity("dog", "dog", (40, 43), (Attribute("brown", (34, 39), (), True),), None, (), True)
    far = Entity("cat", "cat", (50, 53), (), None, (90,))  # a position the record does not have
    tree = PromptTree(tree.prompt, (*tree.entities, lost, far), truncated=True)
    scores = score_record(planted_record(tree))
    assert [row.entity for row in scores.scored_entities] == [0, 1]
    assert {row["text"] for row in scores.skipped} == {"dog", "cat"}
    assert "entity 'dog' was skipped: it lies past the 77-token limit" in verdicts(scores)
    assert scores.overall.leakage == pytest.approx(0.0, abs=1e-6)


def test_nested_entities_are_reported_apart_from_leakage():
    cat = Entity("cat", "cat", (2, 5), (), None, (2,))
    hat = Entity("hat", "hat", (15, 18), (), 0, (5,))
    tree = PromptTree("a cat wearing a hat", (cat, hat))
    record = AttentionRecord(tree=tree)
    maps = torch.zeros(77, SIZE, SIZE)
    maps[2] = half("left")
    corner = torch.zeros(SIZE, SIZE)
    corner[:2, :2] = 1 / 4
    maps[5] = corner
    record.add("cross", f"{SIZE}x{SIZE}", "early", maps)
    overall = score_record(record).overall
    assert overall.overlaps == () and overall.leakage is None  # a nested pair is not leakage
    (nested,) = overall.nested
    assert nested.parent == 0 and nested.child == 1
    assert nested.containment == pytest.approx(1.0)
    entities = {row.entity: row for row in overall.entities}
    assert entities[1].full_region == pytest.approx(4 / 64)
    assert entities[0].full_region == pytest.approx(32 / 64)  # the cat's full region includes the hat's


def test_a_record_without_a_tree_cannot_be_scored():
    record = planted_record()
    record.tree = None
    with pytest.raises(AttnmodError, match="no prompt tree"):
        score_record(record)


# ---- thresholds ----


def test_thresholds_load_from_json_and_yaml_and_reject_bad_values(tmp_path: Path):
    (tmp_path / "t.json").write_text(json.dumps({"overlap": 0.25, "binding": 0.5}))
    (tmp_path / "t.yaml").write_text("thresholds:\n  overlap: 0.3\n  resolution: 8x8\n")
    assert Thresholds.load(tmp_path / "t.json") == Thresholds(overlap=0.25, binding=0.5)
    assert Thresholds.resolve(tmp_path / "t.yaml", margin=0.1) == Thresholds(overlap=0.3, resolution="8x8", margin=0.1)
    with pytest.raises(AttnmodError, match="unknown threshold"):
        Thresholds.from_json({"overlapp": 0.3})
    with pytest.raises(AttnmodError, match=r"in \[0, 1\]"):
        Thresholds(overlap=1.5)
    with pytest.raises(AttnmodError, match="resolution"):
        Thresholds(resolution="big")


def test_a_resolution_that_was_not_captured_is_a_clear_error():
    with pytest.raises(AttnmodError, match="16x16 was not captured"):
        score_record(planted_record(), thresholds=Thresholds(resolution="16x16"))


# ---- diagnosis.json ----


def hand_made_diagnosis() -> dict:
    scores = score_record(planted_record())
    entry = {
        "variant": "none",
        "config": {"variant": "none"},
        "image": "baseline.png",
        "record": "baseline/",
        "seconds": 0.5,
        "warnings": [],
        "scores": scores.to_json(),
        "summary": {k: (None if math.isnan(v) else v) for k, v in summary_metrics(scores).items()},
        "verdicts": verdicts(scores),
    }
    return {
        "format": schema.DIAGNOSIS_FORMAT,
        "prompt": "a red car and a white sheep",
        "settings": {
            "model": "tiny",
            "family": "sdxl",
            "seed": 0,
            "steps": 4,
            "guidance": 5.0,
            "height": 128,
            "width": 128,
            "device": "cpu",
            "dtype": "float32",
        },
        "tree": car_and_sheep_tree().to_json(),
        "thresholds": Thresholds().to_json(),
        "variants": {"baseline": entry, "modulated": dict(entry, variant="full", image="modulated.png")},
        "comparison": compare_scores(scores, scores, "full"),
        "verdicts": entry["verdicts"],
        "attributions": None,
        "images": {"baseline": "baseline.png", "modulated": "modulated.png"},
        "versions": {"attnmod": "0.1.0"},
        "seconds": 1.0,
    }


def test_a_complete_diagnosis_follows_the_schema_and_round_trips(tmp_path: Path):
    data = hand_made_diagnosis()
    assert schema.schema_errors(data) == []
    schema.write_diagnosis(data, tmp_path)
    assert schema.load_diagnosis(tmp_path) == data


def test_schema_violations_are_reported_with_their_path():
    data = hand_made_diagnosis()
    del data["variants"]["modulated"]["scores"]["overall"]["leakage"]
    data["settings"]["seed"] = "zero"
    errors = schema.schema_errors(data)
    assert "$.settings.seed: 'zero' is not of type 'integer'" in errors
    assert "$.variants.modulated.scores.overall: 'leakage' is a required property" in errors
    with pytest.raises(AttnmodError, match="does not follow"):
        schema.validate_diagnosis(data)


def test_the_schema_refuses_nan_a_wrong_format_and_a_mistyped_extra_variant():
    data = hand_made_diagnosis()
    data["variants"]["modulated"]["summary"]["binding"] = math.nan
    data["format"] = "attnmod.diagnosis/0"
    data["variants"]["other"] = {"variant": "masking"}
    errors = schema.schema_errors(data)
    assert "$.format: 'attnmod.diagnosis/2' was expected" in errors
    assert "$.variants.other: 'config' is a required property" in errors
    assert "$.variants.modulated.summary.binding: nan is not allowed (strict JSON has no NaN or infinity)" in errors


def test_the_models_old_name_still_imports_with_a_deprecation_warning():
    import pytest

    with pytest.warns(DeprecationWarning, match="DiagnosisFile"):
        old = schema.Diagnosis
    assert old is schema.DiagnosisFile


def test_a_typed_diagnosis_reads_the_same_numbers():
    data = hand_made_diagnosis()
    typed = schema.DiagnosisFile.model_validate(data)
    overall = data["variants"]["baseline"]["scores"]["overall"]
    assert typed.variants.baseline.scores.overall.leakage == overall["leakage"]
    assert [row.value for row in typed.variants.modulated.scores.overall.bindings] == [
        row["value"] for row in overall["bindings"]
    ]
    assert typed.settings.steps == 4 and typed.images.modulated == "modulated.png"


def test_docs_print_the_same_schema_as_the_code():
    text = (DOCS / "diagnosis.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- schema -->\s*```json\n(.*?)```", text, re.S)
    assert block, "docs/diagnosis.md must carry the schema in a ```json block after <!-- schema -->"
    assert json.loads(block.group(1)) == schema.DIAGNOSIS_SCHEMA


def test_comparison_names_what_changed():
    baseline = score_record(planted_record())
    fixed = planted_record()
    for key in fixed.sums:
        fixed.sums[key][6] = half("right") * COUNT  # "white" now on the sheep
    comparison = compare_scores(baseline, score_record(fixed), "full")
    rows = {row["name"]: row for row in comparison["metrics"]}
    assert rows["misbound"]["change"] == -1.0 and rows["misbound"]["improved"] is True
    assert rows["binding"]["modulated"] == pytest.approx(1.7)  # red 1.4, white now 2.0 on the sheep
    assert any(
        line.startswith("attribute 'white' (sheep) is no longer misbound with full") for line in comparison["verdicts"]
    )


# ---- attnmod analyze ----


def test_analyze_reproduces_the_planted_figures_from_saved_files(tmp_path: Path, run_cli):
    planted_record().save(tmp_path / "item")
    result = run_cli("analyze", str(tmp_path / "item" / "attention.safetensors"), "--json")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)["items"]
    assert item["summary"]["leakage"] == pytest.approx(0.0, abs=1e-6)
    assert item["summary"]["binding"] == pytest.approx(0.7)
    assert item["summary"]["misbound"] == 1
    assert item["variant"] == "none"
    text = run_cli("analyze", str(tmp_path), "--binding", "1.5")
    assert text.exit_code == 0
    assert "attribute 'white' (sheep) is misbound" in text.stdout
    assert "attribute 'red' (car) is weakly bound" in text.stdout


def test_analyze_uses_parse_json_when_the_record_has_no_tree(tmp_path: Path, run_cli):
    record = planted_record()
    record.tree = None
    record.save(tmp_path)
    missing = run_cli("analyze", str(tmp_path))
    assert missing.exit_code == 1 and "no prompt tree" in missing.stderr
    (tmp_path / "parse.json").write_text(json.dumps(car_and_sheep_tree().to_json()))
    assert run_cli("analyze", str(tmp_path), "--json").exit_code == 0


def test_analyze_rejects_corrupt_truncated_and_missing_files(tmp_path: Path, run_cli):
    planted_record().save(tmp_path)
    tensors = tmp_path / "attention.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:100])
    truncated = run_cli("analyze", str(tmp_path))
    assert truncated.exit_code == 1
    assert "corrupt or truncated" in truncated.stderr and "Traceback" not in truncated.output
    (tmp_path / "attention.json").write_text("{not json")
    assert run_cli("analyze", str(tmp_path)).exit_code == 1
    nothing = run_cli("analyze", str(tmp_path / "nowhere"))
    assert nothing.exit_code == 1 and "does not exist" in nothing.stderr
    bad = run_cli("analyze", str(tmp_path), "--overlap", "2")
    assert bad.exit_code == 1 and "overlap" in bad.stderr


def test_findings_rank_by_validation_and_unvalidated_ones_fold(monkeypatch):
    from attnmod.analysis import registry
    from attnmod.analysis.verdicts import ranked_findings

    planted = {
        "works": {"reading": "predicts", "failure": "merged", "auroc": 0.81, "ci": [0.75, 0.86]},
        "faint": {"reading": "weak", "failure": "missing", "auroc": 0.56, "ci": [0.52, 0.6]},
        "chance": {"reading": "nothing", "failure": "wrong_colour", "auroc": 0.5, "ci": [0.45, 0.55]},
        "backwards": {"reading": "opposite", "failure": "merged", "auroc": 0.34, "ci": [0.28, 0.4]},
    }
    monkeypatch.setattr(registry, "VALIDATION", planted)
    lines = [
        "a" + registry.validity_note(planted["backwards"]),
        "b" + registry.validity_note(planted["chance"]),
        "c (no measurement)",
        "d" + registry.validity_note(planted["works"]),
        "e" + registry.validity_note(planted["faint"]),
        "f" + registry.validity_note(planted["works"]),
    ]
    ranked = ranked_findings(lines)
    assert [row["text"][0] for row in ranked] == ["d", "f", "e", "c", "b", "a"]
    assert [row["reading"] for row in ranked] == ["predicts", "predicts", "weak", "unmeasured", "nothing", "opposite"]
    assert [row["folded"] for row in ranked] == [False, False, False, False, True, True]


def test_scores_plot_draws_binding_lifts_on_their_own_axis_with_the_chance_line():
    import attnmod

    record = planted_record()
    for key in record.sums:
        if key.startswith("cross/") and not key.endswith("/early"):
            record.sums[key][6] = half("right") * COUNT  # 'white' on the sheep: lift 2; 'red' on the car: 1.4
    scores = attnmod.score(record)
    assert scores.phases["late"].binding == pytest.approx(1.7)
    figure = scores.plot()
    leakage_axis, binding_axis = figure.axes[:2]
    assert leakage_axis.get_ylim() == (0.0, 1.0)
    low, high = binding_axis.get_ylim()
    assert low == 0.0 and high > 1.7, "a lift above 1 is drawn, not cut at 1"
    chance = [line for line in binding_axis.get_lines() if list(line.get_ydata()) == [1.0, 1.0]]
    assert len(chance) == 1 and "chance" in chance[0].get_label()
