"""The run machinery with the model swapped out: resume, atomic writes, failures and the merged results table.

``run_ablation`` runs a real Lightning ``Trainer`` (one CPU process) here, with fake generation, scoring and
saving injected, so these tests check the data module, the prediction step's grouping and error handling, the
writer and the merge on their own. The real pipeline runs in tests/e2e/test_ablate_cli.py.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from attnmod.lightning_modules.data import expand_items, load_sources, scan_run
from attnmod.lightning_modules.module import ItemResult, predict_items
from attnmod.lightning_modules.run import resolve_precision, run_ablation
from attnmod.lightning_modules.writer import AblationWriter, merge_results
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.record import AttentionRecord
from attnmod.toolkit.prompt.tree import PromptTree
from PIL import Image
from planted.runs import CONFIGS, FakeGeneration, fake_generate, fake_save, fake_score


def fake_predict(calls=None):
    return functools.partial(
        predict_items,
        generate_fn=functools.partial(fake_generate, calls=calls),
        score_fn=fake_score,
        parse_fn=lambda model, prompt: PromptTree(prompt),
    )


def run(sources, out, calls=None, **options):
    options.setdefault("seeds", [0, 1])
    options.setdefault("configs", CONFIGS)
    options.setdefault("save_fn", fake_save)
    return run_ablation(
        [str(s) for s in sources],
        out,
        accelerator="cpu",
        devices=1,
        progress=False,
        model="tiny",
        model_loader=lambda device: None,
        predict_fn=fake_predict(calls),
        **options,
    )


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def prompts(tmp_path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("a red car and a white sheep\na blue bowl\na green bench\n", encoding="utf-8")
    return path


def leftovers(out: Path) -> list[str]:
    """Temporary or per-rank files that a finished run must not leave behind."""
    found = [p.name for p in (out / "items").glob(".tmp-*")]
    found += [p.name for p in out.glob("results-rank*.jsonl")]
    found += [p.name for p in out.glob("*.tmp-*")]
    return found


def test_run_writes_one_complete_folder_and_one_row_per_item(prompts, tmp_path):
    out = tmp_path / "run"
    summary = run([prompts], out)
    items = expand_items(load_sources([str(prompts)]), [0, 1], ["none", "full"])
    assert (summary.items, summary.done, summary.skipped, summary.failed) == (12, 12, 0, 0)
    table = rows(out)
    assert [r["id"] for r in table] == [i.id for i in items]  # one row per item, in the run's order
    first = table[0]
    assert {k: first[k] for k in ("prompt", "seed", "variant", "status", "folder", "error", "source", "index")} == {
        "prompt": "a red car and a white sheep",
        "seed": 0,
        "variant": "none",
        "status": "done",
        "folder": f"items/{items[0].id}",
        "error": None,
        "source": "prompts.txt",
        "index": 1,
    }
    assert first["leakage"] == pytest.approx(len("a red car and a white sheep") / 100)
    assert first["binding"] is None  # NaN is written as null
    for item in items:
        folder = out / "items" / item.id
        assert sorted(p.name for p in folder.iterdir()) == [
            "attention.json",
            "attention.safetensors",
            "config.json",
            "image.png",
            "metrics.json",
        ]
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["status"] == "done" and metrics["item"]["id"] == item.id and metrics["item"]["seed"] == item.seed
    assert leftovers(out) == []
    run_json = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run_json["status"] == "finished"
    assert run_json["counts"] == {"items": 12, "done": 12, "skipped": 0, "failed": 0}
    assert run_json["settings"]["steps"] == 4 and run_json["settings"]["dtype"] == "float32"
    assert run_json["device"]["world_size"] == 1 and run_json["versions"]["lightning"]
    assert run_json["started"] <= run_json["finished"]


def test_resume_skips_complete_items_redoes_broken_ones_and_rebuilds_the_table(prompts, tmp_path):
    out = tmp_path / "run"
    run([prompts], out)
    before = {r["id"]: r for r in rows(out)}
    items = expand_items(load_sources([str(prompts)]), [0, 1], ["none", "full"])
    # What a killed run can leave: a temporary folder, and (from another tool) a folder with files missing.
    (out / "items" / ".tmp-0123456789ab-999").mkdir()
    (out / "items" / ".tmp-0123456789ab-999" / "image.png").write_bytes(b"half")
    (out / "items" / items[3].id / "metrics.json").unlink()
    (out / "items" / items[5].id / "metrics.json").write_text("{truncated", encoding="utf-8")
    import shutil

    shutil.rmtree(out / "items" / items[7].id)
    (out / "results.jsonl").unlink()
    calls: list = []
    summary = run([prompts], out, calls=calls)
    assert (summary.done, summary.skipped, summary.failed) == (3, 9, 0)
    assert sorted(p for batch in calls for p in batch) == sorted(items[i].prompt for i in (3, 5, 7))
    after = {r["id"]: r for r in rows(out)}
    assert list(after) == [i.id for i in items]
    for identifier, row in before.items():
        assert {k: v for k, v in after[identifier].items() if k != "seconds"} == {
            k: v for k, v in row.items() if k != "seconds"
        }
    assert leftovers(out) == []
    # A column another tool added (attnmod evaluate's scores) survives a resume for items that did not change.
    table = rows(out)
    table[0]["clip_score"] = 31.5
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in table), encoding="utf-8")
    # Nothing left to do: the run still finishes and reports every item as skipped.
    again = run([prompts], out)
    assert (again.done, again.skipped, again.failed) == (0, 12, 0)
    assert [r["id"] for r in rows(out)] == [i.id for i in items]
    assert rows(out)[0]["clip_score"] == 31.5 and "clip_score" not in rows(out)[1]


def test_a_failing_item_is_recorded_and_the_rest_of_its_batch_completes(tmp_path):
    source = tmp_path / "set.jsonl"
    source.write_text(
        '{"prompt": "a red car"}\n'
        '{"prompt": "a cat that will explode"}\n'
        "{not json at all\n"
        '{"prompt": ""}\n'
        '{"prompt": "a blue bowl"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "run"
    calls: list = []
    summary = run([source], out, calls=calls, seeds=[0], configs={"full": {"variant": "full"}}, batch_size=5)
    assert (summary.items, summary.done, summary.failed) == (5, 2, 3)
    by_prompt = {r["index"]: r for r in rows(out)}
    assert [by_prompt[i]["status"] for i in (1, 2, 3, 4, 5)] == ["done", "failed", "failed", "failed", "done"]
    assert by_prompt[2]["error"] == "generate: RuntimeError: planted failure for a prompt containing 'explode'"
    assert "line 3 of set.jsonl is not valid JSON" in by_prompt[3]["error"]
    assert by_prompt[4]["error"] == "empty prompt"
    assert all(by_prompt[i]["folder"] is None for i in (2, 3, 4))
    assert not any((out / "items" / by_prompt[i]["id"]).exists() for i in (2, 3, 4))
    # The batch of three valid prompts failed as a whole, then each was retried alone.
    assert calls[0] == ["a red car", "a cat that will explode", "a blue bowl"]
    assert sorted(map(tuple, calls[1:])) == [("a blue bowl",), ("a cat that will explode",), ("a red car",)]
    # Failed items are not complete: the next run tries them again (and they fail again).
    again = run([source], out, seeds=[0], configs={"full": {"variant": "full"}})
    assert (again.done, again.skipped, again.failed) == (0, 2, 3)


@pytest.mark.slow
def test_batching_does_not_change_ids_rows_or_images(prompts, tmp_path, tiny_model):
    """The real tiny model, three prompts x two seeds one by one and three to a pipeline call: the same items, the
    same scores and the same images (each item has its own seeded generator; batched matrix products may differ in
    the last bits, so pixels may move by one level)."""
    folders = {}
    for batch_size in (1, 3):
        folders[batch_size] = tmp_path / f"batch{batch_size}"
        summary = run_ablation(
            [str(prompts)],
            folders[batch_size],
            variants=["full"],
            seeds=[4, 5],
            steps=2,
            height=64,
            width=64,
            accelerator="cpu",
            batch_size=batch_size,
            progress=False,
            model="tiny",
            model_loader=lambda device: tiny_model,
        )
        assert (summary.items, summary.done) == (6, 6)
    single, batched = rows(folders[1]), rows(folders[3])
    labels = ("id", "prompt", "seed", "variant", "status", "folder")
    assert [{k: r[k] for k in labels} for r in single] == [{k: r[k] for k in labels} for r in batched]
    for alone, together in zip(single, batched, strict=True):
        for key in ("leakage", "binding", "self_leakage"):
            if alone[key] is None:
                assert together[key] is None
            else:
                assert abs(alone[key] - together[key]) < 1e-3, (alone["prompt"], key)
        first, second = (
            np.asarray(Image.open(folder / alone["folder"] / "image.png"), dtype=np.int16)
            for folder in (folders[1], folders[3])
        )
        assert np.abs(first - second).max() <= 1, alone["prompt"]
        # The captured attention (which depends on the prompt's tokens) matches too.
        first, second = (AttentionRecord.load(folder / alone["folder"]) for folder in (folders[1], folders[3]))
        assert first.metadata_json()["token_ids"] == second.metadata_json()["token_ids"]
        assert all(torch.allclose(first.sums[k], second.sums[k], atol=1e-4) for k in first.sums)
    # Another seed gives another image, far beyond that tolerance, so a mixed-up generator would be caught.
    by_seed = {(r["prompt"], r["seed"]): folders[1] / r["folder"] / "image.png" for r in single}
    first, second = (np.asarray(Image.open(by_seed[("a blue bowl", seed)]), dtype=np.int16) for seed in (4, 5))
    assert np.abs(first - second).mean() > 10


def test_resuming_with_other_settings_is_refused(prompts, tmp_path):
    out = tmp_path / "run"
    run([prompts], out, seeds=[0])
    with pytest.raises(AttnmodError, match=r"other settings \(steps 4 -> 6\)"):
        run([prompts], out, seeds=[0], steps=6)
    # More seeds or variants are fine: a run can grow.
    summary = run([prompts], out, seeds=[0, 1])
    assert (summary.done, summary.skipped) == (6, 6)


def test_a_write_failure_fails_that_item_and_leaves_no_temporary_folder(prompts, tmp_path):
    out = tmp_path / "run"
    items = expand_items(load_sources([str(prompts)]), [0], ["none"])

    def save_or_break(generation, folder):
        fake_save(generation, folder)
        if generation.prompt == "a blue bowl":
            raise OSError("disk full (planted)")

    writer = AblationWriter(out, save_fn=save_or_break)
    results = predict_items(None, items, None, CONFIGS, fake_generate, fake_score, lambda m, p: PromptTree(p))
    written = [writer.write_result(r) for r in results]
    assert [r["status"] for r in written] == ["done", "failed", "done"]
    assert written[1]["error"] == "write: OSError: disk full (planted)"
    assert leftovers(out) == [p.name for p in out.glob("results-rank*.jsonl")] == ["results-rank0.jsonl"]
    assert not (out / "items" / items[1].id).exists()
    counts = merge_results(out, items, skipped=[])
    assert counts == {"items": 3, "done": 2, "skipped": 0, "failed": 1}
    assert leftovers(out) == []


def test_scan_deletes_stale_temporary_folders_and_sorts_items(prompts, tmp_path):
    out = tmp_path / "run"
    items = expand_items(load_sources([str(prompts)]), [0], ["none"])
    writer = AblationWriter(out, save_fn=fake_save)
    writer.write_result(ItemResult(items[0], "done", generation=FakeGeneration(items[0].prompt, 0, "none")))
    (out / "items" / f".tmp-{items[1].id}-4242").mkdir()
    scan = scan_run(out, items)
    assert [i.id for i in scan.complete] == [items[0].id]
    assert [i.id for i in scan.pending] == [items[1].id, items[2].id]
    assert scan.removed == [f".tmp-{items[1].id}-4242"]


def test_precision_maps_to_the_pipeline_dtype():
    assert resolve_precision("auto", gpu=False) == "float32"
    assert resolve_precision("32", gpu=False) == "float32"
    assert resolve_precision("16", gpu=True) == "float16"
    assert resolve_precision("bf16-mixed", gpu=True) == "bfloat16"
    with pytest.raises(AttnmodError, match="needs a GPU"):
        resolve_precision("16", gpu=False)
    with pytest.raises(AttnmodError, match="unknown precision"):
        resolve_precision("8", gpu=True)


# ---------------------------------------------------------------------------------------------- issue 30: resume checks


def test_resume_redoes_items_whose_files_were_cut_short_or_changed_after_they_were_written(prompts, tmp_path):
    out = tmp_path / "run"
    run([prompts], out, seeds=[0])
    items = expand_items(load_sources([str(prompts)]), [0], ["none", "full"])
    image = out / "items" / items[0].id / "image.png"
    image.write_bytes(image.read_bytes()[:40])  # cut short: still non-empty
    tensors = out / "items" / items[1].id / "attention.safetensors"
    tensors.write_bytes(tensors.read_bytes().replace(b"|", b"#"))  # same size, other bytes
    calls: list = []
    summary = run([prompts], out, seeds=[0], calls=calls)
    assert (summary.done, summary.skipped) == (2, 4)
    assert sorted(p for batch in calls for p in batch) == sorted([items[0].prompt, items[1].prompt])
    assert Image.open(image).size == (8, 8)


def test_items_from_before_checksums_are_checked_for_a_decodable_image_and_a_whole_tensor_file(tmp_path):
    from attnmod.lightning_modules.data import item_files_problem
    from safetensors.torch import save_file

    folder = tmp_path / "item"
    folder.mkdir()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(folder / "image.png")
    save_file({"cross/8x8/early": torch.ones(2, 8, 8)}, str(folder / "attention.safetensors"))
    assert item_files_problem(folder, {}) is None
    whole = (folder / "attention.safetensors").read_bytes()
    (folder / "attention.safetensors").write_bytes(whole[:-10])
    assert "not as long as its header says" in item_files_problem(folder, {})
    (folder / "attention.safetensors").write_bytes(whole)
    (folder / "image.png").write_bytes((folder / "image.png").read_bytes()[:30])
    assert "image.png does not decode" in item_files_problem(folder, {})


def save_with_steps(generation, folder: Path) -> None:
    """The fake save, with the steps in config.json as the real save writes them (the runs below use 4)."""
    fake_save(generation, folder)
    (folder / "config.json").write_text(json.dumps({"variant": generation.variant, "steps": 4}), encoding="utf-8")


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_a_damaged_run_json_never_lets_a_resume_mix_settings(damage, prompts, tmp_path):
    out = tmp_path / "run"
    run([prompts], out, seeds=[0], steps=4, save_fn=save_with_steps)
    run_json = out / "run.json"
    if damage == "deleted":
        run_json.unlink()
    else:
        run_json.write_bytes(run_json.read_bytes()[:25])
    before = sorted(p.name for p in (out / "items").iterdir())
    with pytest.raises(AttnmodError, match=r"holds item [0-9a-f]{12} made with other settings \(steps 4 -> 8\)"):
        run([prompts], out, seeds=[0], steps=8)
    assert sorted(p.name for p in (out / "items").iterdir()) == before
    # With the items' own settings the run goes on, and says that it rebuilt run.json.
    summary = run([prompts], out, seeds=[0], steps=4)
    assert (summary.done, summary.skipped) == (0, 6)
    assert summary.notes == [
        f"run.json was {'missing' if damage == 'deleted' else 'damaged'}: rebuilt from this command's settings, "
        "which the 6 item(s) on disk were made with"
    ]
    assert json.loads(run_json.read_text(encoding="utf-8"))["settings"]["steps"] == 4


def test_a_shapes_run_notes_the_prompts_with_words_outside_the_models_vocabulary():
    import types

    from attnmod.lightning_modules.run import _vocabulary_note

    items = [types.SimpleNamespace(prompt=p) for p in ("a red car", "a red circle", "a white sheep", "a red car")]
    note = _vocabulary_note("shapes", items)
    assert note.startswith("2 of 3 prompts have words outside the shapes model's vocabulary ('car', 'sheep');")
    assert _vocabulary_note("tiny", items) is None
    assert _vocabulary_note("shapes", items[1:2]) is None
