"""`attnmod probe`, `attnmod.probe` and the probe's readings, on the embedded tiny model (images are noise, the
mechanics and files are real)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from attnmod.analysis.information_flow import EditRow, ProbeTable, model_reading, padding_reading
from attnmod.toolkit.probe import known_figures
from attnmod.toolkit.shapes_world import prompt_set, scene_from_caption
from planted import CAT_DOG

SMALL = ("--model", "tiny", "--steps", "1", "--height", "64", "--width", "64", "--no-progress")


def test_the_command_writes_the_table_grids_and_report(run_cli, tmp_path):
    out = tmp_path / "probe"
    result = run_cli("probe", CAT_DOG.prompt, "--edits", "word:red,padding,pooled", "--seeds", "0,1",
                     *SMALL, "--out", str(out), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(row["edit"]["key"] for row in data["rows"]) == ["padding", "pooled", "word:red"]
    assert data["generations"] == (3 + 1) * 2
    assert json.loads((out / "probe.json").read_text()) == data
    assert sorted(p.name for p in (out / "grids").iterdir()) == ["01-word-red.png", "02-padding.png", "03-pooled.png"]
    assert CAT_DOG.prompt in (out / "report.html").read_text()
    effects = [row["image_effect"] for row in data["rows"]]
    assert effects == sorted(effects, reverse=True)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("--edits", "colours"), "unknown edit 'colours'"),
        (("--edits", "padding@3"), "unknown encoder '3'"),
        (("--seeds", "x"), "bad seed list"),
        (("--edits", "word:green"), "names a word that is not in the prompt's tree"),
    ],
)
def test_bad_requests_are_one_line_errors(run_cli, arguments, message):
    result = run_cli("probe", CAT_DOG.prompt, *arguments, *SMALL)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_the_python_api_returns_a_probe_that_displays_plots_and_saves(tiny_model, tmp_path):
    import attnmod

    result = attnmod.probe(tiny_model.pipeline, CAT_DOG.prompt, seeds=[0], edits="padding,swaps", steps=1,
                           height=64, width=64, tree=CAT_DOG)  # fmt: skip
    keys = {row.key for row in result.data.rows}
    assert keys == {"padding", "swap:red:blue", "swap:cat:dog"}
    assert np.isfinite(result.effect("padding"))
    assert "Information flow" in result._repr_html_() and "swap &#x27;red&#x27;" in result._repr_html_()
    figure = result.plot()
    assert len(figure.axes[0].patches) == 3
    written = result.save(tmp_path / "saved")
    assert (tmp_path / "saved" / "probe.json") in written and (tmp_path / "saved" / "report.html") in written


def test_user_text_is_escaped_in_the_report():
    from attnmod.reports.probe_report import probe_html

    row = EditRow({"key": "padding", "label": "<b>padding</b>", "positions": [9], "other": []}, 0.5, 0.4, [0.5])
    settings = {"steps": 1, "guidance": 5.0, "height": 64, "width": 64, "family": "sdxl"}
    table = ProbeTable("<script>alert(1)</script>", [0], [row], 0.2, 0.3, None, [], 9, settings, 2, 1.0)
    page = probe_html(table, {})
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "<b>padding" not in page


def test_padding_reading_needs_a_large_padding_effect_at_least_that_of_all_words():
    assert "reads most of its prompt from the padding" in padding_reading(0.6, 0.5)
    assert padding_reading(0.4, 0.1) is None  # below PADDING_READS
    assert padding_reading(0.6, 0.7) is None  # the words matter more
    assert padding_reading(None, 0.2) is None
    # Judged: the padding edit keeps at most half of the unedited presence rate.
    assert "much of what to draw" in padding_reading(0.45, 0.58, padding_present=0.2, unedited_present=0.6)
    assert padding_reading(0.45, 0.58, padding_present=0.4, unedited_present=0.6) is None
    figures = {"padding_effect": 0.7, "all_words_effect": 0.5, "source": "docs/x.md", "set": "s", "prompts": 3}
    assert model_reading(figures).endswith("(measured over 3 prompts of s; docs/x.md)")
    assert known_figures("tiny") is None


def test_world_captions_read_back_as_their_scenes():
    for name in ("seen-1", "seen-2", "seen-3", "nested", "count"):
        for scene in prompt_set(name, 12):
            read = scene_from_caption(scene.caption)
            assert [(o.shape, o.colour) for o in read.objects] == [(o.shape, o.colour) for o in scene.objects]
            assert [(r.subject, r.relation, r.object) for r in read.relations] == [
                (r.subject, r.relation, r.object) for r in scene.relations
            ]
    assert scene_from_caption("a red car and a white sheep") is None
    assert scene_from_caption("a red circle next to a blue square") is None


def test_diagnose_quotes_a_known_models_reading(tiny_model, tmp_path, monkeypatch):
    from attnmod.reports.diagnosis_report import write_diagnosis_report
    from attnmod.reports.text import format_diagnosis
    from attnmod.toolkit import probe
    from attnmod.workflows import run_diagnosis

    figures = tmp_path / "flow.json"
    figures.write_text(json.dumps({"padding_effect": 0.45, "all_words_effect": 0.58, "set": "seen-2/test",
                                   "prompts": 10, "present": {"unedited": 0.6, "padding": 0.2},
                                   "source": "docs/information_flow.md"}))  # fmt: skip
    monkeypatch.setitem(probe.KNOWN_FIGURES, "tiny", figures)
    data = run_diagnosis(tiny_model, CAT_DOG.prompt, steps=1, height=64, width=64, tree=CAT_DOG,
                         out_dir=tmp_path / "d", formats=())  # fmt: skip
    assert data["information_flow"].startswith("this model reads much of what to draw from the padding")
    assert "note: this model reads much of what to draw" in format_diagnosis(data)
    write_diagnosis_report(tmp_path / "d", formats=("html",))
    assert "model: this model reads much of what to draw" in (tmp_path / "d" / "report.html").read_text()
    monkeypatch.delitem(probe.KNOWN_FIGURES, "tiny")
    data = run_diagnosis(tiny_model, CAT_DOG.prompt, steps=1, height=64, width=64, tree=CAT_DOG,
                         out_dir=tmp_path / "e", formats=())  # fmt: skip
    assert data["information_flow"] is None
