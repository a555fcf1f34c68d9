"""benchmarks/training_reproduction.py: a run's loss curve against a shipped history, on planted curves."""

import json
import subprocess
import sys

import pytest
from places import BENCHMARKS, load_benchmark

SCRIPT = BENCHMARKS / "training_reproduction.py"


def _write(tmp_path, run_losses, shipped_losses):
    run = tmp_path / "run"
    run.mkdir()
    (run / "unet-loss.jsonl").write_text("".join(json.dumps({"step": s, "loss": v}) + "\n" for s, v in run_losses))
    shipped = tmp_path / "history.json"
    shipped.write_text(json.dumps({"every": 10, "unet": [[s, v] for s, v in shipped_losses if s % 10 == 0]}))
    return run, shipped


def _run(run, shipped):
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(run), "--shipped", str(shipped)], capture_output=True, text=True
    )


def _curve(offset=0.0, steps=400):
    # A falling curve with a planted wiggle (the noise the windows measure).
    return [(s, round(1.0 / (1 + s / 100) + (0.05 if s % 20 else -0.05) + offset, 6)) for s in range(1, steps + 1)]


def test_an_identical_prefix_is_reported_identical_and_within_noise(tmp_path):
    run, shipped = _write(tmp_path, _curve(steps=250), _curve(steps=400))
    done = _run(run, shipped)
    assert done.returncode == 0, done.stderr
    assert "Compared 25 logged steps (10-250)" in done.stdout and "identical" in done.stdout


def _module():
    return load_benchmark("training_reproduction")


def test_a_shifted_curve_is_outside_the_noise_and_a_wiggle_inside():
    compare = _module().compare
    shipped = dict(_curve())
    shifted = compare(dict(_curve(offset=0.3)), shipped)
    assert not shifted["within_noise"] and not shifted["identical"]
    assert shifted["max_abs_difference"] == pytest.approx(0.3)
    # A difference below the curve's own spread (std about 0.05 from the planted wiggle) is within the noise.
    nudged = compare(dict(_curve(offset=0.02)), shipped)
    assert nudged["within_noise"] and not nudged["identical"]
    assert [w["steps"] for w in nudged["windows"]] == [[1, 200], [201, 400]]


def test_no_shared_steps_is_one_line(tmp_path):
    run, shipped = _write(tmp_path, [(5, 1.0)], _curve())
    done = _run(run, shipped)
    assert done.returncode == 1 and "share no step" in done.stderr and "Traceback" not in done.stderr
