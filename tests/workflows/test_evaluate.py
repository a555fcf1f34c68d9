"""`attnmod evaluate`: CLIP score, FID and preference scores of a run, from local evaluator models only.

The evaluator models are tiny random ones built here and saved to a temporary folder (a CLIPModel with the real
CLIP tokenizer, a TorchScript "Inception-like" feature network), then loaded by path like real weights would be.
Their numbers mean nothing about images; the tests check the wiring against manual computations with the same
models, and planted answers (FID of a set against itself, FID against a shifted mean).
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from attnmod.analysis.evaluate import provenance_warnings
from attnmod.analysis.fid import FeatureStatistics, feature_statistics, load_feature_model
from attnmod.analysis.image_metrics import bootstrap_mean_interval, clip_backbone_name
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.run_files import EVALUATION_FILE, REFERENCE_STATS_FILE
from attnmod.workflows import evaluate_run, read_results
from PIL import Image

PROMPTS = [
    "a red cube and a blue sphere",
    "a cat wearing a green hat next to a dog",
    "two yellow birds on a wooden fence",
]
# 120 tokens between the start and end tokens: CLIP's context holds 75.
_SENTENCE = "a small red cube beside a large blue sphere on a wooden table in a bright room"
LONG_PROMPT = " ".join((_SENTENCE.split() * 8)[:120])  # every word here is one CLIP token
SEEDS = [0, 1]
VARIANTS = ["none", "full"]
FID_SIZE = 32


# ------------------------------------------------------------------------------------ evaluator models


def _image_processor():
    try:
        from transformers import CLIPImageProcessorPil as processor_class
    except ImportError:  # transformers 4.x has one CLIP image processor
        from transformers import CLIPImageProcessor as processor_class
    return processor_class(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})


def _save_tiny_clip(folder: Path, seed: int, logit_scale: float | None = None) -> Path:
    from attnmod.toolkit.prompt.tokenizer import build_clip_tokenizer
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    text = dict(
        vocab_size=49408,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )
    vision = dict(
        hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8
    )
    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval()
    if logit_scale is not None:
        with torch.no_grad():
            model.logit_scale.fill_(math.log(logit_scale))
    model.save_pretrained(folder)
    CLIPProcessor(image_processor=_image_processor(), tokenizer=build_clip_tokenizer()).save_pretrained(folder)
    return folder


class TinyInceptionLike(torch.nn.Module):
    """Two strided convolutions and a global average pool: uint8 [N, 3, H, W] -> [N, 16] features."""

    def __init__(self):
        super().__init__()
        self.first = torch.nn.Conv2d(3, 8, 3, stride=2)
        self.second = torch.nn.Conv2d(8, 16, 3, stride=2)

    def forward(self, images: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = images.float() / 255.0
        x = torch.relu(self.second(torch.relu(self.first(x))))
        return x.mean(dim=(2, 3))


@pytest.fixture(scope="module")
def evaluators(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluators")
    torch.manual_seed(3)
    feature_file = root / "tiny-inception.pt"
    torch.jit.script(TinyInceptionLike().eval()).save(str(feature_file))
    return {
        "clip": str(_save_tiny_clip(root / "clip", seed=1)),
        "reward": str(_save_tiny_clip(root / "reward", seed=2, logit_scale=20.0)),
        "fid": str(feature_file),
    }


# ---------------------------------------------------------------------------------------- planted runs


def _planted_image(variant: str, prompt_index: int, seed: int) -> Image.Image:
    """ "none" images are dark noise, "full" images bright noise with a stripe: two distributions FID can tell."""
    rng = np.random.default_rng(100 * prompt_index + seed)
    pixels = rng.integers(0, 100, size=(48, 48, 3)) if variant == "none" else rng.integers(120, 256, size=(48, 48, 3))
    if variant == "full":
        pixels[:, 20:28, prompt_index % 3] = 0
    return Image.fromarray(pixels.astype(np.uint8))


def make_run(root: Path, prompts=(*PROMPTS, LONG_PROMPT), extra_rows=()) -> Path:
    """A run folder as `attnmod ablate` writes it: 4 prompts x 2 seeds x 2 variants = 16 items."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for prompt_index, prompt in enumerate(prompts):
        for seed in SEEDS:
            for variant in VARIANTS:
                item_id = f"p{prompt_index}-s{seed}-{variant}"
                folder = root / "items" / item_id
                folder.mkdir(parents=True)
                _planted_image(variant, prompt_index, seed).save(folder / "image.png")
                rows.append(
                    {
                        "id": item_id,
                        "prompt": prompt,
                        "seed": seed,
                        "variant": variant,
                        "status": "done",
                        "folder": f"items/{item_id}",
                        "error": None,
                        "seconds": 0.5,
                        "leakage": 0.25 + 0.01 * prompt_index,
                        "binding": float("nan") if prompt_index == 2 else 0.5,
                    }
                )
    rows.extend(extra_rows)
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


def _rows_by_id(run: Path) -> dict[str, dict]:
    return {row["id"]: row for row in read_results(run)}


# --------------------------------------------------------------------------------- manual computations


@functools.lru_cache(maxsize=4)
def _reference_clip(folder: str):
    from transformers import CLIPModel, CLIPProcessor

    return CLIPModel.from_pretrained(folder, local_files_only=True).eval(), CLIPProcessor.from_pretrained(folder)


def manual_clip_cosines(folder: str, image_paths: list[Path], captions: list[str]) -> list[float]:
    """cos(E_image, E_caption) per pair with the model loaded by plain transformers, each caption cut by hand to
    start + 75 tokens + end and padded with the end token (CLIP pools the first end token)."""
    model, processor = _reference_clip(folder)
    rows = []
    for caption in captions:
        ids = processor.tokenizer(caption, verbose=False)["input_ids"]
        if len(ids) > 77:
            ids = ids[:76] + [ids[-1]]
        rows.append(ids)
    width = max(len(ids) for ids in rows)
    input_ids = torch.tensor([ids + [49407] * (width - len(ids)) for ids in rows])
    attention_mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in rows])
    images = [Image.open(path).convert("RGB") for path in image_paths]
    with torch.no_grad():
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        image = model.get_image_features(pixel_values=pixels)
        text = model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
    image = image if isinstance(image, torch.Tensor) else image.pooler_output
    text = text if isinstance(text, torch.Tensor) else text.pooler_output
    return torch.nn.functional.cosine_similarity(image, text).tolist()


# ------------------------------------------------------------------------------------------ the tests


def test_long_prompt_is_longer_than_the_clip_context(clip_tokenizer):
    ids = clip_tokenizer(LONG_PROMPT, verbose=False)["input_ids"]
    assert len(ids) - 2 == 120


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, evaluators):
    """The 16-item planted run evaluated once with all three scores; FID reference = the "none" images.

    Tests that use it only read it."""
    root = tmp_path_factory.mktemp("evaluated")
    run = make_run(root / "run")
    reference = root / "reference"
    reference.mkdir()
    for row in read_results(run):
        if row["variant"] == "none":
            shutil.copy(run / row["folder"] / "image.png", reference / f"{row['id']}.png")
    summary = evaluate_run(
        run,
        clip_model=evaluators["clip"],
        reward_model=evaluators["reward"],
        fid_reference=reference,
        fid_model=evaluators["fid"],
        fid_image_size=FID_SIZE,
        device="cpu",
        resamples=300,
    )
    return {"run": run, "summary": summary, "rows": read_results(run)}


def test_clip_scores_match_a_manual_computation_and_long_captions_are_cut_and_counted(evaluated, evaluators):
    run, summary, rows = evaluated["run"], evaluated["summary"], evaluated["rows"]
    assert len(rows) == 16
    cosines = manual_clip_cosines(
        evaluators["clip"], [run / r["folder"] / "image.png" for r in rows], [r["prompt"] for r in rows]
    )
    positives = 0
    for row, cosine in zip(rows, cosines, strict=True):
        assert row["clip_score"] == pytest.approx(100 * max(cosine, 0.0), abs=1e-3)
        assert row["clip_truncated"] is (row["prompt"] == LONG_PROMPT)
        positives += cosine > 0
    # Random weights: the planted items must exercise both sides of the clamp at 0 for this test to mean much.
    assert 0 < positives < 16
    assert summary["truncated_captions"] == 4
    assert {v: s["clip_truncated"] for v, s in summary["variants"].items()} == {"none": 2, "full": 2}


def test_per_variant_summary_aggregates_the_rows(evaluated, evaluators):
    run, summary, rows = evaluated["run"], evaluated["summary"], evaluated["rows"]
    assert json.loads((run / EVALUATION_FILE).read_text()) == summary
    assert list(summary["variants"]) == ["none", "full"]
    for variant in VARIANTS:
        scores = summary["variants"][variant]
        assert scores["n"] == 8
        for field in ("clip_score", "reward"):
            values = [r[field] for r in rows if r["variant"] == variant]
            interval = scores[field]
            assert interval["n"] == 8
            assert interval["mean"] == pytest.approx(sum(values) / 8)
            assert min(values) <= interval["low"] <= interval["mean"] <= interval["high"] <= max(values)
    assert summary["clip_model"] == evaluators["clip"]
    assert summary["clip_backbone"] == "ViT(width=32, layers=2)/8@32px"
    assert summary["reward_model"] == evaluators["reward"] and summary["reward_kind"] == "clip-preference"
    assert summary["fid_feature_model"] == evaluators["fid"]
    assert summary["items_scored"] == 16 and summary["items_skipped"] == 0


def test_reward_is_the_preference_models_scaled_cosine(evaluated, evaluators):
    rows = evaluated["rows"]
    cosines = manual_clip_cosines(
        evaluators["reward"], [evaluated["run"] / r["folder"] / "image.png" for r in rows], [r["prompt"] for r in rows]
    )
    for row, cosine in zip(rows, cosines, strict=True):
        assert row["reward"] == pytest.approx(20.0 * cosine, abs=1e-3)  # exp(logit_scale) planted at 20


def test_results_are_rewritten_in_place_keeping_other_fields_and_order(tmp_path, evaluators):
    failed = {"id": "p9-s0-full", "prompt": "x", "seed": 0, "variant": "full", "status": "failed", "error": "OOM"}
    run = make_run(tmp_path / "run", prompts=PROMPTS, extra_rows=[failed])
    before = read_results(run)
    evaluate_run(run, clip_model=evaluators["clip"], reward_model=evaluators["reward"], device="cpu", resamples=50)
    after = read_results(run)
    assert [r["id"] for r in after] == [r["id"] for r in before]
    for old, new in zip(before, after, strict=True):
        for key, value in old.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(new[key])
            else:
                assert new[key] == value
    assert "clip_score" not in after[-1] and after[-1]["error"] == "OOM"
    assert all("reward" in r for r in after[:-1])
    # Evaluating again without a reward model drops the stale reward values; no temporary file is left behind.
    summary = evaluate_run(run, clip_model=evaluators["clip"], device="cpu", resamples=50)
    assert not any("reward" in r for r in read_results(run))
    assert summary["items_skipped"] == 1 and summary["variants"]["full"]["reward"] is None
    assert summary["variants"]["full"]["fid"] is None and summary["fid_feature_model"] is None
    assert sorted(p.name for p in run.iterdir()) == ["evaluation.json", "items", "results.jsonl"]


def test_fid_of_a_set_against_itself_is_zero_and_reference_statistics_are_reusable(tmp_path, evaluated, evaluators):
    summary = evaluated["summary"]
    fid_same = summary["variants"]["none"]["fid"]
    fid_other = summary["variants"]["full"]["fid"]
    assert abs(fid_same) < 1e-6 and fid_other > 1e-3
    assert summary["fid_reference_images"] == 8
    assert summary["variants"]["full"]["fid_images"] == 8
    assert any("biased upward" in w for w in summary["warnings"])  # 8 images per variant, 16 features
    stats_file = evaluated["run"] / REFERENCE_STATS_FILE
    assert summary["fid_reference_stats"] == str(stats_file)
    # The saved reference statistics stand in for the folder: same images, same FID.
    again = evaluate_run(
        make_run(tmp_path / "run"),
        clip_model=evaluators["clip"],
        fid_reference=stats_file,
        fid_model=evaluators["fid"],
        fid_image_size=FID_SIZE,
        device="cpu",
        resamples=50,
    )
    assert again["variants"]["full"]["fid"] == pytest.approx(fid_other, rel=1e-9)
    assert again["fid_reference_images"] == 8 and again["fid_reference_stats"] is None
    # The saved statistics say how they were made; a mismatch with a later evaluation is reported.
    provenance = FeatureStatistics.load(stats_file).provenance
    assert provenance == {"image_size": str(FID_SIZE), "feature_model": evaluators["fid"]}
    assert not any("reference statistics were computed" in w for w in again["warnings"])
    mismatch = provenance_warnings(provenance, "/elsewhere/inception-2015-12-05.pt", 299)
    assert len(mismatch) == 2 and "image size 32" in mismatch[0] and "tiny-inception.pt" in mismatch[1]


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_fid_against_planted_statistics_is_the_squared_mean_shift(tmp_path, evaluators, suffix):
    """Reference = the generated set's Gaussian with its mean moved by delta: FID = |delta|^2 exactly."""
    run = make_run(tmp_path / "run", prompts=PROMPTS[:2])
    extractor = load_feature_model(evaluators["fid"], image_size=FID_SIZE)
    full_images = [run / r["folder"] / "image.png" for r in read_results(run) if r["variant"] == "full"]
    generated = feature_statistics(extractor, full_images, image_size=FID_SIZE, batch_size=3)
    delta = torch.linspace(-0.5, 0.5, generated.dimension, dtype=torch.float64)
    planted = FeatureStatistics(generated.mean + delta, generated.covariance.clone(), count=5000)
    stats_path = planted.save(tmp_path / f"reference{suffix}")
    summary = evaluate_run(
        run,
        clip_model=evaluators["clip"],
        fid_reference=stats_path,
        fid_model=evaluators["fid"],
        fid_image_size=FID_SIZE,
        device="cpu",
        resamples=50,
    )
    assert summary["variants"]["full"]["fid"] == pytest.approx(float(delta.square().sum()), rel=1e-4)
    assert summary["variants"]["none"]["fid"] > summary["variants"]["full"]["fid"]
    assert summary["fid_reference_images"] == 5000


def test_feature_statistics_match_numpy(tmp_path, evaluators):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:2])
    paths = [run / r["folder"] / "image.png" for r in read_results(run)]
    extractor = load_feature_model(evaluators["fid"], image_size=FID_SIZE)
    stats = feature_statistics(extractor, paths, image_size=FID_SIZE, batch_size=3)
    network = torch.jit.load(evaluators["fid"])
    batch = torch.stack(
        [
            torch.from_numpy(
                np.array(Image.open(p).convert("RGB").resize((FID_SIZE, FID_SIZE), Image.Resampling.BICUBIC))
            ).permute(2, 0, 1)
            for p in paths
        ]
    )
    with torch.no_grad():
        features = network(batch).double().numpy()
    assert stats.count == 8
    np.testing.assert_allclose(stats.mean.numpy(), features.mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(stats.covariance.numpy(), np.cov(features, rowvar=False), rtol=1e-4, atol=1e-8)


def test_a_torch_export_feature_model_gives_the_same_statistics(tmp_path, evaluators):
    torch.manual_seed(3)  # the same weights as the TorchScript file of the fixture
    network = TinyInceptionLike().eval()
    program = torch.export.export(
        network,
        (torch.zeros(2, 3, FID_SIZE, FID_SIZE, dtype=torch.uint8),),
        dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
    )
    exported = tmp_path / "tiny-inception.pt2"
    torch.export.save(program, str(exported))
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    paths = [run / r["folder"] / "image.png" for r in read_results(run)]
    from_export = feature_statistics(load_feature_model(exported, image_size=FID_SIZE), paths, FID_SIZE)
    from_script = feature_statistics(load_feature_model(evaluators["fid"], image_size=FID_SIZE), paths, FID_SIZE)
    assert from_export.dimension == 16 and from_export.count == 4
    torch.testing.assert_close(from_export.mean, from_script.mean)
    torch.testing.assert_close(from_export.covariance, from_script.covariance)


def test_cli_writes_scores_and_summary(tmp_path, evaluators, run_cli):
    run = make_run(tmp_path / "run")
    reference = FeatureStatistics(torch.zeros(16, dtype=torch.float64), torch.eye(16, dtype=torch.float64), 100)
    stats = reference.save(tmp_path / "ref.safetensors")
    result = run_cli(
        "evaluate",
        str(run),
        "--clip-model",
        evaluators["clip"],
        "--fid-reference",
        str(stats),
        "--fid-model",
        evaluators["fid"],
        "--fid-image-size",
        str(FID_SIZE),
        "--reward-model",
        evaluators["reward"],
        "--device",
        "cpu",
        "--resamples",
        "100",
    )
    assert result.exit_code == 0, result.output
    assert "none" in result.stdout and "full" in result.stdout
    assert "4 caption(s) longer than 77 tokens were truncated" in result.stdout
    summary = json.loads((run / EVALUATION_FILE).read_text())
    assert set(summary["variants"]["full"]) >= {"clip_score", "fid", "reward"}
    assert set(summary["variants"]["full"]["clip_score"]) == {"mean", "low", "high", "n"}
    assert all(isinstance(summary["variants"][v]["fid"], float) for v in VARIANTS)
    assert all("clip_score" in row and "reward" in row for row in read_results(run))
    as_json = run_cli("evaluate", str(run), "--clip-model", evaluators["clip"], "--device", "cpu", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["variants"]["none"]["n"] == 8


# ------------------------------------------------------------------------------------------ error paths


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly on any attempt to open a network connection; records the attempts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def _expect_user_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and len(message.splitlines()) == 1
    for fragment in fragments:
        assert fragment in message
    return message


def test_clip_model_missing_from_the_cache_fails_without_any_download(tmp_path, run_cli, no_network):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    result = run_cli("evaluate", str(run), "--clip-model", "attnmod-tests/no-such-clip", "--device", "cpu")
    _expect_user_error(result, "'attnmod-tests/no-such-clip'", "local Hugging Face cache", "hf download")
    assert no_network == []
    assert not (run / EVALUATION_FILE).exists()
    assert all("clip_score" not in row for row in read_results(run))


def test_missing_local_clip_folder_is_named(tmp_path, run_cli, no_network):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    missing = str(tmp_path / "models" / "clip-vit-l-14")
    result = run_cli("evaluate", str(run), "--clip-model", missing, "--device", "cpu")
    _expect_user_error(result, missing, "does not exist", "save_pretrained")
    assert no_network == []


def test_clip_folder_without_processor_files(tmp_path, evaluators, run_cli):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    weights_only = tmp_path / "weights-only"
    weights_only.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(Path(evaluators["clip"]) / name, weights_only / name)
    result = run_cli("evaluate", str(run), "--clip-model", str(weights_only), "--device", "cpu")
    _expect_user_error(result, "no usable processor", "preprocessor_config.json")


def test_non_clip_folder_is_refused(tmp_path, run_cli):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    result = run_cli("evaluate", str(run), "--clip-model", str(folder), "--device", "cpu")
    _expect_user_error(result, "holds a 'bert' model", "not a CLIP model")


def test_fid_reference_needs_a_local_feature_model(tmp_path, evaluators, run_cli, monkeypatch, no_network):
    monkeypatch.delenv("ATTNMOD_FID_MODEL", raising=False)
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    stats = FeatureStatistics(torch.zeros(16, dtype=torch.float64), torch.eye(16, dtype=torch.float64), 10)
    stats_path = stats.save(tmp_path / "ref.npz")
    base = ["evaluate", str(run), "--clip-model", evaluators["clip"], "--device", "cpu"]
    _expect_user_error(run_cli(*base, "--fid-reference", str(stats_path)), "--fid-model", "nothing is downloaded")
    missing = str(tmp_path / "inception-2015-12-05.pt")
    message = _expect_user_error(
        run_cli(*base, "--fid-reference", str(stats_path), "--fid-model", missing), missing, "does not exist"
    )
    assert "TorchScript" in message
    # A bare state dict is not a network: it is refused, not unpickled.
    state_dict = tmp_path / "weights.pt"
    torch.save(TinyInceptionLike().state_dict(), state_dict)
    _expect_user_error(
        run_cli(*base, "--fid-reference", str(stats_path), "--fid-model", str(state_dict)),
        "neither a TorchScript archive",
    )
    # A network that cannot take uint8 images is caught by the probe, with the shape it was given.
    float_only = tmp_path / "float-only.pt"
    torch.jit.script(torch.nn.Conv2d(3, 4, 3)).save(str(float_only))
    _expect_user_error(
        run_cli(*base, "--fid-reference", str(stats_path), "--fid-model", str(float_only), "--fid-image-size", "32"),
        "failed on a uint8 batch [1, 3, 32, 32]",
    )
    assert no_network == []
    # The feature model named by the environment is used when --fid-model is absent.
    monkeypatch.setenv("ATTNMOD_FID_MODEL", evaluators["fid"])
    result = run_cli(*base, "--fid-reference", str(stats_path), "--fid-image-size", str(FID_SIZE))
    assert result.exit_code == 0, result.output


def test_fid_statistics_errors(tmp_path, evaluators, run_cli):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    base = ["evaluate", str(run), "--clip-model", evaluators["clip"], "--fid-model", evaluators["fid"]]
    base += ["--device", "cpu", "--fid-image-size", str(FID_SIZE)]
    wrong = FeatureStatistics(torch.zeros(5, dtype=torch.float64), torch.eye(5, dtype=torch.float64), 10)
    _expect_user_error(
        run_cli(*base, "--fid-reference", str(wrong.save(tmp_path / "five.npz"))), "5 features", "gives 16"
    )
    np.savez(tmp_path / "no-sigma.npz", mu=np.zeros(16))
    _expect_user_error(run_cli(*base, "--fid-reference", str(tmp_path / "no-sigma.npz")), "lacks sigma")
    _expect_user_error(run_cli(*base, "--fid-reference", str(tmp_path / "nowhere")), "does not exist")
    (tmp_path / "notes.txt").write_text("x")
    _expect_user_error(run_cli(*base, "--fid-reference", str(tmp_path / "notes.txt")), "not statistics")


def test_reward_model_errors(tmp_path, evaluators, run_cli):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    base = ["evaluate", str(run), "--clip-model", evaluators["clip"], "--device", "cpu"]
    _expect_user_error(run_cli(*base, "--reward-model", str(tmp_path / "nope")), "does not exist")
    image_reward = tmp_path / "ImageReward"
    image_reward.mkdir()
    (image_reward / "med_config.json").write_text("{}")
    _expect_user_error(run_cli(*base, "--reward-model", str(image_reward)), "ImageReward's BLIP checkpoint")
    (tmp_path / "ImageReward.pt").write_bytes(b"not read")
    _expect_user_error(run_cli(*base, "--reward-model", str(tmp_path / "ImageReward.pt")), "ImageReward's BLIP")
    (tmp_path / "scores.bin").write_bytes(b"not read")
    _expect_user_error(run_cli(*base, "--reward-model", str(tmp_path / "scores.bin")), "is a file")


def test_run_folder_errors(tmp_path, evaluators, run_cli):
    base = ["--clip-model", evaluators["clip"], "--device", "cpu"]
    _expect_user_error(run_cli("evaluate", str(tmp_path / "none"), *base), "does not exist")
    (tmp_path / "empty").mkdir()
    _expect_user_error(run_cli("evaluate", str(tmp_path / "empty"), *base), "results.jsonl", "attnmod ablate")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "results.jsonl").write_text('{"id": "a"}\n{not json\n')
    _expect_user_error(run_cli("evaluate", str(broken), *base), "no finished items")
    only_failed = tmp_path / "failed"
    only_failed.mkdir()
    (only_failed / "results.jsonl").write_text(json.dumps({"id": "a", "status": "failed"}) + "\n")
    _expect_user_error(run_cli("evaluate", str(only_failed), *base), "no finished items")


def test_items_without_an_image_are_skipped_with_a_warning(tmp_path, evaluators):
    run = make_run(tmp_path / "run", prompts=PROMPTS[:1])
    (run / "items" / "p0-s1-full" / "image.png").unlink()
    (run / "run.json").write_text(json.dumps({"status": "running"}))
    summary = evaluate_run(run, clip_model=evaluators["clip"], device="cpu", resamples=20)
    assert summary["items_scored"] == 3 and summary["items_skipped"] == 1
    assert any("p0-s1-full" in w and "missing" in w for w in summary["warnings"])
    assert any("still running" in w for w in summary["warnings"])
    assert "clip_score" not in _rows_by_id(run)["p0-s1-full"]


# -------------------------------------------------------------------------------------- pure functions


def test_bootstrap_interval_of_constant_values_is_a_point():
    assert bootstrap_mean_interval([2.5] * 7) == {"mean": 2.5, "low": 2.5, "high": 2.5, "n": 7}


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    values = [0.0, 10.0] * 20 + [float("nan")]
    interval = bootstrap_mean_interval(values, resamples=2000, confidence=0.9, seed=4)
    assert interval["n"] == 40 and interval["mean"] == pytest.approx(5.0)
    # The mean of 40 fair 0/10 draws has standard deviation 5 / sqrt(40) ~ 0.79: a 90% interval spans ~ +-1.3.
    assert 3.0 < interval["low"] < 5.0 < interval["high"] < 7.0
    assert bootstrap_mean_interval(values, resamples=2000, confidence=0.9, seed=4) == interval
    wider = bootstrap_mean_interval(values, resamples=2000, confidence=0.99, seed=4)
    assert wider["low"] < interval["low"] and wider["high"] > interval["high"]
    assert bootstrap_mean_interval([]) == {"mean": None, "low": None, "high": None, "n": 0}
    with pytest.raises(AttnmodError):
        bootstrap_mean_interval([1.0], confidence=1.5)


def test_clip_backbone_names_follow_the_clip_releases():
    from transformers import CLIPConfig

    def named(width, layers, patch, size=224):
        vision = dict(
            hidden_size=width, num_hidden_layers=layers, num_attention_heads=16, patch_size=patch, image_size=size
        )
        return clip_backbone_name(CLIPConfig(vision_config=vision))

    assert named(768, 12, 32) == "ViT-B/32"
    assert named(1024, 24, 14) == "ViT-L/14"
    assert named(1024, 24, 14, 336) == "ViT-L/14@336px"
    assert named(1280, 32, 14) == "ViT-H/14"


@pytest.mark.slow
def test_run_report_shows_the_evaluation_table(tmp_path, evaluated):
    """The reports side reads evaluation.json: variant x (FID, CLIP score, reward, leakage, binding) with CIs."""
    from attnmod.reports.run_report import write_run_report

    [page] = write_run_report(evaluated["run"], out_dir=tmp_path / "report", formats=("html",))
    text = page.read_text(encoding="utf-8")
    assert "FID" in text and "CLIP score" in text and "reward" in text
    for variant in VARIANTS:
        scores = evaluated["summary"]["variants"][variant]
        assert f"{scores['clip_score']['mean']:.3f}" in text
        assert f"{scores['reward']['low']:.3f}" in text


def test_rows_of_a_coco_ablation_keep_every_field_and_gain_the_scores(tmp_path, evaluators, run_cli):
    """The run is laid out by the ablation code itself (COCO caption loader, item ids, row builder), with planted
    images in place of generation: rows with category, source, metadata and null metrics."""
    from attnmod.lightning_modules.data import expand_items, load_source
    from attnmod.lightning_modules.writer import item_row

    captions = tmp_path / "captions.csv"
    captions.write_text(
        "file_name,text\n"
        "COCO_val2014_000000000042.jpg,a red cube and a blue sphere\n"
        f"COCO_val2014_000000000073.jpg,{LONG_PROMPT}\n"
    )
    items = expand_items(load_source(f"coco:{captions}"), seeds=[0, 1], variants=VARIANTS)
    run = tmp_path / "run"
    rows = []
    for number, item in enumerate(items):
        (run / item.folder).mkdir(parents=True)
        _planted_image(item.variant, number % 3, item.seed).save(run / item.folder / "image.png")
        summary = {"leakage": 0.3, "binding": None, "misbound": 0.0, "leakage_early": 0.4}
        rows.append(item_row(item, "done", None, 0.25, summary))
    (run / "results.jsonl").write_text("".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))
    result = run_cli("evaluate", str(run), "--clip-model", evaluators["clip"], "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {v: s["n"] for v, s in summary["variants"].items()} == {"none": 4, "full": 4}
    assert summary["truncated_captions"] == 4
    after = read_results(run)
    assert [r["category"] for r in after] == ["coco"] * 8
    for old, new in zip(rows, after, strict=True):
        assert {k: v for k, v in new.items() if k not in ("clip_score", "clip_truncated")} == old
        assert 0.0 <= new["clip_score"] <= 100.0
        assert new["clip_truncated"] is (new["prompt"] == LONG_PROMPT)


def test_evaluation_intervals_resample_prompts_with_all_their_seeds():
    from attnmod.analysis.evaluate import RunItem, variant_scores
    from attnmod.analysis.judge.evaluation import JUDGE_FIELDS

    # two prompts x 3 seeds: every image of the first is all correct, none of the second; a seventh image of a third
    # prompt lacks a verdict (not judged)
    members = [RunItem(i, f"item{i}", "ab"[i // 3] if i < 6 else "c", "full", Path(f"{i}.png")) for i in range(7)]
    judged = {i: {field: float(i < 3) for field in JUDGE_FIELDS} for i in range(6)}
    clip = {i: 20.0 + (i < 3) for i in range(7)}
    scores = variant_scores(members, clip, None, None, judged, None, resamples=1000, confidence=0.95, seed=0)
    # two independent prompts: resampled means 0, 0.5 or 1 -> [0, 1]; six images one by one would give ~[0.17, 0.83]
    assert scores["judge"]["judge_all_correct"] == {"mean": 0.5, "low": 0.0, "high": 1.0, "n": 6}
    assert bootstrap_mean_interval([1.0] * 3 + [0.0] * 3)["low"] > 0.0
    clip_interval = scores["clip_score"]  # three prompts of sizes 3, 3, 1: a resample holds 20 to 21 only
    assert clip_interval["n"] == 7 and clip_interval["mean"] == pytest.approx(20 + 3 / 7)
    assert clip_interval["low"] == pytest.approx(20.0) and clip_interval["high"] == pytest.approx(21.0)


def test_a_clip_folder_with_only_pickle_weights_is_refused_unless_allowed(tmp_path, run_cli):
    run = make_run(tmp_path / "run")
    clip = tmp_path / "pickled-clip"
    clip.mkdir()
    (clip / "config.json").write_text(json.dumps({"model_type": "clip"}), encoding="utf-8")
    (clip / "pytorch_model.bin").write_bytes(b"not even read")
    result = run_cli("evaluate", str(run), "--clip-model", str(clip))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "refusing to load the CLIP model's weights" in result.stderr and "--allow-pickle" in result.stderr
    assert not (run / "evaluation.json").exists()
