"""The sets, failures, region rules, verdict grid and score views the validation uses."""

from __future__ import annotations

SETS = ("seen-2", "seen-3", "heldout-2", "heldout-3")
HALVES = ("tune", "test")
FAILURES = ("wrong_colour", "missing", "merged", "leaked")
FAILURE_NAMES = {
    "wrong_colour": "wrong colour binding",
    "missing": "missing object",
    "merged": "merged objects",
    "leaked": "colour leakage (an object partly painted in another named object's colour)",
}

#: Region rules compared (name -> keyword arguments of metrics.region_candidates). The first is the original.
REGION_RULES = {
    "peak 0.2": {"rule": "peak", "level": 0.2},
    "spread 0.3": {"rule": "spread", "level": 0.3, "min_contrast": 0.25},
    "spread 0.4": {"rule": "spread", "level": 0.4, "min_contrast": 0.25},
    "spread 0.5": {"rule": "spread", "level": 0.5, "min_contrast": 0.25},
    "spread 0.4 c0": {"rule": "spread", "level": 0.4, "min_contrast": 0.0},
    "spread 0.4 c0.5": {"rule": "spread", "level": 0.4, "min_contrast": 0.5},
    "otsu": {"rule": "otsu", "min_contrast": 0.25},
}
OLD_RULE = "peak 0.2"
FLOOR_QUANTILES = (0.0, 0.25, 0.5)
DAAM_LEVELS = (0.3, 0.4, 0.5)
#: Candidate thresholds for verdicts chosen on the tune half (presence for "neglected", floor overlap for "overlap").
VERDICT_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
OLD_OVERLAP_THRESHOLD = 0.4
#: The thresholds the diagnosis ships (analysis.thresholds.Thresholds), measured as they are.
SHIPPED_PRESENCE = 0.2
SHIPPED_OVERLAP = 0.4
#: Where in the run the candidate definitions read attention: (phase or None for all phases, resolutions). The
#: shipped scores read "all" (every phase, every resolution combined at the coarsest).
VIEWS = {
    "all": (None, "combined"),
    "early": ("early", "combined"),
    "middle": ("middle", "combined"),
    "late": ("late", "combined"),
    "all, finest": (None, "finest"),
}
