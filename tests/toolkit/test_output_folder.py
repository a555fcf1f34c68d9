"""toolkit/output_folder: the run lock never writes through a planted link."""

from __future__ import annotations

import json
import os

import pytest
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.output_folder import LOCK_FILE, RunLock


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).symlink_to(victim)
    with pytest.raises(AttnmodError, match="is a symbolic link"):
        RunLock(run).acquire()
    assert victim.read_text(encoding="utf-8") == "precious"


def test_a_hard_linked_lock_file_is_refused_and_its_other_name_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    os.link(victim, run / LOCK_FILE)
    with pytest.raises(AttnmodError, match="hard link"):
        RunLock(run).acquire()
    assert victim.read_text(encoding="utf-8") == "precious"


def test_a_lock_left_by_a_killed_run_is_taken_over_and_rewritten(tmp_path):
    (tmp_path / LOCK_FILE).write_text('{"pid": 1, "host": "old"}\n' + "x" * 500, encoding="utf-8")
    with RunLock(tmp_path) as lock:
        assert lock.held
        holder = json.loads((tmp_path / LOCK_FILE).read_text(encoding="utf-8"))
        assert holder["pid"] == os.getpid()
    assert not (tmp_path / LOCK_FILE).exists()


# ---- one kind of output per folder; failed commands leave nothing behind


def _plant(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.endswith("/"):
            (folder / name).mkdir()
        else:
            (folder / name).write_text("{}", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "command, planted, message",
    [
        (
            ["diagnose", "--model", "tiny", "a red car"],
            ("run.json", "items/"),
            "holds the output of `attnmod ablate` (run.json)",
        ),
        (
            ["generate", "--model", "tiny", "a red car"],
            ("diagnosis.json",),
            "holds the output of `attnmod diagnose` (diagnosis.json)",
        ),
        (
            ["ablate", "--model", "tiny", "{prompts}"],
            ("config.json", "image.png"),
            "holds the output of `attnmod generate` (config.json)",
        ),
        (["world", "train", "--preset", "smoke"], ("results.jsonl",), "`attnmod ablate` (results.jsonl)"),
    ],
    ids=["diagnose-into-run", "generate-into-diagnosis", "ablate-into-generation", "train-into-run"],
)
def test_a_folder_of_one_command_refuses_anothers_output(command, planted, message, tmp_path, run_cli):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red car\n", encoding="utf-8")
    out = _plant(tmp_path / "out", *planted)
    before = sorted(p.name for p in out.iterdir())
    result = run_cli(*[part.format(prompts=prompts) for part in command], "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --out") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == before


def test_folder_kind_reads_the_markers_and_an_empty_folder_has_none(tmp_path):
    from attnmod.toolkit.output_folder import DIAGNOSIS_KIND, RUN_KIND, folder_kind

    assert folder_kind(tmp_path / "missing") is None
    assert folder_kind(_plant(tmp_path / "empty")) is None
    assert folder_kind(_plant(tmp_path / "run", "items/")) == (RUN_KIND, "items/")
    assert folder_kind(_plant(tmp_path / "diagnosis", "diagnosis.json", "baseline.png")) == (
        DIAGNOSIS_KIND,
        "diagnosis.json",
    )


def test_a_generate_that_fails_after_creating_its_folder_removes_it(tmp_path, run_cli):
    out = tmp_path / "new"
    result = run_cli("generate", "a red car", "--model", str(tmp_path / "no-such-model"), "--out", str(out))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert not out.exists()


def test_an_ablate_whose_model_is_refused_leaves_no_run_folder(tmp_path, run_cli):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red car\n", encoding="utf-8")
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"a pickle")
    out = tmp_path / "run"
    result = run_cli("ablate", str(prompts), "--model", str(checkpoint), "--out", str(out), "--accelerator", "cpu",
                     "--no-progress")  # fmt: skip
    assert result.exit_code == 1 and "refusing to load the .ckpt checkpoint" in result.stderr
    assert not out.exists()


def test_an_ablate_source_with_only_empty_prompts_is_refused_before_the_model_loads(tmp_path, run_cli):
    source = tmp_path / "prompts.jsonl"
    source.write_text('{"prompt": ""}\n{"prompt": "  "}\n', encoding="utf-8")
    out = tmp_path / "run"
    result = run_cli(
        "ablate", str(source), "--model", "tiny", "--out", str(out), "--variants", "none", "--accelerator", "cpu"
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no item can be generated: all 2 have a problem (first: empty prompt)"
    assert not out.exists()
