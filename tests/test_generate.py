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
        "generate", "a red cat and a blue dog", "--variant", "full", "--seed", "4", "--steps", "2",
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
    run_cli("generate", "a red cat and a blue dog", "--config", str(out / "config.json"), "--seed", "4", "--steps", "2",
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
    result = run_cli("generate", "a cat", "--no-progress", "--steps", "1", "--out", str(tmp_path / "o"), *args)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
