"""The foundation: tokenizer ids, the embedded pipelines, model loading errors and the CLI skeleton."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch


def test_tokenizer_reproduces_known_clip_ids(clip_tokenizer):
    ids = clip_tokenizer("a red car and a white sheep").input_ids
    assert ids == [49406, 320, 736, 1615, 537, 320, 1579, 9629, 49407]
    assert len(clip_tokenizer) == 49408
    assert clip_tokenizer.model_max_length == 77


def test_tokenizer_multi_piece_words_and_case(clip_tokenizer):
    # CLIP lower-cases; a rare word splits into several pieces; the end token closes the sequence.
    assert clip_tokenizer("A RED Car").input_ids == clip_tokenizer("a red car").input_ids
    pieces = clip_tokenizer("xylophonist").input_ids
    assert len(pieces) > 3 and pieces[0] == 49406 and pieces[-1] == 49407


def test_second_tokenizer_pads_with_exclamation_mark(tiny_model):
    first, second = tiny_model.tokenizers
    padded_1 = first("a red car", padding="max_length", max_length=77).input_ids
    padded_2 = second("a red car", padding="max_length", max_length=77).input_ids
    assert padded_1[:5] == padded_2[:5] == [49406, 320, 736, 1615, 49407]
    assert set(padded_1[5:]) == {49407}
    assert set(padded_2[5:]) == {0}
    assert second.convert_ids_to_tokens(0) == "!"


def test_tiny_pipeline_has_sdxl_structure(tiny_model):
    pipe = tiny_model.pipeline
    assert tiny_model.family == "sdxl"
    assert pipe.unet.config.addition_embed_type == "text_time"
    assert type(pipe.scheduler).__name__ == "EulerDiscreteScheduler"
    names = list(pipe.unet.attn_processors)
    assert len(names) == 24
    assert sum(n.endswith("attn2.processor") for n in names) == 12


def _generate(model, seed: int):
    return model.pipeline(
        "a red car and a white sheep",
        num_inference_steps=3,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(seed),
        output_type="np",
    ).images[0]


def test_same_seed_gives_the_same_image(tiny_model):
    first, second = _generate(tiny_model, 7), _generate(tiny_model, 7)
    other = _generate(tiny_model, 8)
    assert first.shape == (64, 64, 3)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_embedded_weights_are_seeded():
    from attnmod.toolkit.models.loading import build_tiny_sdxl

    first, second = build_tiny_sdxl(), build_tiny_sdxl()
    for (name, a), (_, b) in zip(first.unet.state_dict().items(), second.unet.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_tiny_sd_is_sd1_shaped(tiny_sd_model):
    assert tiny_sd_model.family == "sd"
    assert len(tiny_sd_model.tokenizers) == 1
    assert tiny_sd_model.pipeline.unet.config.addition_embed_type is None


def test_missing_local_path_is_a_clear_error(run_cli, tmp_path):
    result = run_cli("info", "--model", str(tmp_path / "no-such-model"))
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_a_misspelt_model_name_fails_at_once_without_asking_the_hub(run_cli, monkeypatch):
    from attnmod.toolkit.models import loading

    def no_hub(*args, **kwargs):
        raise AssertionError("the hub was asked for a name that is not a hub id")

    monkeypatch.setattr(loading, "_load_hub_id", no_hub)
    result = run_cli("info", "--model", "shapez")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: unknown model 'shapez': did you mean 'shapes'? the embedded")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_hub_id_is_a_clear_error(run_cli):
    result = run_cli("info", "--model", "nobody-here/not-a-model")
    assert result.exit_code == 1
    assert "could not load model 'nobody-here/not-a-model'" in result.stderr
    assert "Traceback" not in result.stderr


def test_pickle_checkpoint_is_refused_by_default(run_cli, tmp_path):
    checkpoint = tmp_path / "model.ckpt"
    torch.save({"state_dict": {}}, checkpoint)
    result = run_cli("info", "--model", str(checkpoint))
    assert result.exit_code == 1
    assert "refusing to load" in result.stderr and "--allow-pickle" in result.stderr


def test_folder_without_model_index_is_refused(run_cli, tmp_path):
    result = run_cli("info", "--model", str(tmp_path))
    assert result.exit_code == 1
    assert "model_index.json" in result.stderr


def test_bad_device_is_a_user_error(run_cli):
    result = run_cli("info", "--model", "tiny", "--device", "cuda:7")
    assert result.exit_code == 1
    assert "error:" in result.stderr


def test_info_json_lists_attention_modules(run_cli):
    import json

    result = run_cli("info", "--model", "tiny", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["family"] == "sdxl" and payload["dtype"] == "float32"
    assert payload["attention_modules"]["mid_block.attentions.0.transformer_blocks.0.attn2"] == "cross"


@pytest.mark.slow
def test_console_script_help_lists_subcommands_without_heavy_imports():
    code = (
        "import sys; from attnmod.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'diffusers', 'spacy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for command in ("parse", "generate", "diagnose", "ablate", "report", "attribute"):
        assert command in out
    assert "HEAVY []" in out


def test_version(run_cli):
    from attnmod import __version__

    result = run_cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout
