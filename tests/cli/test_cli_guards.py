"""The command line's guards, one test group each: one run per folder, unwritable folders, one reader of
results.jsonl, ablate's exit codes and up-front checks, quick failures before the model stack loads, messages, parse
start-up, progress in results.jsonl while a run goes. The diagnosis report's changes are in tests/reports/test_report_diagnosis.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from attnmod.toolkit.errors import AttnmodError
from places import DATA

ATTNMOD = str(Path(sys.executable).parent / "attnmod")
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}
SMALL = ["--model", "tiny", "--steps", "2", "--height", "64", "--width", "64", "--accelerator", "cpu", "--no-progress"]


@pytest.fixture
def prompts(tmp_path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("a red car and a white sheep\na blue bowl on a table\n", encoding="utf-8")
    return path


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------- 1. one run per folder


@pytest.mark.slow
def test_a_second_run_into_a_busy_folder_exits_1_naming_the_holder_and_a_killed_holder_blocks_nothing(
    prompts, tmp_path
):
    out = tmp_path / "run"
    # Enough items (2 prompts x 12 seeds x 2 variants) that the first run is still working when it is killed,
    # also on an idle machine.
    command = [ATTNMOD, "ablate", str(prompts), "--out", str(out), "--seeds", "0-11", "--variants", "none,full", *SMALL]
    first = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=ONE_THREAD
    )
    lock = out / ".attnmod.lock"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            if lock.is_file() and f'"pid": {first.pid}' in lock.read_text(encoding="utf-8"):
                break
            time.sleep(0.05)
        assert first.poll() is None, "the first run must still be going"
        second = subprocess.run(command, capture_output=True, text=True, timeout=300, env=ONE_THREAD)
        assert first.poll() is None, "the first run must still hold the folder while the second one tries"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    (message,) = error_lines(second.stderr)
    assert message.startswith("error: another `attnmod ablate` run is writing to")
    assert f"process {first.pid}" in message and "started 20" in message

    # The killed run's lock file is still there, but the kernel released its lock: a resume goes ahead.
    assert lock.is_file()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 48 and all(row["status"] == "done" for row in rows)
    assert not lock.exists(), "a run that ends normally removes its lock file"


def test_the_lock_names_its_holder_and_is_free_again_after_release(tmp_path):
    from attnmod.toolkit.output_folder import RunLock

    holder = RunLock(tmp_path, "test run").acquire()
    with pytest.raises(AttnmodError, match=rf"another test run is writing to .*process {os.getpid()}, started "):
        RunLock(tmp_path, "test run").acquire()
    holder.release()
    with RunLock(tmp_path, "test run") as again:
        assert again.held


@pytest.mark.parametrize("command", ["generate", "diagnose"])
def test_generate_and_diagnose_refuse_a_folder_another_run_is_writing_to(command, tmp_path, run_cli):
    from attnmod.toolkit.output_folder import LOCK_FILE, RunLock

    arguments = [command, "a red cat and a blue dog", "--model", "tiny", "--steps", "1", "--out", str(tmp_path)]
    arguments += ["--no-progress"] + (["--format", "none", "--no-self-attention"] if command == "diagnose" else [])
    holder = RunLock(tmp_path, "test run").acquire()
    try:
        refused = run_cli(*arguments)
    finally:
        holder.release()
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert f"another `attnmod {command}` is writing to" in refused.output and f"process {os.getpid()}" in refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written beside the other run's files
    done = run_cli(*arguments)
    assert done.exit_code == 0, done.output
    assert not (tmp_path / LOCK_FILE).exists() and any(p.suffix == ".png" for p in tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------- 2. unwritable --out


def _without_permission_bypass() -> list[str] | None:
    """A command prefix under which the process cannot write where file permissions forbid it, or None."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    # Root without capabilities (no CAP_DAC_OVERRIDE) is held to the permission bits like any user.
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"] if setpriv else None


@pytest.mark.parametrize(
    "arguments",
    [
        ["generate", "--model", "tiny", "a red car", "--out", "{ro}/new"],
        ["diagnose", "--model", "tiny", "a red car", "--out", "{ro}/new"],
        ["ablate", "--model", "tiny", "{prompts}", "--out", "{ro}"],
    ],
    ids=["generate", "diagnose", "ablate"],
)
def test_a_read_only_out_is_one_line_and_exit_1_before_any_work(arguments, prompts, tmp_path):
    prefix = _without_permission_bypass()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced on this process")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        filled = [a.format(ro=read_only, prompts=prompts) for a in arguments]
        result = subprocess.run([*prefix, ATTNMOD, *filled], capture_output=True, text=True, timeout=300)
    finally:
        read_only.chmod(0o755)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (message,) = error_lines(result.stderr)
    assert message.startswith("error: cannot ") and "Permission denied" in message
    assert list(read_only.iterdir()) == []


# ---------------------------------------------------------------------------------------------- 3. one reader


GOOD_ROWS = [
    {"id": "a1", "prompt": "a red car", "seed": 0, "variant": "none", "status": "failed", "error": "planted"},
    {"id": "b2", "prompt": "a blue bowl", "seed": 0, "variant": "full", "status": "failed", "error": "planted"},
]


def _damaged_results(folder: Path) -> None:
    lines = [json.dumps(row).encode() for row in GOOD_ROWS]
    # A non-UTF-8 byte in the middle, a JSON array, then a line cut short at the end (a killed writer).
    data = lines[0] + b"\n" + b'{"id": "x\xff"}\n' + b"[1, 2]\n" + lines[1] + b"\n" + b'{"id": "c3", "pro'
    (folder / "results.jsonl").write_bytes(data)


def test_the_one_reader_skips_and_counts_bad_lines(tmp_path):
    from attnmod.toolkit.run_files import read_jsonl

    _damaged_results(tmp_path)
    read = read_jsonl(tmp_path / "results.jsonl")
    assert [row["id"] for row in read.rows] == ["a1", "b2"]
    assert [number for number, _ in read.skipped] == [2, 3, 5]
    assert "not UTF-8" in read.skipped[0][1] and "not a JSON object" in read.skipped[1][1]
    assert "not JSON" in read.skipped[2][1]
    assert read.skipped_note().startswith("skipped 3 unreadable line(s) of results.jsonl (line 2, 3, 5;")


def test_report_evaluate_and_ablate_read_damaged_results_alike(tmp_path, run_cli):
    from attnmod.lightning_modules.data import WorkItem
    from attnmod.lightning_modules.writer import merge_results
    from attnmod.workflows import read_results

    _damaged_results(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"status": "finished", "counts": {"items": 2}}), encoding="utf-8")

    result = run_cli("report", str(tmp_path), "--format", "html")
    assert result.exit_code == 0, result.output
    assert "warning: skipped 3 unreadable line(s) of results.jsonl" in result.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Skipped 3 unreadable line(s) of results.jsonl" in page and "a blue bowl" in page

    skipped: list = []
    assert [row["id"] for row in read_results(tmp_path, skipped)] == ["a1", "b2"]
    assert len(skipped) == 3

    items = [
        WorkItem(id=row["id"], prompt=row["prompt"], seed=0, variant=row["variant"], source="s", index=1)
        for row in GOOD_ROWS
    ]
    shutil.copy(tmp_path / "results.jsonl", tmp_path / "results-rank0.jsonl")
    details: dict = {}
    counts = merge_results(tmp_path, items, skipped=[], details=details)
    assert counts == {"items": 2, "done": 0, "skipped": 0, "failed": 2}
    assert details == {"unreadable_lines": 6, "first_error": "planted"}  # 3 in the rank file, 3 in the old table


# ---------------------------------------------------------------------------------------------- 4. ablate exit codes


def test_ablate_rejects_a_size_the_model_cannot_take_before_anything(prompts, tmp_path, run_cli):
    out = tmp_path / "run"
    result = run_cli("ablate", "--model", "tiny", str(prompts), "--out", str(out), "--height", "100")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --height must be a positive multiple of 16 for model tiny, got 100"
    assert not out.exists()


def test_the_size_multiples_known_up_front_are_the_loaded_models_own(tiny_model, tiny_sd_model):
    from attnmod.lightning_modules.validation import EMBEDDED_SIZE_MULTIPLES
    from attnmod.toolkit.generation import check_size

    for model in (tiny_model, tiny_sd_model):
        # Independently: 8 (the VAE's factor) times 2 per down-sampling between the UNet's levels.
        levels = len(model.pipeline.unet.config.block_out_channels)
        multiple = EMBEDDED_SIZE_MULTIPLES[model.name]
        assert multiple == 8 * 2 ** (levels - 1)
        check_size(model, multiple, 2 * multiple)  # accepted by the loaded model's own check
        with pytest.raises(AttnmodError, match="multiples"):
            check_size(model, multiple + 8, multiple)


@pytest.mark.slow
def test_ablate_exits_1_when_no_item_succeeded_and_0_with_a_count_when_some_failed(tmp_path, run_cli):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"no prompt": 1}\nnot json\n', encoding="utf-8")
    result = run_cli("ablate", str(broken), "--out", str(tmp_path / "none"), "--variants", "none", *SMALL)
    assert result.exit_code == 1
    # Issue 30: known before the model loads, and no run folder is made for it.
    assert result.stderr.strip() == (
        "error: no item can be generated: all 2 have a problem (first: line 1 of broken.jsonl has no string field "
        "'prompt')"
    )
    assert not (tmp_path / "none").exists()

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"prompt": "a red car"}\nnot json\n', encoding="utf-8")
    result = run_cli("ablate", str(mixed), "--out", str(tmp_path / "some"), "--variants", "none", *SMALL)
    assert result.exit_code == 0
    assert "2 items: 1 done, 0 skipped (already complete), 1 failed" in result.stdout
    assert "warning: 1 of 2 items failed; their errors are in" in result.stderr
    # A rerun cannot fix a bad source line: the warning says so instead of advising one.
    assert "1 for problems in their source lines (empty, not JSON), which a rerun cannot fix" in result.stderr
    assert "run the command again" not in result.stderr


# ---------------------------------------------------------------------------------------------- 5. fail fast


def _run_and_list_heavy_imports(*arguments: str) -> tuple[int, str, list[str]]:
    """Run the CLI in a fresh interpreter and report which heavy libraries were imported by the time it exited."""
    code = (
        "import sys, json\n"
        "from attnmod.cli import main\n"
        "try:\n"
        f"    main({list(arguments)!r})\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "heavy = [m for m in ('torch', 'lightning', 'diffusers', 'transformers', 'spacy') if m in sys.modules]\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["code"], result.stderr, report["heavy"]


@pytest.mark.parametrize(
    "arguments, code, message",
    [
        (["ablate", "--model", "tiny", "{prompts}", "--out", "{out}", "--seeds", "1-x"], 1, "error: bad seed list '1-x'"),
        (["ablate", "--model", "tiny", "{prompts}", "--out", "{out}", "--variants", "none,fulll"], 1, "error: unknown variant 'fulll'"),
        (["ablate", "--model", "tiny", "{prompts}", "--out", "{file}"], 2, "is a file"),  # click's own check
        (["generate", "--model", "tiny", "a red car", "--out", "{file}"], 1, "is a file, not a folder"),
        (["diagnose", "--model", "tiny", "a red car", "--out", "{file}"], 1, "is a file, not a folder"),
        (["generate", "--model", "tiny", "a red car", "--out", "{out}", "--width", "72"], 1, "--width must be a positive multiple of 16"),
        # Issue 30: bounds known without the model.
        (["generate", "--model", "tiny", "a red car", "--out", "{out}", "--steps", "1000000000000"], 1,
         "error: --steps must be at most 1000 for model tiny"),
        (["generate", "--model", "tiny", "a red car", "--out", "{out}", "--steps", "1001"], 1, "--steps must be at most 1000"),
        (["generate", "--model", "tiny", "a red car", "--out", "{out}", "--guidance", "nan"], 1, "--guidance must be a finite number"),
        (["diagnose", "--model", "tiny", "a red car", "--out", "{out}", "--guidance", "inf"], 1, "--guidance must be a finite number"),
        (["ablate", "--model", "tiny", "{prompts}", "--out", "{out}", "--guidance", "-inf"], 1, "--guidance must be a finite number"),
        (["ablate", "--model", "tiny", "{prompts}", "--out", "{out}", "--devices", "abc"], 2, "--devices 'abc': use a count"),
    ],
    ids=["seeds", "variants", "ablate-out-file", "generate-out-file", "diagnose-out-file", "width", "steps-huge",
         "steps-above-training", "guidance-nan", "guidance-inf", "ablate-guidance", "devices"],
)  # fmt: skip
def test_bad_settings_fail_before_the_model_stack_is_imported(arguments, code, message, prompts, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    filled = [a.format(prompts=prompts, out=tmp_path / "out", file=a_file) for a in arguments]
    exit_code, stderr, heavy = _run_and_list_heavy_imports(*filled)
    assert exit_code == code
    assert message in stderr and "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error:") or "Error:" in line]) == 1
    assert heavy == []
    assert not (tmp_path / "out").exists(), "a refused command leaves no output folder behind"


# ---------------------------------------------------------------------------------------------- 6. messages


def test_a_long_prompt_gives_one_warning_per_problem_and_never_echoes_the_prompt(tiny_model):
    from attnmod.toolkit.generation import _item_warnings
    from attnmod.toolkit.modulation.config import ModulationConfig
    from attnmod.toolkit.prompt.parse import parse_prompt

    prompt = " and ".join(f"a red car number {i}" for i in range(60))
    tree = parse_prompt(prompt, tiny_model.tokenizers)
    warnings = _item_warnings(tree, 77, ModulationConfig.from_variant("full"), active=True)
    limit = [w for w in warnings if "77" in w or "tokens" in w]
    assert len(limit) == 2, warnings  # the parser's count of tokens, the generation's count of unmodulated entities
    assert len(warnings) == len(set(warnings))
    assert all(len(w) < 300 for w in warnings)
    cut = sum(1 for entity in tree.entities if entity.truncated)
    assert any(w.startswith(f"{cut} entities reach past the 77-token limit") for w in warnings)


def test_no_entities_is_said_once(tiny_model):
    from attnmod.toolkit.generation import _item_warnings
    from attnmod.toolkit.modulation.config import ModulationConfig
    from attnmod.toolkit.prompt.parse import parse_prompt

    tree = parse_prompt("the of", tiny_model.tokenizers)
    warnings = _item_warnings(tree, 4, ModulationConfig.from_variant("full"), active=False)
    assert [w for w in warnings if "no entities" in w] == [
        "no entities found in the prompt: generated without modulation"
    ]


def test_a_spanish_prompt_is_flagged_and_english_ones_are_not():
    from attnmod.toolkit.prompt.parse import _language_notes

    assert "looks like Spanish" in _language_notes("un perro rojo y un gato blanco en la mesa")[0]
    assert "looks like French" in _language_notes("un chat noir et un chien blanc dans le jardin")[0]
    for english in ("a red car and a white sheep", "a bowl of creme de la creme", "a man with a hat en route"):
        assert _language_notes(english) == []


def test_hub_errors_lose_the_stack_trace_pointer():
    from attnmod.toolkit.models.loading import _first_line

    error = OSError(
        "Cannot load model x: the model is not fully cached locally (Cannot find an appropriate cached snapshot "
        "folder. To enable repo look-ups and downloads online, pass 'local_files_only=False' as input.) and an "
        "error occurred while trying to fetch metadata from the Hub. Please check out the root cause in the "
        "stacktrace above."
    )
    line = _first_line(error)
    assert "stacktrace" not in line and "local_files_only" not in line
    assert line.endswith("fetch metadata from the Hub")


def test_a_clip_folder_without_model_type_is_named_plainly(tmp_path):
    from attnmod.analysis.image_metrics import load_clip

    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(AttnmodError) as caught:
        load_clip(str(tmp_path))
    assert "None" not in str(caught.value) and "without a model_type" in str(caught.value)


def test_an_empty_prompt_file_is_named(tmp_path, run_cli):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    result = run_cli("parse", "--file", str(empty))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {empty} holds no prompt (it is empty or has only blank lines)"


def test_help_says_what_sizes_and_checkpoints_are_accepted(run_cli):
    for command in ("generate", "diagnose", "ablate", "attribute"):
        text = run_cli(command, "--help").output
        assert "x>=8" not in text and "multiple of 16" in text, command
    assert ".pt," in run_cli("generate", "--help").output and ".pt," in run_cli("ablate", "--help").output


# ---------------------------------------------------------------------------------------------- 7. parse start-up


def test_parse_imports_neither_torch_nor_transformers():
    code = (
        "import sys\n"
        "from attnmod.cli import main\n"
        "try:\n"
        "    main(['parse', 'a red car and a white sheep'])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "print(sorted(m for m in ('torch', 'transformers', 'diffusers', 'lightning') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "car [3]  attributes: red [2]" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_light_tokenizer_matches_transformers_clip_tokenizer_on_the_vendored_prompts(clip_tokenizer):
    from attnmod.toolkit.prompt.tokenizer import TextTokenizer

    light = TextTokenizer()
    prompts = ["Hello  WORLD café 日本語 dogs!!", "a man's red-hat, 3 cats\tand\u00a0a dog", "x\u0301y"]
    for path in sorted(DATA.joinpath("prompts").rglob("*_val.txt")):
        prompts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:300]
    data = DATA / "prompts"
    prompts += (data / "cc-500" / "CC-500.txt").read_text(encoding="utf-8").splitlines()
    geneval = (data / "geneval" / "evaluation_metadata.jsonl").read_text(encoding="utf-8").splitlines()
    prompts += [json.loads(line)["prompt"] for line in geneval if line.strip()]
    assert len(prompts) > 150
    for prompt in prompts:
        expected = clip_tokenizer(
            prompt, add_special_tokens=True, truncation=False, return_offsets_mapping=True,
            return_special_tokens_mask=True, verbose=False,
        )  # fmt: skip
        found = light(prompt, add_special_tokens=True, return_offsets_mapping=True, return_special_tokens_mask=True)
        assert found["input_ids"] == list(expected["input_ids"]), prompt
        assert found["offset_mapping"] == [tuple(pair) for pair in expected["offset_mapping"]], prompt
        assert found["special_tokens_mask"] == list(expected["special_tokens_mask"]), prompt


# ---------------------------------------------------------------------------------------------- 8. progress


def test_results_jsonl_grows_while_the_run_goes(tmp_path, monkeypatch):
    import functools

    from attnmod.lightning_modules import writer
    from attnmod.lightning_modules.module import predict_items
    from attnmod.lightning_modules.run import run_ablation
    from attnmod.toolkit.prompt.tree import PromptTree
    from planted.runs import CONFIGS, fake_generate, fake_save, fake_score

    monkeypatch.setattr(writer, "PROGRESS_INTERVAL", 0.0)
    out = tmp_path / "run"
    seen = []

    def watching_generate(model, prompts, config, seeds, trees):
        results = out / "results.jsonl"
        seen.append(len(results.read_text(encoding="utf-8").splitlines()) if results.exists() else 0)
        return fake_generate(model, prompts, config, seeds, trees)

    source = tmp_path / "prompts.txt"
    source.write_text("a red car\na blue bowl\na green bench\n", encoding="utf-8")
    summary = run_ablation(
        [str(source)],
        out,
        seeds=[0],
        configs=CONFIGS,
        accelerator="cpu",
        devices=1,
        progress=False,
        model="tiny",
        model_loader=lambda device: None,
        predict_fn=functools.partial(
            predict_items, generate_fn=watching_generate, score_fn=fake_score, parse_fn=lambda m, p: PromptTree(p)
        ),
        save_fn=fake_save,
    )
    assert summary.done == 6
    assert seen == [0, 1, 2, 3, 4, 5]  # before item k, the k finished rows were already in results.jsonl
