"""The findings engine on planted scores: which rules fire, in which phases, and how verdicts and report read them."""

from __future__ import annotations

from attnmod.analysis.findings import find_problems
from attnmod.analysis.thresholds import Thresholds
from attnmod.analysis.verdicts import verdicts
from attnmod.reports import findings as report

THRESHOLDS = Thresholds(overlap=0.5, binding=1.2, self_leakage=1.0, margin=0.0, presence=0.2)


def binding(value: float, misbound: bool = False, margin: float | None = 0.3) -> dict:
    """'red' on the cat (entity 0); its lift on the dog (entity 1) is 3 - value."""
    return {
        "entity": 0,
        "attribute": 0,
        "text": "red",
        "value": value,
        "lifts": [{"entity": 0, "value": value}, {"entity": 1, "value": 3 - value}],
        "shares": [{"entity": 0, "value": value / 3}, {"entity": 1, "value": 1 - value / 3}],
        "misbound": misbound,
        "dominant": 1 if misbound else 0,
        "margin": margin,
        "nearest": 1,
        "divergence_own": 0.5,
        "divergence_nearest": 0.4,
    }


def entity(index: int, presence: float, **flags) -> dict:
    row = {"entity": index, "presence": presence, "neglected": presence < 0.2, "empty": False, "flat": False}
    return {**row, "contrast": 1.0, "own_region": 0.5, "full_region": 0.5, **flags}


def phase(bindings, overlap, self_lift) -> dict:
    """One phase's scores as the JSON holds them (the numbers the rules do not read left undefined)."""
    return {
        "resolution": "8x8",
        "background_share": 0.0,
        "entities": [],
        "overlaps": [{"entities": [0, 1], "value": overlap}],
        "nested": [],
        "leakage": overlap,
        "leakage_pair": [0, 1],
        "self_leakage": [{"from": 0, "to": 1, "value": self_lift}],
        "self_leakage_max": self_lift,
        "bindings": bindings,
        "binding_mean": None,
        "misbound": sum(row["misbound"] for row in bindings),
    }


def planted() -> dict:
    """Misbound in the early phase only, overlapping in the early phase only, self-attention leaking overall and
    late, the dog neglected; overall the binding is fine (lift 1.5 >= 1.2)."""
    overall = phase([binding(1.5)], overlap=0.3, self_lift=1.4)
    overall.update(entities=[entity(0, 0.6), entity(1, 0.1)], binding_mean=1.5, leakage=0.3)
    return {
        "format": "attnmod.scores/2",
        "maps": "model",
        "prompt": "a red cat and a dog",
        "entities": [
            {"entity": 0, "label": "cat", "text": "cat", "tokens": [3]},
            {"entity": 1, "label": "dog", "text": "dog", "tokens": [6]},
        ],
        "attributes": [{"entity": 0, "attribute": 0, "text": "red", "tokens": [2]}],
        "skipped": [],
        "overall": overall,
        "phases": {
            "early": phase([binding(0.8, misbound=True)], overlap=0.6, self_lift=0.5),
            "late": phase([binding(1.9)], overlap=0.2, self_lift=1.8),
        },
    }


def test_each_rule_fires_once_with_the_phases_where_it_holds():
    problems = find_problems(planted(), THRESHOLDS)
    summary = [(p.kind, p.key, p.crossed, tuple(name for name, _ in p.phases)) for p in problems]
    assert summary == [
        ("misbound", ("binding", 0, 0), False, ("early",)),
        ("leakage", ("leakage", 0, 1), False, ("early",)),
        ("self_leakage", ("self_leakage", 0, 1), True, ("late",)),
        ("neglected", ("presence", 1), True, ()),
    ]
    self_leak = problems[2]
    assert self_leak.value == 1.4 and self_leak.threshold == 1.0 and abs(self_leak.excess - 0.4) < 1e-12
    assert problems[3].severity == 2 and abs(problems[3].excess - 0.1) < 1e-12


def test_thresholds_move_the_rules():
    # a stricter binding threshold makes the overall binding weak, a negative-margin rule fires at margin 0.5
    strict = Thresholds(overlap=0.5, binding=1.6, self_leakage=2.0, margin=0.5, presence=0.2)
    kinds = [(p.kind, p.crossed) for p in find_problems(planted(), strict)]
    assert kinds == [
        ("misbound", False),
        ("leakage", False),
        ("neglected", True),
        ("weak_binding", True),
        ("margin", True),
    ]


def test_verdicts_word_phase_only_problems_and_the_report_shows_only_overall_ones():
    scores = planted()
    lines = verdicts(scores, THRESHOLDS)
    assert lines[0].startswith("attribute 'red' (cat) is misbound in the early phase: up to lift 2.20 on 'dog'")
    assert lines[1].startswith("entities 'cat' and 'dog' overlap (O' = 0.60, floor removed) in the early phase")
    assert lines[2].startswith("self-attention of 'cat' leaks into 'dog': up to 1.8x as densely")
    assert lines[3].startswith("entity 'dog' may be neglected") and len(lines) == 4
    shown = report.find_problems(scores, THRESHOLDS.to_json())
    assert [(f.kind, f.key) for f in shown] == [
        ("neglected", ("presence", 1)),
        ("self_leakage", ("self_leakage", 0, 1)),
    ]


def test_entities_without_attention_are_verdicts_only():
    scores = planted()
    scores["overall"]["entities"] = [entity(0, 0.6, flat=True, contrast=0.1), entity(1, 0.5, full_region=0)]
    scores["overall"]["bindings"] = [binding(1.0, margin=None) | {"value": None}]
    kinds = [p.kind for p in find_problems(scores, THRESHOLDS) if p.kind not in ("misbound", "leakage", "self_leakage")]
    assert kinds == ["unlocalised", "no_pixels"]  # the undefined binding is the flat entity's: no line of its own
    assert report.find_problems(scores, THRESHOLDS.to_json())[0].kind == "self_leakage"
