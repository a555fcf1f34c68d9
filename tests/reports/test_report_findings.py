"""Findings of the diagnosis report on planted scores: which problems, in what order, and what the variant did."""

from __future__ import annotations

from attnmod.reports.findings import compare_problems, find_problems, headline
from planted.scores import planted_scores

# Lift thresholds: with each entity's region covering half the image, a lift is twice the share of attention that
# falls there, so binding 1.2 is "less than 60% on its own half" and self-attention 0.6 is "30% on the other half".
THRESHOLDS = {"overlap": 0.5, "binding": 1.2, "self_leakage": 0.6}
ENTITIES = [{"entity": 0, "label": "car"}, {"entity": 1, "label": "sheep"}]


def scores(red: float, white: float, overlap: float, self_share: float = 0.1, entities=()) -> dict:
    """Two entities (car, sheep) on half the image each, 'red' on car and 'white' on sheep putting the shares
    ``red``/``white`` of their attention on their own entity's half: lift = share / (1/2); ``entities``: the
    overall entity rows."""

    def binding(entity: int, attribute: int, text: str, own: float) -> dict:
        other = 1 - entity
        return {
            "entity": entity,
            "attribute": attribute,
            "text": text,
            "value": 2 * own,
            "lifts": [{"entity": entity, "value": 2 * own}, {"entity": other, "value": 2 * (1 - own)}],
            "misbound": own < 0.5,
            "dominant": entity if own >= 0.5 else other,
        }

    return planted_scores(
        {
            "entities": ENTITIES,
            "overall": {
                "entities": list(entities),
                "bindings": [binding(0, 0, "red", red), binding(1, 0, "white", white)],
                "overlaps": [{"entities": [1, 0], "value": overlap}],
                "self_leakage": [{"from": 0, "to": 1, "value": 2 * self_share}],
            },
        }
    )


def test_problems_rank_misbound_then_leakage_then_weak():
    found = find_problems(scores(red=0.55, white=0.3, overlap=0.8, self_share=0.4), THRESHOLDS)
    assert [f.kind for f in found] == ["misbound", "leakage", "self_leakage", "weak_binding"]
    assert found[0].text.startswith(  # then what the validation measured (analysis/validation.json)
        "'white' is bound to the wrong object: it lies more densely on 'car' than on 'sheep' (lift 1.40 vs 0.60; "
        "1 = chance)"
    )
    assert found[1].key == ("leakage", 0, 1)
    # Self-attention leakage (lift 0.80 - 0.60 = 0.20 past its threshold) and weak binding (1.20 - 1.10 = 0.10
    # past) have the same severity: the one further past its threshold comes first.
    found = find_problems(scores(red=0.45, white=0.3, overlap=0.2), THRESHOLDS)
    assert [f.text.split("'")[1] for f in found] == ["white", "red"]  # 1.40 vs 0.60 beats 1.10 vs 0.90


def test_each_problem_once_with_what_the_variant_did():
    before = scores(red=0.55, white=0.30, overlap=0.80)
    after = scores(red=0.545, white=0.56, overlap=0.79, self_share=0.5)
    compared = {c.key: c for c in compare_problems(before, after, THRESHOLDS)}
    assert len(compared) == 4  # white (misbound, then weak), red, the overlap, self-attention (new)
    white = compared[("binding", 1, 0)]
    assert (white.status, white.present_before, white.present_after) == ("improved", True, True)
    assert compared[("binding", 0, 0)].status == "no clear change"  # lift -0.01 is within the noise band
    assert compared[("leakage", 0, 1)].status == "no clear change"
    assert compared[("self_leakage", 0, 1)].status == "new"
    fixed = compare_problems(before, scores(red=0.7, white=0.7, overlap=0.1), THRESHOLDS)
    assert {c.status for c in fixed} == {"fixed"}


def test_a_threshold_crossed_by_less_than_the_noise_is_no_clear_change():
    before = scores(red=0.595, white=0.7, overlap=0.1)  # lift 1.19, just under 1.2
    after = scores(red=0.6025, white=0.7, overlap=0.1)  # lift 1.205: across, by 0.015
    (red,) = compare_problems(before, after, THRESHOLDS)
    assert (red.present_before, red.present_after, red.status) == (True, False, "no clear change")
    assert compare_problems(before, after, THRESHOLDS, noise=0.01)[0].status == "fixed"


def test_headline_names_the_worst_problem_and_the_outcome():
    before = scores(red=0.7, white=0.3, overlap=0.8)
    line = headline(compare_problems(before, scores(red=0.7, white=0.305, overlap=0.2), THRESHOLDS), "full")
    assert line["problem"].startswith("'white' is bound to the wrong object")
    assert line["outcome"] == "full did not fix it: no clear change (0.60 → 0.61), within the ±0.02 noise band."
    assert line["counts"] == {"before": 2, "after": 1, "fixed": 1, "new": 0}
    fixed = headline(compare_problems(before, scores(red=0.7, white=0.8, overlap=0.2), THRESHOLDS), "full")
    assert fixed["outcome"] == "full fixed it (0.60 → 1.60)." and fixed["level"] == "ok"
    clean = headline(compare_problems(scores(0.9, 0.9, 0.1), scores(0.9, 0.9, 0.1), THRESHOLDS), "full")
    assert clean["problem"] is None and clean["outcome"].startswith("No problem found")


def test_an_entity_below_the_presence_threshold_is_a_neglected_finding():
    rows = [{"entity": 0, "presence": 0.62, "neglected": False}, {"entity": 1, "presence": 0.08, "neglected": True}]
    planted = scores(red=0.9, white=0.9, overlap=0.1, entities=rows)
    (finding,) = find_problems(planted, {**THRESHOLDS, "presence": 0.2})
    assert finding.kind == "neglected" and finding.key == ("presence", 1) and finding.severity == 2
    assert finding.text.startswith(
        "'sheep' may be missing: no patch gives it more than 8% of its attention to the prompt's words "
        "(presence 0.08 < 0.20)"
    )


def test_a_finding_whose_verdict_predicted_nothing_says_so_in_the_report(monkeypatch):
    from attnmod.analysis import registry

    measured = {"failure": "wrong_colour", "auroc": 0.497, "ci": [0.49, 0.5], "reading": "nothing"}
    monkeypatch.setitem(registry.VALIDATION, "misbound", measured)
    monkeypatch.setitem(registry.VALIDATION, "overlap", None)
    found = {f.kind: f for f in find_problems(scores(red=0.55, white=0.3, overlap=0.8), THRESHOLDS)}
    assert found["misbound"].text.endswith(
        "(lift 1.40 vs 0.60; 1 = chance) [not validated: on the shapes world this predicted the judge's wrong "
        "colours no better than chance, AUROC 0.50 (95% CI 0.49-0.50); see docs/validity.md]"
    )
    assert found["leakage"].text.endswith("1: the same place)")  # not measured: no claim
