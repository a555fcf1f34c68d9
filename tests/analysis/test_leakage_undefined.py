"""Leakage is undefined (null), never 0.0, when no pair of entities can be scored: it stays null from the scores to
diagnosis.json and results.jsonl, and means leave such items out (a 0 would read as "no leakage" and pull them down).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ATTNMOD = str(Path(sys.executable).parent / "attnmod")


@pytest.mark.slow
def test_a_single_entity_diagnosis_writes_null_leakage(tiny_model, tmp_path):
    from attnmod.analysis.schema import load_diagnosis
    from attnmod.workflows import run_diagnosis

    run_diagnosis(tiny_model, "a green bench", steps=2, height=64, width=64, out_dir=tmp_path, formats=())
    data = load_diagnosis(tmp_path)  # validated against the schema
    for role in ("baseline", "modulated"):
        entry = data["variants"][role]
        assert len(entry["scores"]["entities"]) == 1
        assert entry["scores"]["overall"]["leakage"] is None
        assert entry["summary"]["leakage"] is None
        assert entry["scores"]["maps"] == "model"
    assert data["variants"]["modulated"]["applied_scores"]["maps"] == "applied"
    assert data["variants"]["baseline"]["applied_scores"] is None  # nothing was modulated
    leakage = next(row for row in data["comparison"]["metrics"] if row["name"] == "leakage")
    assert leakage["baseline"] is None and leakage["improved"] is None
    assert not any(line.startswith("leakage") for line in data["comparison"]["verdicts"])
    # the terminal table and the report say "n/a" where leakage is undefined, never 0.000
    from attnmod.reports.diagnosis_report import write_diagnosis_report
    from attnmod.reports.text import format_diagnosis

    (row,) = [line for line in format_diagnosis(data).splitlines() if line.startswith("leakage ")]
    assert row.split()[1:4] == ["n/a", "n/a", "lower"]  # baseline, modulated, the better direction
    (report,) = write_diagnosis_report(tmp_path, formats=("html",))
    page = report.read_text(encoding="utf-8")
    # the per-phase table: variant, phase, resolution, leakage, ...
    rows = [[cell.split(">")[-1] for cell in chunk.split("</td>")] for chunk in page.split("<tr>")]
    phase_rows = [cells for cells in rows if len(cells) > 4 and cells[0] in ("baseline", "modulated")]
    phase_rows = [cells for cells in phase_rows if cells[1] in ("overall", "early", "middle", "late")]
    assert {cells[1] for cells in phase_rows} >= {"overall"} and len(phase_rows) >= 2
    assert all(cells[3] == "n/a" for cells in phase_rows), phase_rows


@pytest.mark.slow
def test_results_rows_carry_null_leakage_and_the_run_mean_leaves_them_out(tmp_path):
    from attnmod.reports.run_report import read_run, results_frame, variant_summary

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a green bench\na red car and a white sheep\n", encoding="utf-8")
    out = tmp_path / "run"
    options = [
        "--model",
        "tiny",
        "--variants",
        "none",
        "--seeds",
        "0",
        "--steps",
        "2",
        "--height",
        "64",
        "--width",
        "64",
    ]
    options += ["--accelerator", "cpu", "--devices", "1", "--no-progress"]
    finished = subprocess.run(
        [ATTNMOD, "ablate", str(prompts), "--out", str(out), *options],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert finished.returncode == 0, finished.stderr
    results = out / "results.jsonl"
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    single, pair = sorted(rows, key=lambda row: row["entities"])
    assert single["prompt"] == "a green bench" and single["entities"] == 1 and single["leakage"] is None
    # the random-weight model's maps are flat (no contrast), so even its pair cannot be scored
    assert pair["entities"] == 2 and pair["leakage"] is None
    # no item has a defined leakage: the run's mean is undefined, "n/a" in the report, not 0.000
    empty = variant_summary(results_frame(read_run(out)), ["none"], None)[0]["leakage"]
    assert empty is None or empty.get("mean") is None or math.isnan(empty["mean"])
    from attnmod.reports.html import format_interval

    assert format_interval(empty) == "n/a"
    # with a planted value on the pair, the run's mean is that value alone: the undefined item is left out
    pair["leakage"] = 0.25
    results.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    summary = variant_summary(results_frame(read_run(out)), ["none"], None)[0]["leakage"]
    assert summary["n"] == 1 and summary["mean"] == pytest.approx(0.25)
