"""The command line shares its option groups: one spelling and one meaning of each option across commands."""

from __future__ import annotations

import json

PROMPT = "a red car and a white sheep"


def _options(run_cli, command: str) -> str:
    result = run_cli(command, "--help")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_generation_options_read_the_same_in_every_command(run_cli):
    steps_help = "denoising steps; default: 4 on toy models, else 30"
    for command in ("generate", "diagnose", "ablate", "attribute"):
        text = " ".join(_options(run_cli, command).split())
        assert f"--steps INTEGER RANGE {steps_help}" in text, command
        assert "--height PIXELS" in text and "--width PIXELS" in text, command
        assert "--parser [auto|benepar|dependency]" in text or command == "generate", command
    for command in ("generate", "diagnose", "ablate"):
        assert "<= 1 turns classifier-free guidance off" in _options(run_cli, command), command


def test_attribute_counts_integration_points_with_ig_steps(run_cli, tmp_path):
    assert "--ig-steps" in _options(run_cli, "attribute") and "--sampling-steps" not in _options(run_cli, "attribute")
    out = tmp_path / "attribution.json"
    result = run_cli(
        "attribute", PROMPT, "--method", "ig", "--ig-steps", "2", "--steps", "3",
        "--height", "64", "--width", "64", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    settings = json.loads(out.read_text(encoding="utf-8"))["settings"]
    assert settings["n_steps"] == 2  # integration points
    assert settings["steps"] == 3  # the denoising schedule


def test_dead_options_are_gone(run_cli):
    assert "--devices" not in _options(run_cli, "evaluate")
    result = run_cli("evaluate", "run", "--devices", "2")
    assert result.exit_code == 2 and "No such option '--devices'" in result.stderr
    ablate = _options(run_cli, "ablate")
    assert ablate.count("--model") == 1 and ablate.count("--allow-pickle") == 1
    assert "--ig-steps" in _options(run_cli, "diagnose")
