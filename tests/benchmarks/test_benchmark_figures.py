"""The bookkeeping of the issue-16 benchmarks, on planted inputs: how a figures block replaces its old version in
docs/benchmarks.md, and how the steady-state rate of `ablate` counts each DDP process from its own first item."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from places import load_benchmark

DOCUMENT = """# Benchmarks

## Build

Text before.

<!-- begin figures: model_build -->
old table
<!-- end figures: model_build -->

Text after.
"""


def test_a_block_is_replaced_between_its_markers_and_nothing_else_moves():
    blocks = load_benchmark("_doc_block")
    updated = blocks.replace_block(DOCUMENT, "model_build", "| new | table |\n")
    assert updated == DOCUMENT.replace("old table", "| new | table |")
    # Running again with the same figures changes nothing; another benchmark's block is appended at the end.
    assert blocks.replace_block(updated, "model_build", "| new | table |") == updated
    appended = blocks.replace_block(updated, "ablate_throughput", "rows")
    assert (
        appended
        == updated + "\n<!-- begin figures: ablate_throughput -->\nrows\n<!-- end figures: ablate_throughput -->\n"
    )


def test_update_document_rewrites_the_file(tmp_path):
    blocks = load_benchmark("_doc_block")
    path = tmp_path / "benchmarks.md"
    path.write_text(DOCUMENT, encoding="utf-8")
    blocks.update_document(path, "model_build", "figures")
    assert path.read_text(encoding="utf-8") == DOCUMENT.replace("old table", "figures")


def planted_run(folder: Path, finish_times: list[float]) -> Path:
    """A run folder whose items (in the run's order) were last written at ``finish_times``."""
    rows = []
    for index, moment in enumerate(finish_times):
        item = folder / "items" / f"item-{index}"
        item.mkdir(parents=True)
        os.utime(item, (moment, moment))
        rows.append({"id": f"item-{index}", "folder": f"items/item-{index}", "status": "done"})
    (folder / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return folder


def test_steady_rate_counts_each_process_from_its_own_first_item(tmp_path):
    throughput = load_benchmark("ablate_throughput")
    # Two processes deal out 8 items in turn: process 0 finishes items 0, 2, 4, 6 at 100, 101, 102, 103 s (1 item/s);
    # process 1 starts 10 s late and finishes items 1, 3, 5, 7 at 110, 112, 114, 116 s (0.5 item/s).
    run = planted_run(tmp_path / "two", [100.0, 110.0, 101.0, 112.0, 102.0, 114.0, 103.0, 116.0])
    assert throughput.steady_rate(run, 2) == pytest.approx(1.0 + 0.5)
    # The same items read as one process: 7 intervals over 16 s.
    assert throughput.steady_rate(run, 1) == pytest.approx(7 / 16)
    # A process with a single item has no steady state.
    single = planted_run(tmp_path / "three", [1.0, 2.0, 3.0])
    assert throughput.steady_rate(single, 2) != throughput.steady_rate(single, 2)  # nan


def test_the_gpu_suite_summary_reads_the_training_speed_from_training_json(tmp_path):
    report = load_benchmark("gpu_suite_report")
    (tmp_path / "steps.jsonl").write_text(
        json.dumps({"step": "train_shapes", "rc": 0, "seconds": 42.0, "timed_out": False}) + "\n", encoding="utf-8"
    )
    (tmp_path / "train").mkdir()
    speed = {
        "steps_timed": 195,
        "steps_skipped": 5,
        "seconds_per_step": 0.125,
        "steps_per_second": 8.0,
        "median_seconds_per_step": 0.12,
    }
    training = {"settings": {"preset": "default", "batch_size": 32, "workers": 4}, "unet_speed": speed}
    (tmp_path / "train" / "training.json").write_text(json.dumps(training), encoding="utf-8")
    suite = report.collect(tmp_path, "shapes", smoke=False)
    assert suite["train_shapes"]["seconds_per_step"] == 0.125 and suite["train_shapes"]["batch_size"] == 32
    summary = (tmp_path / "suite.md").read_text(encoding="utf-8")
    assert "## Training the shapes world (default preset, batch 32, 4 data-loader workers)" in summary
    assert "0.125 s per UNet step (8.00 steps/s), median single step 0.120 s, over 195 steps" in summary
    assert "| train_shapes | ok in 42.0 s |" in summary
