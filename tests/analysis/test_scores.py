"""The typed scores (analysis/scores.py): what score_record returns, the JSON they write (the same bytes the
scoring wrote as plain dicts), reading a file back, and the API's names on top of them (docs/api.md)."""

from __future__ import annotations

import json
import math

import attnmod
import pytest
from attnmod.analysis import schema
from attnmod.analysis.scores import Binding, Overlap, PhaseScores, RecordScores, SelfLeak, summary_metrics
from attnmod.analysis.scoring import score_record
from attnmod.analysis.thresholds import Thresholds
from attnmod.analysis.verdicts import verdicts
from attnmod.api import scores as api_scores
from places import DATA
from planted.records import cat_dog_record, man_hat_record, planted_records
from planted.scores import planted_scores

#: The scores JSON of tests/planted/records.py's records as the scoring wrote it before the scores were typed models
#: (plain dicts, json.dumps with indent 1 as in diagnosis.json), kept to hold the typed models to the same bytes.
OLD_OUTPUT = DATA / "scores" / "planted_records.json"


def dumped(value) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def scored(name: str) -> RecordScores:
    record, settings, source = planted_records()[name]
    return score_record(record, None, Thresholds(**settings), source=source)


def test_score_record_returns_typed_scores_with_the_hand_computed_overlap():
    scores = scored("cat_dog")
    assert isinstance(scores, RecordScores) and isinstance(scores.overall, PhaseScores)
    late = scores.phases["late"]
    # Late, the dog puts 1/40 of its map on each of the 8 pixels of rows 2-3 in the cat's quarter, where the cat's
    # column ramp puts (column + 1)/40 >= 1/40; both maps are zero on more than half the pixels (floor 0), so
    # O' = 8 x 1/40 = 0.2. Early the dog stays in its own quarter: 0.
    (overlap,) = late.overlaps
    assert isinstance(overlap, Overlap) and overlap.entities == (0, 1) and overlap.value == pytest.approx(0.2)
    assert late.leakage == pytest.approx(0.2) and late.leakage_pair == (0, 1)
    assert scores.phases["early"].leakage == 0.0
    blue = next(row for row in scores.overall.bindings if row.text == "blue")
    assert isinstance(blue, Binding) and blue.misbound and blue.dominant == 0 and blue.entity == 1
    assert blue.lift_on(0) > blue.value == blue.lift_on(1)
    assert all(isinstance(row, SelfLeak) for row in late.self_leakage_pairs)
    assert late.self_leakage_max == max(row.value for row in late.self_leakage_pairs)
    assert scores.labels == {0: "cat", 1: "dog"} and [row.entity for row in scores.scored_entities] == [0, 1]


def test_the_typed_scores_write_the_same_bytes_as_the_old_dicts():
    old = OLD_OUTPUT.read_text(encoding="utf-8")
    new = dumped({name: scored(name).to_json() for name in planted_records()})
    assert new == old


def test_reading_the_json_back_gives_equal_scores_and_the_same_json():
    for name in planted_records():
        scores = scored(name)
        again = RecordScores.from_json(json.loads(dumped(scores.to_json())))
        assert again == scores and dumped(again.to_json()) == dumped(scores.to_json())


def test_a_newer_writers_fields_are_kept_and_a_missing_field_is_refused():
    data = scored("man_hat").to_json()
    data["overall"]["new_score"] = 0.5
    data["future"] = {"a": 1}
    read = RecordScores.from_json(data)
    assert read.to_json()["overall"]["new_score"] == 0.5 and read.to_json()["future"] == {"a": 1}
    del data["overall"]["misbound"]
    with pytest.raises(ValueError, match="misbound"):
        RecordScores.from_json(data)


def test_the_models_are_immutable():
    scores = scored("cat_dog")
    with pytest.raises(ValueError, match="frozen"):
        scores.overall.leakage = 0.0


def test_nested_pairs_and_skipped_parts_are_typed_and_in_the_json():
    (nested,) = scored("man_hat").overall.nested
    assert (nested.parent, nested.child) == (0, 1) and nested.containment == pytest.approx(1.0)
    negated = scored("negated")
    assert negated.skipped[0]["reason"] == "the prompt negates it (absent)"
    assert negated.notes == ["entity 'dog' was skipped: the prompt negates it (absent)"]
    assert scored("cat_dog_applied").maps == "applied"


def test_old_scores_without_the_neglect_flag_are_judged_by_the_presence_threshold():
    # scores written before the scoring flagged neglected entities: the engine applies the threshold itself
    rows = [{"entity": 0, "label": "cat"}]
    low = {"entity": 0, "presence": 0.05, "own_region": 0.5, "full_region": 0.5}
    old = planted_scores({"entities": rows, "overall": {"entities": [low]}})
    flagged = planted_scores({"entities": rows, "overall": {"entities": [{**low, "neglected": False}]}})
    assert any("may be neglected" in line for line in verdicts(old, Thresholds(presence=0.2)))
    assert not any("may be neglected" in line for line in verdicts(flagged, Thresholds(presence=0.2)))


def test_the_engine_reads_the_model_and_its_json_alike():
    scores = scored("cat_dog_strict")
    thresholds = Thresholds(overlap=0.05, binding=1.6, margin=0.5)
    assert verdicts(scores, thresholds) == verdicts(scores.to_json(), thresholds)
    first, second = summary_metrics(scores), summary_metrics(scores.to_json())
    assert first.keys() == second.keys()
    assert all(first[k] == second[k] or (math.isnan(first[k]) and math.isnan(second[k])) for k in first)
    assert scores.summary()["misbound"] == 1.0


# ---- the API's names on the same models (docs/api.md) ----


def test_api_scores_keep_their_documented_names():
    scores = api_scores.scores_from_json(scored("cat_dog"))
    assert isinstance(scores, attnmod.Scores) and isinstance(scores, RecordScores)
    late = scores.phases["late"]
    assert isinstance(late, api_scores.PhaseScores) and isinstance(late, PhaseScores)
    # PhaseScores.self_leakage is the largest lift (a number), as docs/api.md says; the rows are self_leakage_pairs
    assert late.self_leakage == late.self_leakage_max == pytest.approx(0.8)
    assert isinstance(late.self_leakage_pairs, tuple) and len(late.self_leakage_pairs) == 2
    assert late.binding == late.binding_mean and scores.binding == scores.overall.binding_mean
    assert scores.leakage == scores.overall.leakage and scores.misbound == 1
    assert scores.entities == {0: "cat", 1: "dog"}  # labels by tree index
    assert late.leakage_pair == (0, 1) and late.overlaps[0].entities == (0, 1)
    assert [(b.entity, b.attribute, b.text, b.misbound, b.dominant) for b in scores.overall.bindings] == [
        (0, 0, "red", False, 0),
        (1, 0, "blue", True, 0),
    ]
    assert api_scores.Binding is Binding and api_scores.Overlap is Overlap
    assert scores.verdicts == tuple(verdicts(scored("cat_dog")))
    assert scores.data == scores.to_json() == scored("cat_dog").to_json()
    assert scores.summary() == pytest.approx(summary_metrics(scored("cat_dog")), nan_ok=True)


def test_api_scores_without_self_attention_say_none():
    scores = api_scores.scores_from_json(score_record(man_hat_record()))
    assert scores.overall.self_leakage is None and scores.overall.self_leakage_pairs is None


def test_attnmod_score_returns_the_api_scores_of_the_same_numbers():
    record = cat_dog_record()
    scores = attnmod.score(record)
    assert type(scores) is attnmod.Scores
    assert scores.to_json() == score_record(record).to_json()
    assert "<table>" in scores._repr_html_() and scores.plot().axes


def test_the_schemas_old_name_of_the_record_model_warns():
    with pytest.warns(DeprecationWarning, match="RecordScores"):
        old = schema.Scores
    assert old is RecordScores
