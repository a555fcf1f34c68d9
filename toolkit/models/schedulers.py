"""The Euler scheduler and SDXL's noise schedule, shared by the built-in models (:mod:`.models`) and the shapes
model (:mod:`.shapes_model`). Imports nothing of the package, so either can use it without a cycle."""

from __future__ import annotations

# SDXL's own noise schedule (scaled-linear betas 0.00085..0.012, "leading" spacing): the tiny test pipelines use it,
# and so do shapes weights folders written before the schedule was part of their config.json.
SDXL_SCHEDULE = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "num_train_timesteps": 1000,
}


def euler_scheduler(schedule: dict | None = None):
    """The Euler scheduler for a noise schedule (SDXL's when None).

    The shapes presets keep SDXL's scaled-linear form but end at beta 0.02 instead of 0.012 and start sampling at
    the last training step ("trailing" spacing). At 16x16 latents SDXL's schedule leaves a visible signal at its
    last step (alpha-bar 4.7e-3: a large object's latent patch stands at about 0.4 noise standard deviations), so
    a model trained on it learns to read the layout from the noise, and at sampling time, when there is no such
    signal, draws objects wherever the noise happens to suggest (Lin et al. 2024, "Common diffusion noise
    schedules and sample steps are flawed"). Ending at 0.02 gives alpha-bar 2.3e-4 (about 0.1).
    """
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(**(schedule or SDXL_SCHEDULE))
