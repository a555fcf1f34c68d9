"""Planted scores: the JSON of one record's scores (format ``attnmod.scores/2``) from the few rows a test cares
about, every other field filled with a neutral value (undefined numbers, no rows), so that the typed model
(:class:`attnmod.analysis.scores.RecordScores`) reads it.

``planted_scores({"entities": [{"entity": 0, "label": "cat"}], "overall": {"bindings": [...]}})`` fills the record
(format, maps, attributes, skipped, phases), each phase (resolution, regions, overlaps, counts: ``misbound`` counts
the misbound rows given) and each binding and entity row; the values given are kept as they are.
"""

from __future__ import annotations

import copy

from attnmod.analysis.scores import SCORES_FORMAT, RecordScores


def _binding(row: dict) -> dict:
    return {
        "lifts": [],
        "shares": [],
        "misbound": False,
        "dominant": None,
        "margin": None,
        "nearest": None,
        **row,
    }


def _entity(row: dict) -> dict:
    return {"empty": False, "own_region": None, "full_region": None, **row}


def _phase(phase: dict) -> dict:
    bindings = [_binding(row) for row in phase.get("bindings", [])]
    return {
        "resolution": "8x8",
        "background_share": 0.0,
        "overlaps": [],
        "nested": [],
        "leakage": None,
        "leakage_pair": None,
        "self_leakage": None,
        "self_leakage_max": None,
        "binding_mean": None,
        "misbound": sum(1 for row in bindings if row["misbound"]),
        **phase,
        "entities": [_entity(row) for row in phase.get("entities", [])],
        "bindings": bindings,
    }


def planted_scores(partial: dict) -> dict:
    """The complete scores JSON around ``partial`` (a copy: ``partial`` is not changed)."""
    partial = copy.deepcopy(partial)
    data = {
        "format": SCORES_FORMAT,
        "maps": "model",
        "attributes": [],
        "skipped": [],
        **partial,
        "entities": [{"text": row.get("label", ""), "tokens": [], **row} for row in partial.get("entities", [])],
        "phases": {name: _phase(phase) for name, phase in partial.get("phases", {}).items()},
        "overall": _phase(partial.get("overall", {})),
    }
    RecordScores.from_json(data)  # a planted record the model cannot read is the test's mistake: say so here
    return data
