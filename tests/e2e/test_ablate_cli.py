"""`attnmod ablate` end to end on the embedded tiny model: two DDP processes, a killed and resumed run, bad items.

Multi-process runs go through the real `attnmod` console script in a subprocess, because Lightning's ``ddp``
starts the other ranks by running the same command line again. The tiny model runs 2 steps at 64x64.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ATTNMOD = str(Path(sys.executable).parent / "attnmod")
PROMPTS = ["a red car and a white sheep", "a blue bowl on a wooden table", "a green bench", "two black cats"]
COMMON = [
    "--variants",
    "none,full",
    "--seeds",
    "0-1",
    "--steps",
    "2",
    "--height",
    "64",
    "--width",
    "64",
    "--accelerator",
    "cpu",
    "--no-progress",
    "--model",
    "tiny",
]
# No thread settings: the runs use the default thread policy (cores / processes, so one process gets twice the
# threads of each of two), whose CPU kernels give the same numbers for any thread count. The outputs of one and
# two processes must then be bit-identical without pinning anything.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MKL_CBWR", "ATTNMOD_THREADS", "ATTNMOD_CPU_KERNELS")
DEFAULT_POLICY = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
ITEM_FILES = ["attention.json", "attention.safetensors", "config.json", "image.png", "metrics.json", "parse.json"]
# Timing fields differ between any two runs; everything else in the JSON files must be the same. metrics.json's
# "files" holds the checksums of config.json and attention.json, which record their own timing.
TIMING_KEYS = {"seconds", "started", "finished", "files"}


def ablate(prompts: Path, out: Path, *extra: str, timeout: float = 480) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ATTNMOD, "ablate", str(prompts), "--out", str(out), *COMMON, *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=DEFAULT_POLICY,
    )


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def without_timing(data):
    if isinstance(data, dict):
        return {k: without_timing(v) for k, v in data.items() if k not in TIMING_KEYS}
    if isinstance(data, list):
        return [without_timing(v) for v in data]
    return data


def assert_same_items(first: Path, second: Path) -> None:
    """Same item ids, same rows (but timing), byte-identical images and attention, same JSON files (but timing)."""
    first_rows, second_rows = rows(first), rows(second)
    assert [r["id"] for r in first_rows] == [r["id"] for r in second_rows]
    assert without_timing(first_rows) == without_timing(second_rows)
    for row in first_rows:
        a, b = first / row["folder"], second / row["folder"]
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir()) == ITEM_FILES
        for name in ("image.png", "attention.safetensors"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{row['id']}/{name} differs"
        for name in ("attention.json", "config.json", "metrics.json", "parse.json"):
            assert without_timing(json.loads((a / name).read_text())) == without_timing(
                json.loads((b / name).read_text())
            ), f"{row['id']}/{name} differs"


def leftovers(out: Path) -> list[str]:
    found = [p.name for p in (out / "items").iterdir() if p.name.startswith(".")]
    found += [p.name for p in out.iterdir() if p.name not in ("items", "results.jsonl", "run.json")]
    return found


@pytest.fixture(scope="module")
def prompts(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sources") / "four.txt"
    path.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference_run(prompts, tmp_path_factory) -> Path:
    """An uninterrupted one-process run: 4 prompts x 2 seeds x 2 variants."""
    out = tmp_path_factory.mktemp("reference") / "run"
    result = ablate(prompts, out, "--devices", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "16 items: 16 done, 0 skipped (already complete), 0 failed" in result.stdout
    return out


@pytest.mark.slow
def test_two_ddp_processes_write_the_same_16_items_as_one_process(prompts, reference_run, tmp_path):
    out = tmp_path / "ddp"
    result = ablate(prompts, out, "--devices", "2", "--strategy", "ddp")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("16 items: 16 done") == 1  # only rank 0 reports
    table = rows(out)
    assert len(table) == 16 and len({r["id"] for r in table}) == 16
    assert all(r["status"] == "done" for r in table)
    assert len([p for p in (out / "items").iterdir()]) == 16
    assert_same_items(reference_run, out)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["device"]["world_size"] == 2 and run_json["counts"]["done"] == 16
    one, two = json.loads((reference_run / "run.json").read_text())["threads"], run_json["threads"]
    assert (one["source"], one["local_ranks"], one["intra_op_threads"]) == ("default", 1, CORES)
    assert (two["source"], two["local_ranks"], two["intra_op_threads"]) == ("default", 2, max(1, CORES // 2))
    assert leftovers(out) == []


@pytest.mark.slow
def test_a_run_killed_part_way_resumes_to_the_same_items_and_files(prompts, reference_run, tmp_path):
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [ATTNMOD, "ablate", str(prompts), "--out", str(out), *COMMON, "--devices", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=DEFAULT_POLICY,
    )
    items = out / "items"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if items.is_dir() and sum(1 for p in items.iterdir() if not p.name.startswith(".")) >= 2:
                break
            time.sleep(0.01)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finished_before_kill = sum(1 for p in items.iterdir() if not p.name.startswith("."))
    assert 2 <= finished_before_kill < 16, "the run must be killed part-way"
    # results.jsonl is refreshed while the run goes: whatever it held at the kill are rows of finished items.
    if (out / "results.jsonl").exists():
        for row in rows(out):
            assert row["status"] == "done" and (out / row["folder"] / "metrics.json").is_file()

    result = ablate(prompts, out, "--devices", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"16 items: {16 - finished_before_kill} done, {finished_before_kill} skipped" in result.stdout
    assert_same_items(reference_run, out)
    assert leftovers(out) == []


@pytest.mark.slow
def test_bad_lines_fail_alone_with_their_error_on_the_real_model(tiny_model, tmp_path):
    from attnmod.lightning_modules.run import run_ablation

    source = tmp_path / "mixed.jsonl"
    source.write_text(
        '{"prompt": "a red car and a white sheep", "category": "color"}\n'
        '{"prompt": ""}\n'
        "{this line is not json\n"
        '{"prompt": "a blue bowl", "category": "color"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "run"
    summary = run_ablation(
        [str(source)],
        out,
        variants=["full"],
        seeds=[0],
        steps=2,
        height=64,
        width=64,
        accelerator="cpu",
        batch_size=4,
        progress=False,
        model="tiny",
        model_loader=lambda device: tiny_model,
    )
    assert (summary.items, summary.done, summary.failed) == (4, 2, 2)
    table = {r["index"]: r for r in rows(out)}
    assert table[2]["status"] == "failed" and table[2]["error"] == "empty prompt"
    assert table[3]["status"] == "failed" and "line 3 of mixed.jsonl is not valid JSON" in table[3]["error"]
    for index in (1, 4):
        row = table[index]
        assert row["status"] == "done" and row["category"] == "color"
        # leakage is null where no pair of entities can be scored (one entity, or the tiny model's flat maps)
        assert row["entities"] >= 1 and (row["leakage"] is None or 0.0 <= row["leakage"] <= 1.0)
        metrics = json.loads((out / row["folder"] / "metrics.json").read_text())
        assert metrics["summary"]["entities"] == row["entities"]


def test_bad_input_is_one_line_and_exit_1(run_cli, tmp_path):
    missing = run_cli("ablate", "--model", "tiny", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "run"))
    assert missing.exit_code == 1
    assert missing.stderr.strip().startswith("error: prompt source") and len(missing.stderr.strip().splitlines()) == 1
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red car\n", encoding="utf-8")
    for options, message in (
        (["--variants", "none,bogus"], "unknown variant 'bogus'"),
        (["--seeds", "3-1"], "bad seed range"),
        (["--accelerator", "cpu", "--precision", "16"], "needs a GPU"),
    ):
        result = run_cli("ablate", "--model", "tiny", str(prompts), "--out", str(tmp_path / "run"), *options)
        assert result.exit_code == 1 and message in result.stderr, (options, result.stderr)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "signum, code",
    # The two signals take the same path; SIGTERM runs in the quick suite, SIGINT (with a resume) in the slow one.
    [pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow), (signal.SIGTERM, 143)],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_stops_the_run_after_the_current_item_with_its_files_consistent(tmp_path, signum, code):
    source = tmp_path / "two.txt"
    source.write_text("a red car\na blue bowl\n", encoding="utf-8")
    settings = [*COMMON[:2], "--seeds", "0", *COMMON[4:], "--devices", "1"]  # 2 prompts x 2 variants: 4 items
    out = tmp_path / "stopped"
    process = subprocess.Popen(
        [ATTNMOD, "ablate", str(source), "--out", str(out), *settings],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**DEFAULT_POLICY, "OMP_NUM_THREADS": "1"},
    )
    items = out / "items"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if items.is_dir() and any(not p.name.startswith(".") for p in items.iterdir()):
                break
            time.sleep(0.01)
        assert process.poll() is None, "the run must still be going when the signal comes"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr[-2000:]
    assert "Traceback" not in stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr and "run the same command to go on" in stderr
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    finished = sorted(p.name for p in items.iterdir())
    assert info["status"] == "interrupted" and 1 <= len(finished) < 4
    assert info["counts"]["done"] == len(finished) and info["counts"]["pending"] == 4 - len(finished)
    # Every row is a finished item with its folder, every folder has its row, nothing half-written is left.
    assert sorted(row["id"] for row in rows(out)) == finished
    assert all(row["status"] == "done" for row in rows(out))
    assert leftovers(out) == []
    if signum == signal.SIGINT:
        resumed = subprocess.run(
            [ATTNMOD, "ablate", str(source), "--out", str(out), *settings],
            capture_output=True,
            text=True,
            timeout=480,
            env={**DEFAULT_POLICY, "OMP_NUM_THREADS": "1"},
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert f"4 items: {4 - len(finished)} done, {len(finished)} skipped" in resumed.stdout
        assert json.loads((out / "run.json").read_text(encoding="utf-8"))["status"] == "finished"
