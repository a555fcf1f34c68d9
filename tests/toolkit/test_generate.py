"""`generate()` argument checks, the progress bar, and the `attnmod generate` command end to end."""

from __future__ import annotations

import json

import pytest
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.generation import generate, resolve_config
from attnmod.toolkit.modulation.config import ModulationConfig
from attnmod.toolkit.prompt.tree import PromptTree

SIZE = {"height": 64, "width": 64}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prompts": ["a", "b"], "seeds": [1, 2, 3]}, "3 seeds given for 2 prompts"),
        ({"prompts": ["a", "b"], "trees": [PromptTree("a")]}, "1 prompt trees given for 2 prompts"),
        ({"prompts": "a", "steps": 0}, "steps must be at least 1"),
        ({"prompts": "a", "height": 40}, "multiples of 16"),
        ({"prompts": []}, "no prompt"),
        ({"prompts": "a", "steps": 1001}, "steps must be at most 1000 for this model"),
        ({"prompts": "a", "guidance": float("nan")}, "guidance must be a finite number"),
    ],
)
def test_bad_arguments_are_user_errors(tiny_model, kwargs, message):
    with pytest.raises(AttnmodError, match=message):
        generate(tiny_model, config=ModulationConfig(), **{"trees": None, **kwargs})


def test_resolve_config_takes_a_variant_or_a_file_then_overrides(tmp_path):
    assert resolve_config().variant == "full"
    assert resolve_config("masking", overrides=["masking.margin=0.3"]).masking.margin == 0.3
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"variant": "temperature", "temperature": {"tau": 0.5}}), encoding="utf-8")
    assert resolve_config(config_path=str(path)).temperature.tau == 0.5
    with pytest.raises(AttnmodError, match="not both"):
        resolve_config("full", str(path))


def test_progress_bar_counts_denoising_steps(tiny_model, capsys):
    generate(tiny_model, "a cat", ModulationConfig(), 0, 3, capture=False, trees=[PromptTree("a cat")], progress=True,
             **SIZE)  # fmt: skip
    err = capsys.readouterr().err
    assert "denoising" in err and "/3" in err  # tqdm redraws at most every 0.1 s: the last count may not show


def test_cli_generate_writes_a_reproducible_folder(run_cli, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "generate", "--model", "tiny", "a red cat and a blue dog", "--variant", "full", "--seed", "4", "--steps", "2",
        "--height", "64", "--width", "64", "--capture", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["attention.json", "attention.safetensors", "config.json", "image.png", "parse.json"]
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert {k: config[k] for k in ("model", "variant", "seed", "steps", "guidance", "height", "width")} == {
        "model": "tiny", "variant": "full", "seed": 4, "steps": 2, "guidance": 5.0, "height": 64, "width": 64,
    }  # fmt: skip
    assert set(config["versions"]) == {"attnmod", "torch", "diffusers", "transformers"}
    assert ModulationConfig.from_json(config["config"]) == ModulationConfig.from_variant("full")
    parse = PromptTree.from_json(json.loads((out / "parse.json").read_text(encoding="utf-8")))
    assert [e.noun for e in parse.entities] == ["cat", "dog"]

    again = tmp_path / "again"
    run_cli("generate", "--model", "tiny", "a red cat and a blue dog", "--config", str(out / "config.json"), "--seed", "4", "--steps", "2",
            "--height", "64", "--width", "64", "--no-progress", "--out", str(again))  # fmt: skip
    assert (again / "image.png").read_bytes() == (out / "image.png").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--variant", "full", "--config", "x.json"], "not both"),
        (["--variant", "blur"], "unknown variant"),
        (["--height", "72"], "multiple of 16"),
        (["--set", "temperature.tau=-2"], "tau: input should be greater than 0, got -2"),
    ],
)
def test_cli_generate_bad_input_is_one_line_and_exit_1(run_cli, tmp_path, args, message):
    result = run_cli(
        "generate", "--model", "tiny", "a cat", "--no-progress", "--steps", "1", "--out", str(tmp_path / "o"), *args
    )
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_generate_replaces_planted_links_without_writing_through_them(run_cli, tmp_path):
    victims = {name: tmp_path / f"victim-{name}" for name in ("image.png", "parse.json", "config.json")}
    out = tmp_path / "sym"
    out.mkdir()
    for name, victim in victims.items():
        victim.write_text("do not touch", encoding="utf-8")
        (out / name).symlink_to(victim)
    result = run_cli("generate", "a red car", "--model", "tiny", "--steps", "1", "--height", "64", "--width", "64",
                     "--no-progress", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert all(victim.read_text(encoding="utf-8") == "do not touch" for victim in victims.values())
    assert not any((out / name).is_symlink() for name in victims)
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["prompt"] == "a red car"


def test_cli_generate_without_capture_removes_an_earlier_prompts_attention(run_cli, tmp_path):
    out = tmp_path / "out"
    settings = (
        "--model",
        "tiny",
        "--steps",
        "1",
        "--height",
        "64",
        "--width",
        "64",
        "--no-progress",
        "--out",
        str(out),
    )
    assert run_cli("generate", "a red cat", "--capture", *settings).exit_code == 0
    assert (out / "attention.safetensors").is_file()
    assert run_cli("generate", "a blue dog", *settings).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "image.png", "parse.json"]
    analyzed = run_cli("analyze", str(out))
    assert analyzed.exit_code == 1 and "no attention record" in analyzed.stderr


@pytest.fixture
def nearly_full_disk(tmp_path):
    """A 1 MiB tmpfs with about 8 KiB left (room for the output folder's write test, not for an image); skipped
    where this process may not mount one (not root, or no mount permission in the container)."""
    import os
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"\0" * (free - 8192))
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.parametrize("command", ["generate", "diagnose"])
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_no_half_written_folder(command, nearly_full_disk, run_cli):
    out = nearly_full_disk / "out"
    extra = ["--capture"] if command == "generate" else ["--format", "none"]
    result = run_cli(command, "a red car", "--model", "tiny", "--steps", "1", "--height", "64", "--width", "64",
                     "--no-progress", *extra, "--out", str(out))  # fmt: skip
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write '{out}") and line.endswith("(No space left on device)")
    assert not out.exists()


def test_the_default_model_draws_the_named_shape(run_cli, tmp_path):
    """No --model: the shapes model (25 steps at 64 px), whose image the shapes judge reads as a red circle."""
    from attnmod.analysis.judge import judge_image
    from attnmod.toolkit.shapes_world import scene_from_caption
    from PIL import Image

    result = run_cli("generate", "a red circle", "--no-progress", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # every word is in the shapes model's vocabulary
    with Image.open(tmp_path / "image.png") as image:
        assert image.size == (64, 64)
        reading = judge_image(image.convert("RGB"), scene_from_caption("a red circle"))
    assert reading.all_correct, reading.summary()
    settings = json.loads((tmp_path / "config.json").read_text())
    assert (settings.get("model"), settings.get("steps")) == ("shapes", 25), settings
