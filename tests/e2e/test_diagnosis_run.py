"""`attnmod diagnose` end to end on the embedded tiny model, and re-analysis of what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from attnmod.analysis.schema import load_diagnosis, schema_errors

PROMPT = "a red car and a white sheep"


@pytest.mark.slow
def test_diagnose_writes_a_valid_diagnosis_that_analyze_reproduces(tmp_path: Path, run_cli):
    out = tmp_path / "diagnosis"
    result = run_cli(
        "diagnose", "--model", "tiny", PROMPT, "--steps", "2", "--height", "64", "--width", "64", "--seed", "1",
        "--attribute", "--attribution-steps", "2", "--format", "none", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "baseline (none)" in result.stdout and "modulated (full)" in result.stdout
    data = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
    assert schema_errors(data) == []
    assert load_diagnosis(out)["prompt"] == PROMPT
    for name in ("baseline.png", "modulated.png", "baseline/attention.safetensors", "modulated/attention.json"):
        assert (out / name).is_file(), name
    assert data["variants"]["baseline"]["variant"] == "none"
    assert data["variants"]["modulated"]["variant"] == "full"
    assert data["settings"]["seed"] == 1 and data["settings"]["steps"] == 2
    assert [e["text"] for e in data["tree"]["entities"]] == ["car", "sheep"]
    modulated = data["variants"]["modulated"]["scores"]
    assert modulated["overall"]["self_leakage"] is not None  # diagnose captures self-attention
    assert data["attributions"]["items"]["leakage"]["delta"] is not None
    assert [row["label"] for row in data["attributions"]["items"]["leakage_groups"]["scores"]][:2] == ["car", "sheep"]

    # the saved records give the same numbers without the model
    again = run_cli("analyze", str(out), "--json")
    assert again.exit_code == 0, again.output
    items = {Path(item["path"]).name: item for item in json.loads(again.stdout)["items"]}
    for role in ("baseline", "modulated"):
        assert items[role]["summary"] == pytest.approx(data["variants"][role]["summary"], nan_ok=True)
        assert items[role]["verdicts"] == data["variants"][role]["verdicts"]
    assert json.loads(again.stdout)["comparison"] == data["comparison"]


def test_diagnose_rejects_bad_options_before_running(tmp_path: Path, run_cli):
    bad_format = run_cli("diagnose", "--model", "tiny", PROMPT, "--format", "docx", "--out", str(tmp_path))
    assert bad_format.exit_code == 1 and "docx" in bad_format.stderr
    bad_variant = run_cli("diagnose", "--model", "tiny", PROMPT, "--variant", "sharpen", "--out", str(tmp_path))
    assert bad_variant.exit_code == 1 and "sharpen" in bad_variant.stderr
    assert not (tmp_path / "diagnosis.json").exists()


def test_words_outside_the_default_models_vocabulary_get_one_warning_line(run_cli, tmp_path):
    result = run_cli(
        "diagnose", "a red car and a white sheep", "--steps", "1", "--format", "none", "--no-self-attention",
        "--no-progress", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "'car', 'sheep' are outside the shapes model's vocabulary" in warnings[0]
    assert "--model" in warnings[0]
    assert json.loads((tmp_path / "diagnosis.json").read_text())["settings"]["model"] == "shapes"
