"""Predictors, a table: what each score or verdict says about a unit (an attribute, an object, an image)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .settings import (
    DAAM_LEVELS,
    FLOOR_QUANTILES,
    OLD_OVERLAP_THRESHOLD,
    OLD_RULE,
    REGION_RULES,
    SHIPPED_OVERLAP,
    SHIPPED_PRESENCE,
    VIEWS,
)

# ---- predictors: what each score or verdict says about a unit ----


@dataclasses.dataclass(frozen=True)
class Predictor:
    """``value(unit)`` is oriented so that larger means "failure more likely" (None: undefined for the unit)."""

    name: str
    failure: str
    definition: str  # "original" or "corrected"
    kind: str  # "score" or "verdict"
    family: str
    value: Callable[[dict], float | None]
    threshold: str | None = None  # for verdicts chosen on the tune half: which score and direction


def _neg(value):
    return None if value is None else -value


def _max_pairs(pairs, getter):
    values = [getter(p) for p in pairs]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def predictors() -> list[Predictor]:
    """Every predictor, in table order: per failure the original definitions, then the corrected ones over the
    settings of the grid, then the region-free view scores (:func:`view_predictors`). Columns: name, failure,
    definition, kind, family, value of a unit (larger = failure more likely), threshold chosen on the tune half."""
    rules = [rule for rule in REGION_RULES if rule != OLD_RULE]
    peak, pairs = OLD_RULE, _max_pairs
    table = [
        # wrong colour binding: unit = the colour attribute row
        ("B_a share of entity regions", "wrong_colour", "original", "score", "share", lambda u: _neg(u["share"][peak]), None),
        ("misbound (share, peak 0.2 regions)", "wrong_colour", "original", "verdict", "misbound", lambda u: float(u["misbound_share"][peak]), None),
        ("KL margin (SynGen symmetric KL)", "wrong_colour", "corrected", "score", "margin", lambda u: _neg(u["margin"]), None),
        *[row for r in rules for row in (
            (f"binding log ratio, {r}", "wrong_colour", "corrected", "score", "log ratio", lambda u, r=r: _neg(u["log_ratio"][r]), None),
            (f"own binding lift, {r}", "wrong_colour", "corrected", "score", "lift", lambda u, r=r: _neg(u["lift"][r]), None),
            (f"misbound (lift), {r}", "wrong_colour", "corrected", "verdict", "misbound", lambda u, r=r: float(u["misbound"][r]), None),
        )],
        # missing object: unit = the entity row
        ("wins no pixels (peak 0.2 regions)", "missing", "original", "verdict", "no pixels", lambda u: float(u["area"][peak] == 0), None),
        ("region area, peak 0.2", "missing", "original", "score", "area", lambda u: _neg(u["area"][peak]), None),
        ("presence peak (smoothed)", "missing", "corrected", "score", "presence", lambda u: _neg(u["presence"]), None),
        ("presence peak (unsmoothed)", "missing", "corrected", "score", "presence", lambda u: _neg(u["presence_unsmoothed"]), None),
        ("presence mass", "missing", "corrected", "score", "presence", lambda u: _neg(u["presence_mass"]), None),
        ("neglected (presence peak < t)", "missing", "corrected", "verdict", "neglected", lambda u: _neg(u["presence"]), "presence"),
        (f"neglected (presence peak < {SHIPPED_PRESENCE}, as shipped)", "missing", "corrected", "verdict", "neglected",
         lambda u: None if u["presence"] is None else float(u["presence"] < SHIPPED_PRESENCE), None),
        *[row for r in rules for row in (
            (f"region area, {r}", "missing", "corrected", "score", "area", lambda u, r=r: _neg(u["area"][r]), None),
            (f"wins no pixels, {r}", "missing", "corrected", "verdict", "no pixels", lambda u, r=r: float(u["area"][r] == 0), None),
        )],
        # merged objects: unit = the image, scores are maxima over its entity pairs
        ("leakage O (sum of minima)", "merged", "original", "score", "overlap", lambda u: pairs(u["pairs"], lambda p: p["overlap"]), None),
        (f"overlap verdict O >= {OLD_OVERLAP_THRESHOLD}", "merged", "original", "verdict", "overlap",
         lambda u: _flag(pairs(u["pairs"], lambda p: p["overlap"]), OLD_OVERLAP_THRESHOLD), None),
        ("self-attention leakage share, peak 0.2", "merged", "original", "score", "self",
         lambda u: pairs(u["pairs"], lambda p: p["self_share"].get(peak)), None),
        *[(f"floor-removed overlap, floor q{q}", "merged", "corrected", "score", "overlap",
           lambda u, q=q: pairs(u["pairs"], lambda p: p["floor"][str(q)]), None) for q in FLOOR_QUANTILES],
        ("floor-removed overlap, q0.5, contrast-gated", "merged", "corrected", "score", "overlap",
         lambda u: pairs(_gated(u), lambda p: p["floor"]["0.5"]), None),
        ("overlap verdict (gated floor q0.5 overlap >= t)", "merged", "corrected", "verdict", "overlap",
         lambda u: pairs(_gated(u), lambda p: p["floor"]["0.5"]), "overlap"),
        (f"overlap verdict (gated floor q0.5 overlap >= {SHIPPED_OVERLAP}, as shipped)", "merged", "corrected", "verdict", "overlap",
         lambda u: _flag(pairs(_gated(u), lambda p: p["floor"]["0.5"]), SHIPPED_OVERLAP), None),
        *[(f"DAAM region IoU, level {level}", "merged", "corrected", "score", "region IoU",
           lambda u, lv=level: pairs(u["pairs"], lambda p: p["daam"][str(lv)]), None) for level in DAAM_LEVELS],
        *[(f"self-attention lift, {r}", "merged", "corrected", "score", "self",
           lambda u, r=r: pairs(u["pairs"], lambda p: p["self_lift"].get(r)), None) for r in rules],
    ]  # fmt: skip
    # colour leakage: unit = the image, as for merged objects; predicted by the same leakage and overlap scores
    table += [(name, "leaked", *rest) for name, failure, *rest in table if failure == "merged"]
    return [Predictor(*row) for row in table] + view_predictors()


#: Candidate region-free scores per view (see view_scores): (field, readable name, failure, oriented "low").
VIEW_SCORES = (
    ("presence", "presence peak", "missing"),
    ("mass", "presence mass", "missing"),
    ("content_presence", "presence over content words", "missing"),
    ("relative", "relative presence", "missing"),
    ("soft_lift", "soft binding lift", "wrong_colour"),
    ("soft_margin", "soft binding margin", "wrong_colour"),
    ("competition", "colour competition", "wrong_colour"),
    ("colour_presence", "colour presence", "wrong_colour"),
)


def view_predictors() -> list[Predictor]:
    """Each candidate score on each view (low value = failure more likely), and a verdict from it whose threshold
    is chosen on the tune half (the tune quantile with the best Youden J)."""
    found = []
    for field, name, failure in VIEW_SCORES:
        score_family = "presence" if failure == "missing" else "binding (region-free)"
        verdict_family = "neglected" if failure == "missing" else "misbound"
        verdict_name = "neglected" if failure == "missing" else "misbound"
        for view in VIEWS:
            if field == "presence" and view == "all":
                continue  # the shipped presence peak, already in the table

            def value(u, f=field, v=view):
                return _neg((u.get("views") or {}).get(v, {}).get(f))

            label = f"{name} [{view}]"
            found.append(Predictor(label, failure, "corrected", "score", score_family, value))
            found.append(
                Predictor(
                    f"{verdict_name} ({name} < t) [{view}]",
                    failure,
                    "corrected",
                    "verdict",
                    verdict_family,
                    value,
                    threshold="quantile",
                )
            )
    return found


def _gated(unit: dict, min_contrast: float = 0.25) -> list[dict]:
    """The pairs whose two maps both have contrast >= ``min_contrast`` (the scoring leaves the others undefined)."""
    contrasts = [entity["contrast"] for entity in unit["entities"]]
    return [
        pair
        for pair in unit["pairs"]
        if all(contrasts[e] is not None and contrasts[e] >= min_contrast for e in pair["entities"])
    ]


def _flag(value, threshold):
    return None if value is None else float(value >= threshold)
