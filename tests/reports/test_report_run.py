"""The run report, built from a real (small) ablation run of the tiny model and checked in headless Chromium and
through the PDF's rendered pages."""

from __future__ import annotations

import json
import shutil

import pytest
from attnmod.reports.run_report import write_run_report
from browser import check_page, ink_fraction, pdf_pages, pixel_spread

HOSTILE = "a <script>alert(1)</script> cat next to a black dog"
PROMPTS = [
    {"prompt": "a red car and a white sheep", "category": "color"},
    {"prompt": HOSTILE, "category": "spatial"},
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_model):
    """2 prompts + 1 broken source line x variants none/full on the tiny model (64x64, 2 steps): 4 done, 2 failed."""
    from attnmod.lightning_modules.run import run_ablation

    folder = tmp_path_factory.mktemp("report-run")
    source = folder / "prompts.jsonl"
    lines = [json.dumps(p) for p in PROMPTS] + ["this line is not JSON"]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = folder / "run"
    summary = run_ablation(
        [str(source)],
        run,
        variants=("none", "full"),
        seeds=(0,),
        accelerator="cpu",
        devices=1,
        steps=2,
        height=64,
        width=64,
        progress=False,
        model="tiny",
        model_loader=lambda device: tiny_model,
    )
    assert (summary.done, summary.failed) == (4, 2)
    return run


@pytest.fixture(scope="module")
def run_report(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-out")
    paths = write_run_report(tiny_run, out_dir=out, formats="html,pdf", worst=3)
    return {path.suffix: path for path in paths}


def _assert_page_is_clean(page):
    assert page.errors == []
    assert page.images, "the report has no image"
    assert page.broken_images == []
    assert all(image["scheme"] == "data" for image in page.images)
    assert page.external == [] and page.resources == []
    assert pixel_spread(page.screenshot) > 10.0, "the screenshot is blank"


@pytest.mark.slow
def test_run_report_loads_cleanly_in_chromium_at_laptop_and_phone_width(run_report):
    laptop = check_page(run_report[".html"], width=1280)
    _assert_page_is_clean(laptop)
    assert "Finished: 4 of 6 items done, 2 failed" in laptop.text
    for heading in ("Summary", "Figures", "Failure gallery", "Failed items", "All items", "Configuration"):
        assert heading in laptop.text
    # Distributions, paired differences, categories, runtime, and a gallery card for each of the two done items
    # of the modulated variant (the worst list takes both, so none is left for "made worse").
    assert len(laptop.images) == 4 + 2
    assert laptop.text.count("Image and cross-attention per entity and attribute") == 2
    phone = check_page(run_report[".html"], width=390, height=844)
    _assert_page_is_clean(phone)
    assert phone.scroll_width <= phone.viewport_width, "the page is wider than a phone screen"


@pytest.mark.slow
def test_run_report_escapes_prompts(run_report):
    source = run_report[".html"].read_text(encoding="utf-8")
    assert "<script" not in source.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    page = check_page(run_report[".html"], width=1024)
    assert page.scripts == 0
    assert HOSTILE in page.text  # shown as text, exactly as typed


@pytest.mark.slow
def test_run_report_pdf_pages_render(run_report, tmp_path):
    pages = pdf_pages(run_report[".pdf"], tmp_path)
    # Summary, figures, gallery, items and configuration each start a page.
    assert len(pages) >= 5
    for page in pages:
        # Even a page with a few lines of text has over 0.2% dark pixels at 40 dpi; an empty page has none.
        assert ink_fraction(page.read_bytes()) > 0.002, f"{page.name} is blank"


@pytest.mark.slow
def test_report_of_a_run_still_in_progress(tiny_run, tmp_path):
    partial = tmp_path / "run"
    shutil.copytree(tiny_run, partial)
    rows = (partial / "results.jsonl").read_text(encoding="utf-8").splitlines()
    (partial / "results.jsonl").unlink()
    # Two rows so far, the second cut short while being written.
    (partial / "results-rank0.jsonl").write_text(rows[0] + "\n" + rows[1][:20], encoding="utf-8")
    info = json.loads((partial / "run.json").read_text(encoding="utf-8"))
    info["status"] = "running"
    info.pop("counts", None)
    (partial / "run.json").write_text(json.dumps(info), encoding="utf-8")
    (path,) = write_run_report(partial, formats=("html",), worst=2)
    assert path == partial / "report.html"
    page = check_page(path, width=1280)
    _assert_page_is_clean(page)
    assert "Run in progress" in page.text and "1 items recorded so far" in page.text


@pytest.mark.slow
def test_report_command(run_cli, tiny_run, tmp_path):
    result = run_cli("report", str(tiny_run), "--out", str(tmp_path / "r"), "--format", "html", "--worst", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {tmp_path / 'r' / 'report.html'}"
    text = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "Failure gallery" in text and text.count('class="gallery-item"') >= 1


def test_report_command_errors_are_one_line(run_cli, tmp_path):
    missing = run_cli("report", str(tmp_path / "nothing"))
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines() == [f"error: run folder {str(tmp_path / 'nothing')!r} does not exist"]
    tmp_path.joinpath("empty").mkdir()
    empty = run_cli("report", str(tmp_path / "empty"), "--format", "html")
    assert empty.exit_code == 1 and "has no results.jsonl" in empty.stderr
    bad_format = run_cli("report", str(tmp_path / "empty"), "--format", "docx")
    assert bad_format.exit_code == 1 and "unknown report format 'docx'" in bad_format.stderr


def test_evaluation_scores_join_the_summary_table(tmp_path):
    """A hand-written run whose item folders are gone, with evaluation.json: the paper-style table shows FID, CLIP
    score and reward with their intervals next to leakage and binding, and the report still builds."""
    rows = []
    for index, (none_leakage, full_leakage) in enumerate([(0.6, 0.4), (0.8, 0.5)], start=1):
        for variant, leakage in (("none", none_leakage), ("full", full_leakage)):
            rows.append(
                {
                    "id": f"{variant}{index}",
                    "prompt": f"prompt {index}",
                    "seed": 0,
                    "variant": variant,
                    "status": "done",
                    "folder": f"items/{variant}{index}",
                    "category": "color",
                    "source": "p.txt",
                    "index": index,
                    "seconds": 1.5,
                    "leakage": leakage,
                    "binding": 0.7,
                    "misbound": 0,
                }
            )
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "run.json").write_text(json.dumps({"status": "finished", "counts": {"items": 4}}), encoding="utf-8")
    evaluation = {
        "variants": {
            "none": {"n": 2, "fid": 41.25, "clip_score": {"mean": 30.5, "low": 30.0, "high": 31.0, "n": 2}},
            "full": {
                "n": 2,
                "fid": 39.75,
                "clip_score": {"mean": 31.75, "low": 31.0, "high": 32.5, "n": 2},
                "reward": {"mean": 0.25, "low": 0.125, "high": 0.375, "n": 2},
            },
        }
    }
    (tmp_path / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
    (path,) = write_run_report(tmp_path, formats="html", worst=1)
    text = path.read_text(encoding="utf-8")
    assert "<th>FID</th><th>CLIP score</th><th>reward</th>" in text
    assert "39.750" in text and "31.750 [31.000, 32.500]" in text and "0.250 [0.125, 0.375]" in text
    # Paired leakage differences -0.2 and -0.3: mean -0.25, shown in the headline.
    assert "full vs none: leakage -0.250" in text
    assert "Finished: 4 of 4 items done." in text


def test_rows_without_a_variant_or_with_values_that_are_not_finite_numbers_are_counted_not_hidden(tmp_path):
    from attnmod.reports.run_report import read_run, row_problems, run_status, variant_order

    base = {"prompt": "p", "seed": 0, "status": "done", "leakage": 0.5, "binding": 0.5}
    lines = [
        json.dumps({**base, "id": "a", "variant": "none"}),
        json.dumps({**base, "id": "b", "variant": None}),
        json.dumps({**base, "id": "c", "variant": "full", "leakage": "high"}),
        '{"id": "d", "prompt": "p", "variant": "full", "status": "done", "leakage": Infinity, "binding": NaN}',
        json.dumps({**base, "id": "e", "variant": "full", "binding": None}),  # null: an undefined score, fine
    ]
    (tmp_path / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "run.json").write_text(json.dumps({"status": "finished", "counts": {"items": 5}}), encoding="utf-8")
    data = read_run(tmp_path)
    assert "(no variant recorded)" in variant_order(data) and "default" not in variant_order(data)
    assert row_problems(data) == [
        "1 row(s) record no variant; they are shown as '(no variant recorded)'",
        "some rows hold values that are not finite numbers, left out of the summaries: leakage (2), binding (1)",
    ]
    status = run_status(data)
    assert status["level"] == "warn" and "1 row(s) record no variant" in status["message"]


def test_an_interrupted_run_is_reported_as_such(tmp_path):
    from attnmod.reports.run_report import read_run, run_status

    row = {"id": "a", "prompt": "p", "seed": 0, "variant": "none", "status": "done", "leakage": 0.5}
    (tmp_path / "results.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    info = {"status": "interrupted", "counts": {"items": 4, "done": 1, "skipped": 0, "failed": 0, "pending": 3}}
    (tmp_path / "run.json").write_text(json.dumps(info), encoding="utf-8")
    status = run_status(read_run(tmp_path))
    assert status["state"] == "interrupted" and status["level"] == "warn"
    assert status["message"].startswith("The run was stopped on request (SIGINT/SIGTERM): 1 of 4 items recorded")


def test_a_gallery_card_says_why_it_shows_no_maps_for_a_record_that_fails_its_checksum(tmp_path):
    import torch
    from attnmod.reports.run_report import _load_record
    from attnmod.toolkit.modulation.record import AttentionRecord

    record = AttentionRecord(token_ids=[0, 1], token_texts=["a", "b"])
    record.add("cross", "8x8", "early", torch.full((2, 8, 8), 0.5))
    folder = tmp_path / "items" / "abc"
    record.save(folder)
    problems: list[str] = []
    assert _load_record(folder, problems) is not None and problems == []
    data = bytearray((folder / "attention.safetensors").read_bytes())
    data[-4:] = b"\x00\x00\x80\x7f"  # the last float becomes infinity
    (folder / "attention.safetensors").write_bytes(bytes(data))
    assert _load_record(folder, problems) is None
    (problem,) = problems
    assert problem.startswith("attention maps of item abc not shown:") and "checksum" in problem


def test_a_gallery_card_never_shows_an_image_that_links_out_of_its_item_folder(tmp_path):
    from attnmod.reports.run_report import gallery_card, read_run, results_frame
    from PIL import Image

    secret = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(secret)
    run = tmp_path / "run"
    (run / "items" / "a").mkdir(parents=True)
    (run / "items" / "a" / "image.png").symlink_to(secret)
    row = {"id": "a", "prompt": "p", "seed": 0, "variant": "none", "status": "done", "folder": "items/a"}
    (run / "results.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    data = read_run(run)
    card = gallery_card(data, results_frame(data), "a", None)
    assert card["problems"] == ["image of item a not shown: it links outside its item folder"]
