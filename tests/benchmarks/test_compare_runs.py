"""benchmarks/compare_runs.py on planted output folders: two trees that differ in a known score, in volatile values
(timings, dates, versions, their own folder) that must be ignored, in one pixel and in one tensor element."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from places import load_benchmark
from safetensors.torch import save_file


@pytest.fixture(scope="module")
def compare_runs():
    return load_benchmark("compare_runs")


def plant_side(folder, *, leakage, seconds, started, version, pixel, tensor_value, report_line):
    """One side's output tree; everything but the named arguments (and the folder's own name) is the same."""
    (folder / "diagnose" / "baseline").mkdir(parents=True)
    package = folder.parent / f"{folder.name}-package"
    (folder / "commands.json").write_text(json.dumps({"package": str(package), "commands": []}))
    diagnosis = {
        "prompt": "a red cube and a blue sphere",
        "record": str(folder / "diagnose" / "baseline"),
        "scores": {"overall": {"leakage": leakage, "binding": 1.25}, "seconds": seconds},
        "versions": {"torch": version},
        "started": started,
    }
    (folder / "diagnose" / "diagnosis.json").write_text(json.dumps(diagnosis))
    rows = [{"id": "a", "variant": "none", "score": 0.5, "elapsed": seconds},
            {"id": "b", "variant": "full", "score": 0.75, "elapsed": seconds * 2}]  # fmt: skip
    (folder / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    # metrics.json keeps checksums of the item's files; config.json's changes with its seconds, the image's with it
    checksums = {"config.json": {"sha256": f"config-{seconds}"}, "image.png": {"sha256": f"image-{tensor_value}"}}
    (folder / "metrics.json").write_text(json.dumps({"files": checksums}))
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[3, 5] = pixel
    Image.fromarray(image).save(folder / "diagnose" / "baseline.png")
    Image.fromarray(np.full((8, 8, 3), 200, dtype=np.uint8)).save(folder / "diagnose" / "modulated.png")
    sums = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    sums[1, 2] = tensor_value
    save_file({"sums": sums, "counts": torch.ones(3)}, str(folder / "diagnose" / "baseline" / "attention.safetensors"))
    runtime_figure = png_base64(np.full((4, 4, 3), int(seconds * 10) % 256, dtype=np.uint8))
    maps_figure = png_base64(image)
    (folder / "diagnose" / "report.html").write_text(
        f"<html><p>written {started} in {seconds} s by torch {version}</p>\n"
        f"<img src='{folder}/diagnose/baseline.png'><p>{report_line}</p>\n"
        "<table><thead><tr><th>variant</th><th>leakage</th><th>seconds / item</th></tr></thead>\n"
        f"<tbody><tr><td>full</td><td class='num'>0.250</td><td class='num'>{seconds:.3f}</td></tr></tbody></table>\n"
        f'<img src="data:image/png;base64,{runtime_figure}" alt="Runtime per variant">\n'
        f'<img src="data:image/png;base64,{maps_figure}" alt="attention maps">\n'
        f"<pre>{{&#34;seconds&#34;: {seconds}, &#34;seed&#34;: 0}}</pre></html>\n"
    )


def png_base64(pixels) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_planted_differences_are_found_and_volatile_values_ignored(tmp_path, compare_runs, capsys):
    plant_side(tmp_path / "before", leakage=0.25, seconds=1.5, started="2026-12-07T05:22:15+00:00",
               version="2.13.0+cpu", pixel=(10, 20, 30), tensor_value=5.0, report_line="leakage 0.25")  # fmt: skip
    plant_side(tmp_path / "after", leakage=0.5, seconds=9.25, started="2026-12-08T11:02:59+00:00",
               version="2.14.1+cpu", pixel=(10, 20, 31), tensor_value=5.0, report_line="leakage 0.25")  # fmt: skip
    (tmp_path / "before" / "only-here.txt").write_text("gone after\n")

    status = compare_runs.main([str(tmp_path / "before"), str(tmp_path / "after")])

    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:] for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| file") and not line.startswith("| ---")}  # fmt: skip
    assert status == 3
    assert rows["diagnose/diagnosis.json"][0] == "differs"
    # exactly one difference: the planted score; seconds, versions, started and the folder itself are ignored
    assert rows["diagnose/diagnosis.json"][1].strip(" |") == "scores.overall.leakage: 0.25 -> 0.5"
    assert rows["results.jsonl"][0] == "identical"  # only the 'elapsed' timings differ
    assert rows["metrics.json"][0] == "identical"  # only config.json's checksum, which follows its seconds
    # the report differs in the date, a duration, a version, its folder, the seconds column, the runtime figure and
    # the seconds in its embedded JSON; all are volatile. Its attention-map image differs by the planted pixel.
    assert rows["diagnose/report.html"][0] == "differs"
    assert rows["diagnose/report.html"][1].strip(" |") == (
        "embedded image 1 (attention maps): 1 of 64 pixels differ (largest channel difference 1)"
    )
    assert rows["diagnose/baseline.png"][0] == "differs"
    assert "1 of 64 pixels differ (largest channel difference 1)" in rows["diagnose/baseline.png"][1]
    assert rows["diagnose/modulated.png"][0] == "identical"
    assert rows["diagnose/baseline/attention.safetensors"][0] == "identical"
    assert rows["only-here.txt"][0] == "only before"
    assert "commands.json" not in rows
    assert "1 only before" in out and "3 differs" in out


def test_a_tensor_element_and_a_report_line_differ(tmp_path, compare_runs, capsys):
    common = {"leakage": 0.25, "seconds": 1.0, "started": "2026-12-07T05:22:15+00:00", "version": "2.13.0+cpu",
              "pixel": (1, 2, 3)}  # fmt: skip
    plant_side(tmp_path / "before", **common, tensor_value=5.0, report_line="leakage 0.25")
    plant_side(tmp_path / "after", **common, tensor_value=5.5, report_line="leakage 0.26")

    assert compare_runs.main([str(tmp_path / "before"), str(tmp_path / "after")]) == 3

    out = capsys.readouterr().out
    tensor_row = next(line for line in out.splitlines() if line.startswith("| diagnose/baseline/attention"))
    assert "| differs | sums: values differ (largest difference 0.5) |" in tensor_row
    metrics_row = next(line for line in out.splitlines() if line.startswith("| metrics.json"))
    assert '| differs | files.image.png.sha256: "image-5.0" -> "image-5.5" |' in metrics_row
    report_row = next(line for line in out.splitlines() if line.startswith("| diagnose/report.html"))
    assert "differs" in report_row and "leakage 0.25" in report_row and "leakage 0.26" in report_row
    assert "embedded image" not in report_row  # same pixels: the images compare equal


def test_identical_trees_exit_zero(tmp_path, compare_runs, capsys):
    common = {"leakage": 0.25, "seconds": 1.0, "started": "2026-12-07T05:22:15+00:00", "version": "2.13.0+cpu",
              "pixel": (1, 2, 3), "tensor_value": 5.0, "report_line": "same"}  # fmt: skip
    plant_side(tmp_path / "before", **common)
    plant_side(tmp_path / "after", **{**common, "seconds": 3.0})

    assert compare_runs.main([str(tmp_path / "before"), str(tmp_path / "after")]) == 0
    assert "0 differs" in capsys.readouterr().out


def test_neither_folder_nor_revision_is_one_line_and_exit_1(tmp_path, compare_runs, capsys):
    status = compare_runs.main([str(tmp_path / "missing"), "no-such-revision-xyz", "--keep", str(tmp_path / "k")])

    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "neither an output folder" in err[0]


def test_an_inserted_line_is_one_difference_not_a_shifted_tail(compare_runs):
    before = ["<pre>{", '  "noun": "cube",', '  "truncated": false', "}</pre>", "<p>end</p>"]
    after = ["<pre>{", '  "noun": "cube",', '  "truncated": false,', '  "absent": false', "}</pre>", "<p>end</p>"]

    assert compare_runs._compare_lines(before, after) == [
        "line 3 col 21: '\"truncated\": false' -> '\"truncated\": false,'",
        "line 4 added: '\"absent\": false'",
    ]
