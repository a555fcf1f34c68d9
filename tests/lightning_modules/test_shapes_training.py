"""Training the shapes model: a short run on the toy-size preset learns (its loss falls), exports weights that load
as a pipeline, writes its curve and samples, and resumes from its checkpoint instead of starting over."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _losses(folder):
    return [json.loads(line) for line in (folder / "unet-loss.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    from attnmod.lightning_modules.shapes_training import TrainingSettings, train_shapes_model

    out = tmp_path_factory.mktemp("shapes-train")
    settings = TrainingSettings(
        preset="smoke",
        vae_steps=5,
        unet_steps=20,
        batch_size=8,
        vae_batch_size=4,
        workers=0,
        accelerator="cpu",
        warmup_steps=5,
        learning_rate=1e-3,
    )
    summary = train_shapes_model(out, settings, progress=False, samples=1)
    return out, settings, summary


def test_twenty_steps_lower_the_loss(smoke_run):
    out, _, summary = smoke_run
    rows = _losses(out)
    assert [r["step"] for r in rows] == list(range(1, 21))
    first, last = np.mean([r["loss"] for r in rows[:5]]), np.mean([r["loss"] for r in rows[-5:]])
    assert last < 0.9 * first, (first, last)
    assert summary["final_loss"] == pytest.approx(np.mean([r["loss"] for r in rows]), rel=1e-6)
    for name in ("loss_curve.png", "samples.png", "training.json", "vae.safetensors", "weights/shapes.safetensors"):
        assert (out / name).is_file(), name


def test_training_json_records_the_speed_of_the_unet_steps(smoke_run):
    out, _, summary = smoke_run
    speed = json.loads((out / "training.json").read_text())["unet_speed"]
    assert speed == summary["unet_speed"]
    # 20 steps: the first 5 pay the start-up and are left out, the other 15 are timed.
    assert (speed["steps_timed"], speed["steps_skipped"]) == (15, 5)
    assert speed["seconds_per_step"] > 0 and speed["median_seconds_per_step"] > 0
    assert speed["steps_per_second"] == pytest.approx(1 / speed["seconds_per_step"])


def test_step_timer_arithmetic_on_planted_step_ends():
    from attnmod.lightning_modules.shapes_training import _StepTimer

    timer = _StepTimer(warmup=2)
    # Steps end at these seconds: the first two are skipped; steps 2-6 last 2, 1, 1, 1 and 4 s.
    timer.ends = [10.0, 11.0, 13.0, 14.0, 15.0, 16.0, 20.0]
    assert timer.summary() == {
        "steps_timed": 5,
        "steps_skipped": 2,
        "seconds_per_step": 9.0 / 5,
        "steps_per_second": 5 / 9.0,
        "median_seconds_per_step": 1.0,
    }
    # Too few steps for the warm-up: the last step is still timed; one step alone gives no figure.
    timer.ends = [0.0, 0.5, 2.0]
    assert (timer.summary()["steps_timed"], timer.summary()["seconds_per_step"]) == (1, 1.5)
    timer.ends = [3.0]
    assert timer.summary() is None


def test_exported_weights_load_and_draw(smoke_run):
    from attnmod.toolkit.models.loading import build_pipeline
    from attnmod.toolkit.models.shapes import COMPONENTS

    out, _, _ = smoke_run
    pipe = build_pipeline(str(out / "weights"))
    assert type(pipe).__name__ == "StableDiffusionXLPipeline"
    assert pipe.vae.config.scaling_factor == json.loads((out / "vae.json").read_text())["scaling_factor"] != 1.0
    for name in COMPONENTS:
        assert all(not p.is_meta for p in getattr(pipe, name).parameters()), name
    image = pipe(
        "a red circle", num_inference_steps=2, guidance_scale=5.0, height=64, width=64, output_type="np"
    ).images[0]
    assert image.shape == (64, 64, 3) and np.isfinite(image).all()


def test_running_again_resumes_from_the_checkpoint(smoke_run):
    from attnmod.lightning_modules.shapes_training import train_shapes_model

    out, settings, _ = smoke_run
    settings.unet_steps = 24
    train_shapes_model(out, settings, progress=False, samples=0)
    steps = [r["step"] for r in _losses(out)]
    # The VAE stage is not repeated and the UNet continues from step 20 rather than from 0.
    assert steps == list(range(1, 21)) + list(range(21, 25))
    assert len((out / "vae-loss.jsonl").read_text().splitlines()) == 5


def test_pause_after_stops_and_the_same_command_goes_on(tmp_path, run_cli):
    arguments = [
        "world",
        "train",
        "--out",
        str(tmp_path),
        "--preset",
        "smoke",
        "--vae-steps",
        "3",
        "--unet-steps",
        "4",
        "--batch-size",
        "4",
        "--workers",
        "0",
        "--samples",
        "0",
        "--accelerator",
        "cpu",
        "--no-progress",
    ]
    first = run_cli(*arguments, "--pause-after", "2")
    assert first.exit_code == 0 and "paused in the vae stage at step 2" in first.output
    assert not (tmp_path / "vae.safetensors").exists()
    second = run_cli(*arguments)
    assert second.exit_code == 0 and "final loss" in second.output
    assert [json.loads(line)["step"] for line in (tmp_path / "vae-loss.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert (tmp_path / "weights" / "shapes.safetensors").is_file()


def test_resuming_under_other_settings_is_refused_in_one_line(tmp_path, run_cli):
    arguments = ["world", "train", "--out", str(tmp_path), "--preset", "smoke", "--vae-steps", "3"]
    arguments += ["--unet-steps", "2", "--batch-size", "4", "--workers", "0", "--samples", "0"]
    arguments += ["--accelerator", "cpu", "--no-progress"]
    first = run_cli(*arguments, "--pause-after", "1")
    assert first.exit_code == 0 and "paused in the vae stage at step 1" in first.output
    recorded = json.loads((tmp_path / "settings.json").read_text())
    assert recorded["loss_weighting"] == "min-snr" and "pause_after" not in recorded
    changed = run_cli(*arguments, "--loss-weighting", "min-snr-plus-one")
    assert changed.exit_code == 1 and "Traceback" not in changed.output
    assert "loss_weighting 'min-snr' -> 'min-snr-plus-one'" in changed.output
    assert [json.loads(line)["step"] for line in (tmp_path / "vae-loss.jsonl").read_text().splitlines()] == [1]
    mixed = run_cli(*arguments, "--form-weights", "pair=1")
    assert mixed.exit_code == 1 and "form_weights None -> {'pair': 1.0}" in mixed.output
    bad = run_cli(*arguments, "--form-weights", "pair=1,spiral=1")
    assert bad.exit_code == 2 and "unknown caption form 'spiral'" in bad.output and "Traceback" not in bad.output
    again = run_cli(*arguments, "--pause-after", "1")  # the same settings (another pause) resume
    assert again.exit_code == 0 and "paused in the vae stage at step 2" in again.output


def test_sigterm_stops_training_after_the_step_in_progress_with_a_checkpoint_to_resume_from(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    command = [str(Path(sys.executable).parent / "attnmod"), "world", "train", "--out", str(tmp_path), "--preset",
               "smoke", "--vae-steps", "10000", "--unet-steps", "2", "--batch-size", "2", "--workers", "0",
               "--samples", "0", "--accelerator", "cpu", "--no-progress"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    history = tmp_path / "vae-loss.jsonl"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if history.is_file() and history.read_text().count("\n") >= 2:
                break
            time.sleep(0.05)
        assert process.poll() is None, "training must still be going when the signal comes"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, stderr[-2000:]
    assert "interrupted by SIGTERM in the vae stage at step" in stderr and "Traceback" not in stderr
    assert (tmp_path / "vae" / "last.ckpt").is_file()
    steps = [json.loads(line)["step"] for line in history.read_text().splitlines()]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) < 10000
