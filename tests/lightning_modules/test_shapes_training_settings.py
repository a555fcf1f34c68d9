"""`attnmod world train` refuses settings and folders that would waste or damage a run before training starts."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("rate", ["nan", "inf"])
def test_a_learning_rate_that_is_not_a_finite_positive_number_is_refused_before_anything_is_written(
    rate, tmp_path, run_cli
):
    out = tmp_path / "train"
    result = run_cli("world", "train", "--out", str(out), "--preset", "smoke", "--learning-rate", rate)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: --learning-rate must be a finite number above 0, got {float(rate)}"
    assert not out.exists()


def test_an_out_that_is_a_file_is_one_line(tmp_path, run_cli):
    a_file = tmp_path / "a-file"
    a_file.write_text("keep", encoding="utf-8")
    result = run_cli("world", "train", "--out", str(a_file), "--preset", "smoke")
    assert result.exit_code == 1 and "is a file, not a folder" in result.stderr and "Traceback" not in result.stderr
    assert a_file.read_text(encoding="utf-8") == "keep"


def test_a_bad_vae_from_leaves_no_settings_file_behind(tmp_path, run_cli):
    out = tmp_path / "train"
    result = run_cli("world", "train", "--out", str(out), "--preset", "smoke", "--vae-from", str(tmp_path / "nope"))
    assert result.exit_code == 1 and "not a shapes weights folder" in result.stderr
    assert not out.exists()


def test_a_symbolic_link_in_the_training_folder_is_refused_and_its_target_untouched(tmp_path, run_cli):
    victim = tmp_path / "victim"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "train"
    (out / "vae").mkdir(parents=True)
    (out / "vae" / "last.ckpt").symlink_to(victim)
    result = run_cli("world", "train", "--out", str(out), "--preset", "smoke", "--vae-steps", "1", "--unet-steps", "1",
                     "--batch-size", "2", "--workers", "0", "--samples", "0", "--accelerator", "cpu")  # fmt: skip
    assert result.exit_code == 1 and "last.ckpt' is a symbolic link" in result.stderr
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (out / "settings.json").exists()
