"""The shapes model's noise schedule travels in its config.json (older folders without one get SDXL's), and
`world train --vae-from` reuses a trained VAE instead of fitting one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file


def _terminal_alpha_bar(beta_start: float, beta_end: float) -> float:
    # scaled-linear betas: linear in sqrt(beta), 1000 steps; computed here without diffusers
    betas = np.linspace(beta_start**0.5, beta_end**0.5, 1000, dtype=np.float64) ** 2
    return float(np.prod(1.0 - betas))


@pytest.fixture(scope="module")
def smoke_folder(tmp_path_factory):
    from attnmod.toolkit.models import shapes as shapes_model

    torch.manual_seed(0)
    configs = shapes_model.component_configs("smoke")
    components = shapes_model.build_components(configs)
    folder = tmp_path_factory.mktemp("smoke-weights")
    shapes_model.save_shapes_weights(components, configs, folder, dtype="float32")
    return folder


def test_presets_end_lower_in_signal_than_sdxl_and_sample_from_the_last_step(smoke_folder):
    from attnmod.toolkit.models import shapes as shapes_model

    config = json.loads((smoke_folder / "config.json").read_text())
    assert config["scheduler"]["beta_end"] == 0.02 and config["scheduler"]["timestep_spacing"] == "trailing"
    pipe = shapes_model.load_shapes_pipeline(smoke_folder)
    expected = _terminal_alpha_bar(0.00085, 0.02)
    assert float(pipe.scheduler.alphas_cumprod[-1]) == pytest.approx(expected, rel=1e-3)
    assert expected < _terminal_alpha_bar(0.00085, 0.012) / 10
    pipe.scheduler.set_timesteps(25)
    assert int(pipe.scheduler.timesteps[0]) == 999


def test_a_folder_without_a_schedule_loads_with_sdxls(smoke_folder, tmp_path):
    from attnmod.toolkit.models import shapes as shapes_model

    for name in ("config.json", "shapes.safetensors"):
        (tmp_path / name).write_bytes((smoke_folder / name).read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    del config["scheduler"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    pipe = shapes_model.load_shapes_pipeline(tmp_path)
    assert float(pipe.scheduler.alphas_cumprod[-1]) == pytest.approx(_terminal_alpha_bar(0.00085, 0.012), rel=1e-3)
    pipe.scheduler.set_timesteps(25)
    assert int(pipe.scheduler.timesteps[0]) == 961  # SDXL's "leading" spacing with offset 1


def test_vae_from_copies_the_trained_vae_and_skips_stage_one(smoke_folder, tmp_path, run_cli):
    out = tmp_path / "run"
    arguments = ["world", "train", "--out", str(out), "--preset", "smoke", "--unet-steps", "2", "--batch-size", "2"]
    arguments += ["--workers", "0", "--samples", "0", "--accelerator", "cpu", "--no-progress"]
    result = run_cli(*arguments, "--vae-from", str(smoke_folder))
    assert result.exit_code == 0, result.output
    assert not (out / "vae").exists()  # no VAE training folder: stage 1 did not run
    source = {k[len("vae.") :]: v for k, v in load_file(str(smoke_folder / "shapes.safetensors")).items()}
    source = {k: v for k, v in source.items() if k.startswith(("encoder.", "decoder.", "quant", "post_quant"))}
    copied = load_file(str(out / "vae.safetensors"))
    assert set(copied) == set(source)
    assert all(torch.equal(copied[k], source[k].float()) for k in source)
    exported = load_file(str(out / "weights" / "shapes.safetensors"))
    assert torch.equal(
        exported["vae.decoder.conv_out.weight"].float(), source["decoder.conv_out.weight"].half().float()
    )


def test_vae_from_another_architecture_is_a_one_line_error(smoke_folder, tmp_path, run_cli):
    result = run_cli("world", "train", "--out", str(tmp_path / "run"), "--vae-from", str(smoke_folder))
    assert result.exit_code == 1
    assert "another configuration" in result.output and "Traceback" not in result.output
    missing = run_cli("world", "train", "--out", str(tmp_path / "run2"), "--vae-from", str(tmp_path / "nothing"))
    assert missing.exit_code == 1 and "not a shapes weights folder" in missing.output


def test_the_v_target_is_diffusers_velocity_and_the_weights_are_min_snr():
    from attnmod.lightning_modules.shapes_training import diffusion_target
    from attnmod.toolkit.models import shapes as shapes_model
    from diffusers import DDPMScheduler

    schedule = shapes_model.component_configs("default")["scheduler"]
    assert schedule["prediction_type"] == "v_prediction"
    reference = DDPMScheduler(
        beta_start=schedule["beta_start"], beta_end=schedule["beta_end"], beta_schedule=schedule["beta_schedule"]
    )
    generator = torch.Generator().manual_seed(0)
    latents, noise = torch.randn(3, 4, 8, 8, generator=generator), torch.randn(3, 4, 8, 8, generator=generator)
    steps = torch.tensor([0, 500, 999])
    alpha = reference.alphas_cumprod[steps].view(-1, 1, 1, 1)
    target, weights = diffusion_target("v_prediction", alpha, latents, noise)
    assert torch.allclose(target, reference.get_velocity(latents, noise, steps), atol=1e-6)
    snr = alpha.view(-1) / (1 - alpha.view(-1))
    assert torch.allclose(weights, torch.minimum(snr, torch.tensor(5.0)) / (snr + 1))
    assert weights[0] < 0.01 and weights[2] == pytest.approx(float(snr[2] / (snr[2] + 1)))
    epsilon, eps_weights = diffusion_target("epsilon", alpha, latents, noise)
    assert torch.equal(epsilon, noise)
    assert torch.allclose(eps_weights, torch.minimum(snr, torch.tensor(5.0)) / snr)


def test_min_snr_plus_one_keeps_weight_on_the_noisiest_steps():
    from attnmod.lightning_modules.shapes_training import diffusion_target

    # Planted alpha-bars with known SNRs: 1/1001 (noisiest), 1/2 (snr 1), 0.9 (snr 9), 0.999 (snr 999).
    alpha = torch.tensor([1 / 1001, 1 / 3, 0.9, 0.999]).view(-1, 1, 1, 1)
    snr = torch.tensor([1 / 1000, 0.5, 9.0, 999.0])
    latents, noise = torch.ones(4, 4, 2, 2), torch.zeros(4, 4, 2, 2)
    _, v_old = diffusion_target("v_prediction", alpha, latents, noise)
    _, v_new = diffusion_target("v_prediction", alpha, latents, noise, weighting="min-snr-plus-one")
    # x0 weight min(snr + 1, 5) over the v factor snr + 1: exactly 1 while snr + 1 <= 5, then 5 / (snr + 1).
    assert torch.allclose(v_new, torch.tensor([1.0, 1.0, 0.5, 5 / 1000]), rtol=1e-4)
    # min-SNR gives the noisiest step about snr (0.001) instead.
    assert torch.allclose(v_old, torch.tensor([1 / 1001, 0.5 / 1.5, 5 / 10, 5 / 1000]), rtol=1e-4)
    _, eps_new = diffusion_target("epsilon", alpha, latents, noise, weighting="min-snr-plus-one")
    assert torch.allclose(eps_new, torch.minimum(snr + 1, torch.tensor(5.0)) / snr, rtol=1e-4)
    with pytest.raises(ValueError, match="unknown loss weighting"):
        diffusion_target("v_prediction", alpha, latents, noise, weighting="uniform")


def test_the_loss_weighting_is_a_recorded_training_setting():
    from attnmod.lightning_modules.shapes_training import TrainingSettings

    assert TrainingSettings().loss_weighting == "min-snr"  # the shipped model's command stays reproducible
    assert TrainingSettings(loss_weighting="min-snr-plus-one").to_json()["loss_weighting"] == "min-snr-plus-one"
