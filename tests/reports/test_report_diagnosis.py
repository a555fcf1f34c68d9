"""The diagnosis report, built from a real diagnosis of the tiny model and checked in headless Chromium and through
the PDF's rendered pages."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from attnmod.analysis.scores import RecordScores
from attnmod.reports.diagnosis_report import overlap_matrix, write_diagnosis_report
from attnmod.reports.findings import compare_problems, folded
from attnmod.toolkit.errors import AttnmodError
from browser import check_page, ink_fraction, pdf_pages, pixel_spread
from planted.scores import planted_scores

HOSTILE_PROMPT = "a red car and a white sheep <script>alert(1)</script>"


@pytest.fixture(scope="module")
def diagnosis_dir(tmp_path_factory, tiny_model):
    """``run_diagnosis`` of a prompt with HTML in it (64x64, 2 steps: phases early and middle; self-attention
    captured, no attribution)."""
    from attnmod.workflows import run_diagnosis

    folder = tmp_path_factory.mktemp("diagnosis")
    run_diagnosis(
        tiny_model, HOSTILE_PROMPT, variant="full", seed=0, steps=2, height=64, width=64, out_dir=folder, formats=()
    )
    return folder


@pytest.fixture(scope="module")
def diagnosis_report(diagnosis_dir):
    paths = write_diagnosis_report(diagnosis_dir, formats=("html", "pdf"))
    assert paths == [diagnosis_dir / "report.html", diagnosis_dir / "report.pdf"]
    return {path.suffix: path for path in paths}


def _assert_page_is_clean(page):
    assert page.errors == []
    assert page.broken_images == []
    assert all(image["scheme"] == "data" for image in page.images)
    assert page.external == [] and page.resources == []
    assert pixel_spread(page.screenshot) > 10.0, "the screenshot is blank"


@pytest.mark.slow
def test_diagnosis_report_loads_cleanly_in_chromium(diagnosis_report, diagnosis_dir):
    data = json.loads((diagnosis_dir / "diagnosis.json").read_text(encoding="utf-8"))
    page = check_page(diagnosis_report[".html"], width=1280)
    _assert_page_is_clean(page)
    # The attention over each image first; then the two images, the tree, the overlays, the overlap heatmaps and
    # the binding bars.
    assert len(page.images) == 7
    assert page.images[0]["alt"] == "Where each object's attention went"
    # The answer comes first: the random-weight warning, then the worst problem and what the variant did to it.
    text = page.text
    lower = text.lower()  # the label is upper-cased by the style sheet, and innerText follows it
    compared = compare_problems(
        data["variants"]["baseline"]["scores"], data["variants"]["modulated"]["scores"], data["thresholds"]
    )
    assert compared, "the tiny model's near-uniform attention gives findings"
    # Findings of a kind whose score did not predict the judge's failures are folded (a collapsed section, so not
    # in the visible text); the worst of the others is the headline too.
    shown = [finding for finding in compared if not folded(finding.kind)]
    if shown:
        assert lower.index("random-weight model.") < lower.index("worst problem") < lower.index("problems, worst first")
    else:
        assert lower.index("random-weight model.") < lower.index("no validated attention problem in either image")
    hidden = len(compared) - len(shown)
    if hidden:
        assert f"{hidden} unvalidated attention signal{'s' if hidden > 1 else ''} hidden" in text
    for finding in compared:
        expected = 0 if folded(finding.kind) else 1 + (finding is shown[0])
        assert text.count(finding.text) == expected, finding.text
    assert "without modulation: " not in text, "the analysis' verdict bullets are not repeated"
    for heading in ("Why did this prompt go wrong?", "Details", "Numbers", "Configuration and versions"):
        assert heading in text
    phone = check_page(diagnosis_report[".html"], width=390, height=844)
    _assert_page_is_clean(phone)
    assert phone.scroll_width <= phone.viewport_width, "the page is wider than a phone screen"


@pytest.mark.slow
def test_diagnosis_report_shows_html_in_a_prompt_as_text(diagnosis_report):
    source = diagnosis_report[".html"].read_text(encoding="utf-8")
    assert "<script" not in source.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    page = check_page(diagnosis_report[".html"], width=1024)
    assert page.scripts == 0
    assert HOSTILE_PROMPT in page.text


@pytest.mark.slow
def test_diagnosis_report_pdf_pages_render(diagnosis_report, tmp_path):
    pages = pdf_pages(diagnosis_report[".pdf"], tmp_path)
    assert len(pages) >= 3  # the answer and details, numbers and configuration each start a page
    inks = [ink_fraction(page.read_bytes()) for page in pages]
    # Even a page with a few lines of text has over 0.2% dark pixels at 40 dpi; an empty page has none.
    assert min(inks) > 0.002, inks
    # The first page holds the answer and the attention over the images, not two thumbnails on their own.
    assert inks[0] > 0.05, inks


@pytest.mark.slow
def test_attributions_and_a_missing_record(diagnosis_dir, tmp_path):
    copy = tmp_path / "diagnosis"
    shutil.copytree(diagnosis_dir, copy)
    shutil.rmtree(copy / "modulated")
    data = json.loads((copy / "diagnosis.json").read_text(encoding="utf-8"))
    data["attributions"] = {
        "items": {
            "leakage": {
                "target": "leakage",
                "method": "ig",
                "by": "token",
                "value": 0.9,
                "baseline_value": 0.5,
                "delta": 0.0123,
                "relative_delta": 0.03075,
                "scores": [{"label": "red", "positions": [2], "score": 0.3}, {"label": "<b>", "score": -0.1}],
            }
        },
        "notes": ["binding:white@sheep: planted note"],
    }
    (copy / "diagnosis.json").write_text(json.dumps(data), encoding="utf-8")
    (path,) = write_diagnosis_report(copy, formats="html")
    page = check_page(path, width=1280)
    _assert_page_is_clean(page)
    assert "Token attributions (captum)" in page.text
    assert "0.0123" in page.text and "binding:white@sheep: planted note" in page.text
    assert "modulated: no attention record in 'modulated/', overlays left out" in page.text
    assert len(page.images) == 8


def test_overlap_matrix_places_pairs_and_nested_pairs():
    overall = {
        "overlaps": [{"entities": [0, 2], "value": 0.25}, {"entities": [1, 2], "value": None}],
        "nested": [{"parent": 0, "child": 1, "overlap": 0.75, "containment": 0.9}],
    }
    scores = RecordScores.from_json(planted_scores({"overall": overall})).overall
    matrix = overlap_matrix(scores, [0, 1, 2])
    expected = np.array([[np.nan, 0.75, 0.25], [0.75, np.nan, np.nan], [0.25, np.nan, np.nan]])
    np.testing.assert_array_equal(matrix, expected)
    # Entities are placed in the order asked for, not in tree order.
    assert overlap_matrix(scores, [2, 0])[0, 1] == 0.25


def test_bad_diagnosis_folders_are_clear_errors(tmp_path):
    with pytest.raises(AttnmodError, match="does not exist"):
        write_diagnosis_report(tmp_path / "missing")
    with pytest.raises(AttnmodError, match="cannot read diagnosis"):
        write_diagnosis_report(tmp_path)
    (tmp_path / "diagnosis.json").write_text(json.dumps({"format": "something else"}), encoding="utf-8")
    with pytest.raises(AttnmodError, match="schema"):
        write_diagnosis_report(tmp_path)
    with pytest.raises(AttnmodError, match="unknown report format"):
        write_diagnosis_report(tmp_path, formats="svg")


def _rewrite(folder, change) -> None:
    data = json.loads((folder / "diagnosis.json").read_text(encoding="utf-8"))
    change(data)
    (folder / "diagnosis.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.slow
def test_report_rebuilds_a_diagnose_folder_and_follows_analyze_update(diagnosis_dir, tmp_path, run_cli):
    copy = tmp_path / "diagnosis"
    shutil.copytree(diagnosis_dir, copy)
    (copy / "report.html").unlink(missing_ok=True)
    result = run_cli("report", str(copy), "--format", "html")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {copy / 'report.html'}"
    before = (copy / "report.html").read_text(encoding="utf-8")
    # The tiny model's near-uniform attention singles out no object: every patch splits its attention over the
    # prompt's words, so each entity's presence stays near 1 / (number of words), under the 0.2 threshold.
    assert "may be missing" in before

    # A presence threshold nothing falls below: analyze --update re-scores, and the rebuilt report has no such finding.
    settings = tmp_path / "thresholds.json"
    settings.write_text(json.dumps({"presence": 0.0}), encoding="utf-8")
    result = run_cli("analyze", str(copy), "--thresholds", str(settings), "--update")
    assert result.exit_code == 0, result.output
    assert json.loads((copy / "diagnosis.json").read_text(encoding="utf-8"))["thresholds"]["presence"] == 0.0
    assert "may be missing" not in (copy / "report.html").read_text(encoding="utf-8")
    result = run_cli("report", str(copy), "--format", "html")
    assert "may be missing" not in (copy / "report.html").read_text(encoding="utf-8")

    # A trained model gets no random-weight warning; counts are integers.
    _rewrite(copy, lambda data: data["settings"].update(model="shapes"))
    (path,) = write_diagnosis_report(copy, formats="html")
    page = path.read_text(encoding="utf-8")
    assert "Random-weight model." not in page
    assert '<td>misbound</td><td class="num">1</td>' in page or '<td>misbound</td><td class="num">0</td>' in page


@pytest.mark.slow
def test_a_shapes_caption_is_diagnosed_truth_first(run_cli, tmp_path):
    """The default model on a caption of its world: diagnosis.json, the text output and the report's first screen
    (laptop and phone) lead with the judge's reading of both images; unvalidated attention findings are folded."""
    from attnmod.analysis.judge import judge_image
    from attnmod.toolkit.shapes_world import scene_from_caption
    from PIL import Image

    prompt = "a red circle and a blue square"
    result = run_cli("diagnose", prompt, "--format", "html", "--no-progress", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "diagnosis.json").read_text(encoding="utf-8"))
    assert list(data)[:3] == ["format", "prompt", "truth"]
    truth = data["truth"]
    for role in ("baseline", "modulated"):
        objects = truth["images"][role]["objects"]
        assert [(o["colour"], o["shape"]) for o in objects] == [("red", "circle"), ("blue", "square")]
        with Image.open(tmp_path / data["images"][role]) as image:  # the judge's reading of the written image
            reading = judge_image(image.convert("RGB"), scene_from_caption(prompt))
        assert [(o["found"], o["missing"], o["merged"]) for o in objects] == [
            (v.found, v.missing, v.merged) for v in reading.objects
        ]
        assert truth["images"][role]["all_correct"] == reading.all_correct
    # The text output: the prompt, then what the judge sees, before any attention number.
    lines = result.stdout.splitlines()
    assert lines[2].startswith("what the images show") and lines[3 : 3 + len(truth["lines"])] == [
        f"  {line}" for line in truth["lines"]
    ]
    assert truth["lines"][0].startswith("without modulation (none): ") and truth["lines"][1].startswith("with full: ")
    hidden = [row for row in data["findings"] if row["folded"]]
    assert sorted(row["text"] for row in data["findings"]) == sorted(data["verdicts"])
    assert all(row["reading"] in ("nothing", "opposite") for row in hidden)
    if hidden:
        assert f"{len(hidden)} unvalidated attention signal" in result.stdout
        assert not any(row["text"] in result.stdout for row in hidden)
    shown_all = run_cli("analyze", str(tmp_path), "--json")  # the folder stays readable by the other commands
    assert shown_all.exit_code == 0
    # The report: the judge's reading is on the first screen at laptop and phone widths.
    for width, height in ((1280, 800), (390, 844)):
        page = check_page(tmp_path / "report.html", width=width, height=height)
        _assert_page_is_clean(page)
        top, bottom = page.boxes["truth"]
        assert 0 < top < bottom <= height, (width, top, bottom)
        for role in ("baseline", "modulated"):
            for item in truth["images"][role]["objects"]:
                assert f"{item['colour']} {item['shape']}: " in page.text
        assert page.text.index("What the images show") < page.text.index("What attention suggests")
