"""One Euler scheduler definition: the tiny test pipelines and the shapes model's fallback both run SDXL's schedule."""

from __future__ import annotations

import numpy as np
import pytest
from attnmod.toolkit.models import loading as models
from attnmod.toolkit.models import schedulers
from attnmod.toolkit.models import shapes as shapes_model


def _sdxl_alphas_cumprod() -> np.ndarray:
    # SDXL's scaled-linear betas (0.00085..0.012, linear in sqrt(beta), 1000 steps), computed here without diffusers
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def test_the_default_schedule_is_sdxls_with_leading_spacing():
    scheduler = schedulers.euler_scheduler()
    assert type(scheduler).__name__ == "EulerDiscreteScheduler"
    assert np.allclose(scheduler.alphas_cumprod.numpy(), _sdxl_alphas_cumprod(), rtol=1e-5)
    scheduler.set_timesteps(25)
    # "leading" spacing, offset 1: 1 + 40 k for k = 24 .. 0
    assert scheduler.timesteps.numpy().astype(int).tolist() == [1 + 40 * k for k in range(24, -1, -1)]


@pytest.mark.parametrize("build", [models.build_tiny_sdxl, models.build_tiny_sd])
def test_tiny_pipelines_use_the_shared_scheduler(build):
    pipe = build()
    assert np.allclose(pipe.scheduler.alphas_cumprod.numpy(), _sdxl_alphas_cumprod(), rtol=1e-5)
    assert pipe.scheduler.config.timestep_spacing == "leading" and pipe.scheduler.config.steps_offset == 1


def test_the_shapes_model_builds_its_scheduler_from_the_same_definition():
    assert shapes_model.euler_scheduler is schedulers.euler_scheduler
    assert shapes_model.SDXL_SCHEDULE is schedulers.SDXL_SCHEDULE
    # the shapes presets change only the end of the schedule and its spacing
    preset = shapes_model.component_configs("default")["scheduler"]
    differing = {key for key in schedulers.SDXL_SCHEDULE if preset[key] != schedulers.SDXL_SCHEDULE[key]}
    assert differing == {"beta_end", "timestep_spacing", "steps_offset"}
