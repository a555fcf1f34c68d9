"""Where the analysis and workflow functions the API calls live.

The analysis package is being reorganised; the API looks each function up in its newer home first, so it keeps
working across the move. Only this module knows the locations.
"""

from __future__ import annotations

import importlib


def _find(name: str, modules: tuple[str, ...]):
    for module in modules:
        try:
            found = getattr(importlib.import_module(module, __package__), name, None)
        except ImportError:
            continue
        if found is not None:
            return found
    raise ImportError(f"attnmod: {name} was not found in {', '.join(modules)}")


_SCORING = ("..analysis.scoring", "..analysis.diagnosis")


def score_record(record, tree=None, thresholds=None) -> dict:
    return _find("score_record", _SCORING)(record, tree, thresholds)


def summary_metrics(scores: dict) -> dict[str, float]:
    return _find("summary_metrics", _SCORING)(scores)


def verdicts(scores: dict, thresholds=None) -> list[str]:
    return _find("verdicts", ("..analysis.verdicts", *_SCORING))(scores, thresholds)


def thresholds_class():
    return _find("Thresholds", ("..analysis.thresholds", *_SCORING))


def run_diagnosis():
    return _find("run_diagnosis", ("..workflows", "..workflows.diagnosis", "..analysis.diagnosis"))
