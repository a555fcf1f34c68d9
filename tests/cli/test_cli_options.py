"""The command line shares its option groups: one spelling and one meaning of each option across commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROMPT = "a red car and a white sheep"


def _options(run_cli, *command: str) -> str:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_generation_options_read_the_same_in_every_command(run_cli):
    steps_help = "denoising steps; default: 25 on shapes, 4 on toy models, else 30"
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
        "attribute", "--model", "tiny", PROMPT, "--method", "ig", "--ig-steps", "2", "--steps", "3",
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


def test_threads_reads_the_same_in_every_command_that_runs_torch(run_cli):
    threads_help = (
        "--threads INTEGER RANGE CPU threads per process (or set ATTNMOD_THREADS); default: the cores available to "
        "the process divided among the run's processes on this machine"
    )
    for command in (["generate"], ["diagnose"], ["ablate"], ["evaluate"], ["world", "train"]):
        text = " ".join(_options(run_cli, *command).split())
        assert text.count("--threads") == 1 and threads_help in text, command


# Run in a fresh process with no thread setting from the shell, so that what --threads changes is visible (and the
# policy applied there does not leak into the other tests).
RUN_COMMAND = """
import json, sys
from click.testing import CliRunner
from attnmod.cli import main
from attnmod.toolkit.threads import thread_record
result = CliRunner().invoke(main, json.loads(sys.argv[1]), catch_exceptions=False)
print(json.dumps({"exit_code": result.exit_code, "output": result.output, "threads": thread_record()}))
"""


def _run_in_a_fresh_process(command: list[str]) -> dict:
    unset = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MKL_CBWR", "ATTNMOD_THREADS", "ATTNMOD_THREADS_SET_OMP")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    result = subprocess.run(
        [sys.executable, "-c", RUN_COMMAND, json.dumps(command)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["exit_code"] == 0, found["output"]
    return found


def test_evaluate_and_world_train_apply_the_thread_policy(tmp_path):
    from attnmod.toolkit.shapes_world import prompt_set, render_scene
    from PIL import Image

    scene = prompt_set("seen-1", 1)[0]
    run = tmp_path / "run"
    (run / "items" / "a").mkdir(parents=True)
    Image.fromarray(render_scene(scene)[0]).save(run / "items" / "a" / "image.png")
    row = {"id": "a", "prompt": scene.caption, "variant": "none", "status": "done", "folder": "items/a"}
    row["metadata"] = {"scene": scene.to_json()}
    (run / "results.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")

    evaluated = _run_in_a_fresh_process(["evaluate", str(run), "--judge", "shapes", "--threads", "1"])
    recorded = json.loads((run / "evaluation.json").read_text(encoding="utf-8"))["threads"]
    assert recorded == evaluated["threads"]
    assert (recorded["source"], recorded["threads"], recorded["intra_op_threads"]) == ("--threads", 1, 1)

    out = tmp_path / "train"
    trained = _run_in_a_fresh_process(
        ["world", "train", "--out", str(out), "--preset", "smoke", "--vae-steps", "1", "--unet-steps", "1",
         "--batch-size", "2", "--workers", "0", "--samples", "0", "--accelerator", "cpu", "--no-progress",
         "--threads", "1"]
    )  # fmt: skip
    assert (trained["threads"]["source"], trained["threads"]["intra_op_threads"]) == ("--threads", 1)
    assert json.loads((out / "training.json").read_text(encoding="utf-8"))["threads"] == 1  # torch's count in training
