"""A Python user calling the workflow gets the same folder as `attnmod diagnose`, report included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROMPT = "a red car and a white sheep"
SETTINGS = {"seed": 3, "steps": 2, "height": 64, "width": 64}


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def _without_timings(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    data.pop("seconds")
    data.pop("versions")
    for entry in data["variants"].values():
        entry.pop("seconds")
    return data


@pytest.mark.slow
def test_run_diagnosis_from_python_writes_what_the_command_writes(tmp_path, run_cli, tiny_model):
    from attnmod.workflows import run_diagnosis

    by_command = tmp_path / "command"
    result = run_cli(
        "diagnose", "--model", "tiny", PROMPT, "--variant", "full", "--format", "html", "--no-progress", "--out", str(by_command),
        *(item for key, value in SETTINGS.items() for item in (f"--{key}", str(value))),
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    by_python = tmp_path / "python"
    data = run_diagnosis(tiny_model, PROMPT, variant="full", out_dir=by_python, formats="html", **SETTINGS)

    assert _files(by_python) == _files(by_command)
    assert "report.html" in _files(by_python) and "diagnosis.json" in _files(by_python)
    written = json.loads((by_python / "diagnosis.json").read_text(encoding="utf-8"))
    assert written == data
    command_data = json.loads((by_command / "diagnosis.json").read_text(encoding="utf-8"))
    assert _without_timings(written) == _without_timings(command_data)
    for image in ("baseline.png", "modulated.png", "baseline/attention.safetensors"):
        assert (by_python / image).read_bytes() == (by_command / image).read_bytes(), image


def test_diagnosis_files_names_the_report_formats():
    from attnmod.toolkit.errors import AttnmodError
    from attnmod.workflows import diagnosis_files

    base = ["diagnosis.json", "baseline.png", "modulated.png", "baseline/", "modulated/"]
    assert diagnosis_files("none") == base
    assert diagnosis_files(()) == base
    assert diagnosis_files("pdf,html") == [*base, "report.pdf", "report.html"]
    with pytest.raises(AttnmodError, match="unknown report format"):
        diagnosis_files("docx")
