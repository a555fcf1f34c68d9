"""Training the ``shapes`` model from scratch: a VAE, then the UNet with both text encoders (Lightning ``fit``).

Stage 1 fits the VAE (64x64x3 <-> 16x16x4) to renders: L1 + MSE reconstruction plus a small KL term; the latent
scaling factor is then set to ``1 / std`` of the latents, as SDXL's factor is chosen. Stage 2 fits the UNet and both
CLIP text encoders jointly on the frozen VAE's latents with the objective the scheduler names (v-prediction for the
presets, whose schedule ends with so little signal that an epsilon model would need its noise estimate right to
about 1/sigma_max = 1.5% to place anything; epsilon for configurations without a schedule, SDXL's) under a
scaled-linear noise schedule, min-SNR weighting (gamma 5; Hang et al. 2023, or its ``min-snr-plus-one`` variant:
:func:`diffusion_target`), AdamW with warm-up and cosine decay, 10% empty captions for classifier-free guidance, and an exponential moving average of the weights (what is exported).

Data is drawn on the fly from the shapes world (:mod:`attnmod.toolkit.shapes_world`), seen combinations only, by a
seeded stream per data-loader worker and rank, so a run is reproducible for a seed and thread count. Both stages
write Lightning checkpoints into the output folder every few hundred steps and resume from them when the same
command runs again (an interrupted run loses at most that many steps). The output folder gets ``metrics.csv``
(losses per step), ``loss_curve.png``, ``samples.png`` (a grid drawn with the trained pipeline), ``weights/`` (the
exported model, loadable with ``--model DIR``) and ``training.json`` (settings, times, final losses, and
seconds per UNet step of the run under ``unet_speed``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import random
import subprocess
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ..toolkit import shapes_world
from ..toolkit.errors import AttnmodError, ModelLoadError
from ..toolkit.interrupt import StopOnSignal
from ..toolkit.models import shapes as shapes_model
from ..toolkit.output_folder import TRAINING_KIND, check_folder_kind, prepare_output_folder
from ..toolkit.run_files import append_line, figure_png_bytes, write_atomic, write_safetensors_atomic

CHECKPOINT_EVERY = 250


@dataclasses.dataclass
class TrainingSettings:
    preset: str = "default"
    vae_steps: int = 3000
    unet_steps: int = 3000
    batch_size: int = 32
    vae_batch_size: int = 8
    learning_rate: float = 3e-4
    vae_learning_rate: float = 1e-3
    warmup_steps: int = 200
    ema_decay: float = 0.999
    caption_dropout: float = 0.1
    seed: int = 0
    workers: int = 1
    accelerator: str = "auto"
    devices: int | str = 1
    precision: str = "32-true"
    pause_after: int | None = None  # stop this invocation after so many steps (resume by running again)
    vae_from: str | None = None  # a weights folder (or "shapes") whose trained VAE to reuse instead of stage 1
    loss_weighting: str = "min-snr"  # see diffusion_target
    form_weights: dict[str, float] | None = None  # caption-form mixture; None: shapes_world.FORM_WEIGHTS
    text_recipe: str = "joint"  # see TEXT_RECIPES
    contrastive_steps: int = 600  # the frozen-contrastive recipe's text stage
    contrastive_batch_size: int = 128
    contrastive_learning_rate: float = 1e-3
    padding_augmentation: float = 0.0  # share of UNet samples whose padding states are the empty prompt's
    init_from: str | None = None  # a weights folder (or "shapes") whose UNet and text encoders to start from
    unet_from: str | None = None  # a weights folder (or "shapes") whose UNet alone to start from (any text recipe)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


class SceneStream(IterableDataset):
    """Endless batches ``(images float [B, 3, H, W] in [-1, 1], captions)`` of seen-combination scenes.

    With a ``vae``, batches hold scaled latents instead of images: encoding then happens in the data-loader
    worker, beside the training step rather than before it.
    """

    def __init__(
        self,
        batch_size: int,
        seed: int,
        caption_dropout: float,
        rank: int = 0,
        vae=None,
        form_weights: dict[str, float] | None = None,
    ):
        self.batch_size, self.seed, self.caption_dropout, self.rank = batch_size, seed, caption_dropout, rank
        self.form_weights = form_weights
        self.offset = 0
        self.vae = vae

    def __iter__(self):
        worker = get_worker_info()
        worker_id = worker.id if worker is not None else 0
        # A fresh stream per (seed, rank, worker, resume offset): a resumed run draws new scenes, not repeats.
        rng = random.Random(f"{self.seed}/{self.rank}/{worker_id}/{self.offset}")
        while True:
            images, captions = shapes_world.training_batch(
                rng, self.batch_size, self.caption_dropout, self.form_weights
            )
            tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
            if self.vae is not None:
                with torch.no_grad():
                    tensor = self.vae.encode(tensor).latent_dist.sample() * self.vae.config.scaling_factor
            yield tensor, captions


def _loader(batch_size: int, settings: TrainingSettings, rank: int, offset: int, vae=None) -> DataLoader:
    stream = SceneStream(batch_size, settings.seed, settings.caption_dropout, rank, vae, settings.form_weights)
    stream.offset = offset
    return DataLoader(
        stream,
        batch_size=None,
        num_workers=settings.workers,
        persistent_workers=settings.workers > 0,
        worker_init_fn=_pin_worker_threads if settings.workers > 0 else None,
    )


def _pin_worker_threads(_: int) -> None:
    torch.set_num_threads(1)


def _cosine_with_warmup(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


class VaeModule(pl.LightningModule):
    """Stage 1: the VAE, reconstruction (L1 + MSE) plus ``kl_weight`` x KL to the unit Gaussian."""

    def __init__(self, vae, settings: TrainingSettings, kl_weight: float = 1e-6):
        super().__init__()
        self.vae, self.settings, self.kl_weight = vae, settings, kl_weight

    def on_fit_start(self):
        self.vae.train()

    def training_step(self, batch, batch_index):
        images, _ = batch
        posterior = self.vae.encode(images).latent_dist
        reconstruction = self.vae.decode(posterior.sample()).sample
        recon = F.l1_loss(reconstruction, images) + F.mse_loss(reconstruction, images)
        kl = posterior.kl().mean()
        loss = recon + self.kl_weight * kl
        self.log("vae_loss", recon, prog_bar=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.vae.parameters(), lr=self.settings.vae_learning_rate, weight_decay=0.0)
        total = self.settings.vae_steps
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _cosine_with_warmup(s, 100, total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def encode_captions(tokenizers, text_encoders, captions: list[str], device) -> tuple[torch.Tensor, torch.Tensor]:
    """SDXL's prompt encoding: both encoders' penultimate hidden states concatenated along features, and the second
    encoder's projected pooled output (what ``StableDiffusionXLPipeline.encode_prompt`` computes)."""
    states, pooled = [], None
    for tokenizer, encoder in zip(tokenizers, text_encoders, strict=True):
        ids = tokenizer(
            captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids.to(device)
        output = encoder(ids, output_hidden_states=True)
        if output[0].ndim == 2:
            pooled = output[0]
        states.append(output.hidden_states[-2])
    return torch.cat(states, dim=-1), pooled


# How the text encoders are trained. "joint": from scratch together with the UNet (the shipped model's recipe until
# issue 25). "frozen-contrastive": SDXL's arrangement: both encoders first trained the way CLIP is, against a small
# image tower (:class:`ContrastiveTextModule`), then frozen while the UNet trains on their (cached) states.
TEXT_RECIPES = ("joint", "frozen-contrastive")


class ImageTower(torch.nn.Module):
    """CLIP's image side at the shapes world's size: four stride-2 convolutions (64 -> 4 pixels), a spatial mean
    and a linear projection into the joint embedding space of ``width`` features."""

    def __init__(self, width: int, channels: tuple[int, ...] = (32, 64, 128, 128)):
        super().__init__()
        layers, previous = [], 3
        for count in channels:
            layers += [torch.nn.Conv2d(previous, count, 3, stride=2, padding=1), torch.nn.GroupNorm(8, count)]
            layers.append(torch.nn.SiLU())
            previous = count
        self.features = torch.nn.Sequential(*layers)
        self.projection = torch.nn.Linear(previous, width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.projection(self.features(images).mean(dim=(2, 3)))


def contrastive_loss(text: torch.Tensor, image: torch.Tensor, scale: torch.Tensor, captions: list[str]):
    """CLIP's symmetric cross-entropy over the batch's cosine similarities times ``scale`` (Radford et al. 2021),
    with soft targets: an image's target is spread evenly over every item of the batch with its caption, since a
    small world repeats captions and those items are not negatives of each other."""
    text, image = F.normalize(text, dim=-1), F.normalize(image, dim=-1)
    logits = scale * text @ image.T
    same = torch.tensor([[a == b for b in captions] for a in captions], dtype=logits.dtype, device=logits.device)
    targets = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


class ContrastiveTextModule(pl.LightningModule):
    """The text stage of the frozen-contrastive recipe: each text encoder trained as CLIP's text tower against its
    own image tower on rendered scenes and their captions (no empty captions), as SDXL's two encoders come from two
    separately trained CLIP models. Text embedding: the end token's final state (the pooled output); the second
    encoder through its own projection (what SDXL feeds its UNet as the pooled embedding), the first through a
    projection used only here (SDXL does not use CLIP ViT-L's). Learned temperature, initialised at 1/0.07 and
    capped at 100, as CLIP's."""

    def __init__(self, text_encoders, tokenizers, width: int, settings: TrainingSettings):
        super().__init__()
        self.text_encoder, self.text_encoder_2 = text_encoders
        self.tokenizers, self.settings = tokenizers, settings
        self.towers = torch.nn.ModuleList([ImageTower(width), ImageTower(width)])
        self.projection_1 = torch.nn.Linear(width, width, bias=False)
        self.log_scales = torch.nn.Parameter(torch.full((2,), math.log(1 / 0.07)))

    def on_fit_start(self):
        self.train()

    def text_embeddings(self, captions: list[str]) -> list[torch.Tensor]:
        out = []
        for index, (tokenizer, encoder) in enumerate(
            zip(self.tokenizers, (self.text_encoder, self.text_encoder_2), strict=True)
        ):
            ids = tokenizer(
                captions,
                padding="max_length",
                max_length=tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids.to(self.device)
            output = encoder(ids)
            out.append(self.projection_1(output.pooler_output) if index == 0 else output.text_embeds)
        return out

    def losses(self, images: torch.Tensor, captions: list[str]) -> list[torch.Tensor]:
        """Each encoder's contrastive loss (:func:`contrastive_loss`) against its own image tower."""
        losses = []
        for index, text in enumerate(self.text_embeddings(captions)):
            scale = self.log_scales[index].clamp(max=math.log(100.0)).exp()
            losses.append(contrastive_loss(text, self.towers[index](images), scale, captions))
        return losses

    def training_step(self, batch, batch_index):
        first, second = self.losses(*batch)
        self.log("contrastive_loss", (first + second) / 2, prog_bar=True)
        return first + second

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.settings.contrastive_learning_rate, weight_decay=0.1)
        total = self.settings.contrastive_steps
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _cosine_with_warmup(s, 50, total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class FrozenTextStates:
    """The frozen encoders' prompt states (:func:`encode_captions`), computed once per caption and kept (float32,
    least recently used dropped beyond ``capacity`` captions).

    ``padding_positions(captions)``: a boolean [B, 77] mask of the positions after each caption's end token (the
    first tokenizer pads with the end token itself, the second with "!"; both place the end token at the same
    position for the world's captions), which the padding augmentation replaces with the empty prompt's states.
    """

    def __init__(self, tokenizers, text_encoders, capacity: int = 10000):
        from collections import OrderedDict

        self.tokenizers, self.text_encoders, self.capacity = tokenizers, text_encoders, capacity
        self.cache: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self.hits = self.misses = 0

    @torch.no_grad()
    def __call__(self, captions: list[str], device) -> tuple[torch.Tensor, torch.Tensor]:
        missing = list(dict.fromkeys(c for c in captions if c not in self.cache))
        self.misses += len(missing)
        self.hits += len(captions) - len(missing)
        if missing:
            hidden, pooled = encode_captions(self.tokenizers, self.text_encoders, missing, device)
            for caption, h, p in zip(missing, hidden.cpu(), pooled.cpu(), strict=True):
                self.cache[caption] = (h, p)
        for caption in captions:
            self.cache.move_to_end(caption)
        rows = [self.cache[c] for c in captions]
        while len(self.cache) > self.capacity:
            self.cache.popitem(last=False)
        return torch.stack([h for h, _ in rows]).to(device), torch.stack([p for _, p in rows]).to(device)

    def padding_positions(self, captions: list[str]) -> torch.Tensor:
        tokenizer = self.tokenizers[0]
        ids = tokenizer(
            captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids
        end = (ids == tokenizer.eos_token_id).int().argmax(dim=1)
        return torch.arange(ids.shape[1]).unsqueeze(0) > end.unsqueeze(1)


LOSS_WEIGHTINGS = ("min-snr", "min-snr-plus-one")


def diffusion_target(prediction_type: str, alpha, latents, noise, gamma: float = 5.0, weighting: str = "min-snr"):
    """The UNet's regression target and the loss weight per sample.

    ``alpha``: alpha-bar of each sample's timestep, shape [B, 1, 1, 1]. Targets: epsilon, the noise; v (Salimans &
    Ho 2022), ``sqrt(a) eps - sqrt(1 - a) x0``. Both weightings are a weight ``lambda`` on the x0 error (the
    epsilon error is ``snr`` times it, the v error ``snr + 1`` times), so the epsilon weight is ``lambda / snr`` and
    the v weight ``lambda / (snr + 1)``:

    * ``min-snr`` (Hang et al. 2023): ``lambda = min(snr, gamma)``. At high noise ``lambda`` tends to ``snr``, so
      with a schedule ending near zero signal the steps that decide the layout weigh almost nothing (under this
      repository's presets the noisiest 40% of timesteps carry 2.7% of the weight).
    * ``min-snr-plus-one``: ``lambda = min(snr + 1, gamma)``: the same cap on easy low-noise steps, but the x0
      error keeps weight at least 1 at high noise (for v: the plain v error wherever ``snr + 1 <= gamma``).
    """
    snr = (alpha / (1 - alpha)).view(-1)
    if weighting == "min-snr":
        weight = torch.clamp(snr, max=gamma)
    elif weighting == "min-snr-plus-one":
        weight = torch.clamp(snr + 1, max=gamma)
    else:
        raise ValueError(f"unknown loss weighting {weighting!r}; known: {', '.join(LOSS_WEIGHTINGS)}")
    if prediction_type == "v_prediction":
        return alpha.sqrt() * noise - (1 - alpha).sqrt() * latents, weight / (snr + 1)
    if prediction_type == "epsilon":
        return noise, weight / snr
    raise ValueError(f"unsupported prediction type {prediction_type!r}")


class DiffusionModule(pl.LightningModule):
    """Stage 2: the UNet (and, in the joint recipe, both text encoders), v or epsilon objective weighted per
    timestep (``settings.loss_weighting``), EMA of the trained weights.

    Frozen-contrastive recipe: the encoders stay in eval mode without gradients, their states come from a
    per-caption cache (:class:`FrozenTextStates`), and a share ``settings.padding_augmentation`` of the samples
    gets the empty prompt's states at its padding positions (a departure from SDXL's recipe: see docs/shapes.md)."""

    def __init__(self, components: dict, tokenizers, scheduler, settings: TrainingSettings, image_size: int):
        super().__init__()
        self.unet = components["unet"]
        self.text_encoder = components["text_encoder"]
        self.text_encoder_2 = components["text_encoder_2"]
        self.vae = components["vae"].requires_grad_(False).eval()
        self.tokenizers, self.settings = tokenizers, settings
        self.register_buffer("alphas_cumprod", scheduler.alphas_cumprod.clone().float(), persistent=False)
        self.prediction_type = scheduler.config.prediction_type  # "epsilon" or "v_prediction"
        self.image_size = image_size
        self.ema = None
        self.frozen_text = settings.text_recipe == "frozen-contrastive"
        self.text_states = None
        if self.frozen_text:
            for encoder in (self.text_encoder, self.text_encoder_2):
                encoder.requires_grad_(False).eval()
            self.text_states = FrozenTextStates(tokenizers, [self.text_encoder, self.text_encoder_2])
        self.augmentation = random.Random(f"padding/{settings.seed}")

    def trainable(self) -> list[torch.nn.Module]:
        if self.frozen_text:
            return [self.unet]
        return [self.unet, self.text_encoder, self.text_encoder_2]

    def on_fit_start(self):
        for module in self.trainable():
            module.train()
        if self.frozen_text:
            self.text_encoder.eval()
            self.text_encoder_2.eval()
        if self.ema is None:
            self.ema = [copy.deepcopy(m).requires_grad_(False) for m in self.trainable()]

    def prompt_states(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.frozen_text:
            return encode_captions(self.tokenizers, [self.text_encoder, self.text_encoder_2], captions, self.device)
        hidden, pooled = self.text_states(captions, self.device)
        share = self.settings.padding_augmentation
        chosen = [bool(c) and self.augmentation.random() < share for c in captions] if share > 0 else []
        if any(chosen):
            empty, _ = self.text_states([""], self.device)
            mask = self.text_states.padding_positions(captions).to(self.device)
            mask &= torch.tensor(chosen, device=self.device).unsqueeze(1)
            hidden = torch.where(mask.unsqueeze(-1), empty.expand_as(hidden), hidden)
        return hidden, pooled

    def on_save_checkpoint(self, checkpoint):
        checkpoint["ema"] = [m.state_dict() for m in self.ema] if self.ema else None

    def on_load_checkpoint(self, checkpoint):
        if checkpoint.get("ema"):
            self.ema = [copy.deepcopy(m).requires_grad_(False) for m in self.trainable()]
            for module, state in zip(self.ema, checkpoint["ema"], strict=True):
                module.load_state_dict(state)

    def training_step(self, batch, batch_index):
        latents, captions = batch  # scaled latents, encoded by the data loader (see SceneStream)
        hidden, pooled = self.prompt_states(captions)
        noise = torch.randn_like(latents)
        steps = torch.randint(0, len(self.alphas_cumprod), (latents.shape[0],), device=self.device)
        alpha = self.alphas_cumprod[steps].view(-1, 1, 1, 1)
        noisy = alpha.sqrt() * latents + (1 - alpha).sqrt() * noise
        side = float(self.image_size)
        time_ids = torch.tensor([side, side, 0.0, 0.0, side, side], device=self.device).repeat(latents.shape[0], 1)
        prediction = self.unet(
            noisy,
            steps,
            encoder_hidden_states=hidden,
            added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids},
        ).sample
        target, weights = diffusion_target(
            self.prediction_type, alpha, latents, noise, weighting=self.settings.loss_weighting
        )
        per_sample = F.mse_loss(prediction, target, reduction="none").mean(dim=(1, 2, 3))
        loss = (weights * per_sample).mean()
        self.log("loss", per_sample.mean(), prog_bar=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_index):
        decay = min(self.settings.ema_decay, (1 + self.global_step) / (10 + self.global_step))
        with torch.no_grad():
            for ema, live in zip(self.ema, self.trainable(), strict=True):
                for e, p in zip(ema.parameters(), live.parameters(), strict=True):
                    e.lerp_(p.detach(), 1 - decay)

    def configure_optimizers(self):
        embeddings, others = [], []
        for module in self.trainable():
            for name, parameter in module.named_parameters():
                (embeddings if "embedding" in name else others).append(parameter)
        optimizer = torch.optim.AdamW(
            [{"params": others, "weight_decay": 1e-2}, {"params": embeddings, "weight_decay": 0.0}],
            lr=self.settings.learning_rate,
        )
        total, warmup = self.settings.unet_steps, self.settings.warmup_steps
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _cosine_with_warmup(s, warmup, total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def ema_components(self) -> dict:
        modules = self.ema or self.trainable()
        if self.frozen_text:
            modules = [modules[0], self.text_encoder, self.text_encoder_2]
        return {"unet": modules[0], "text_encoder": modules[1], "text_encoder_2": modules[2], "vae": self.vae}


class _LossHistory(pl.Callback):
    """Appends each step's loss to a JSON-lines file (survives interruption; the resumed run appends)."""

    def __init__(self, path: Path, key: str):
        self.path, self.key = path, key

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index):
        if trainer.global_rank != 0:
            return
        value = trainer.callback_metrics.get(self.key)
        if value is not None:
            append_line(self.path, json.dumps({"step": trainer.global_step, self.key: float(value)}), durable=False)


class _PauseAfter(pl.Callback):
    """Stops the stage after ``steps`` optimizer steps of this invocation, or after the step in progress when a
    stop was asked for (SIGINT/SIGTERM, ``stop``), saving ``last.ckpt`` to resume from."""

    def __init__(self, steps: int | None, folder: Path, stop: StopOnSignal | None = None):
        self.steps, self.folder, self.done, self.paused, self.stop = steps, folder, 0, False, stop

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index):
        self.done += 1
        asked = self.stop is not None and self.stop.requested
        if (asked or (self.steps is not None and self.done >= self.steps)) and trainer.global_step < trainer.max_steps:
            trainer.save_checkpoint(self.folder / "last.ckpt")
            trainer.should_stop = True
            self.paused = True


class _StepTimer(pl.Callback):
    """Wall-clock time per optimizer step of this invocation (data loading included), leaving out the first
    ``warmup`` steps (at least the first, whose start is not seen), which pay the start-up: data-loader workers,
    allocator, kernel selection."""

    def __init__(self, warmup: int = 5):
        self.warmup, self.ends = warmup, []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index):
        self.ends.append(time.perf_counter())

    def summary(self) -> dict | None:
        """Step ``i`` lasts from the end of step ``i - 1`` to its own end; ``seconds_per_step`` is the mean over
        the steps after the skipped ones, ``steps_per_second`` its inverse, and the median is of single steps."""
        count = len(self.ends)
        if count < 2:
            return None
        skipped = max(1, min(self.warmup, count - 1))
        durations = sorted(self.ends[i] - self.ends[i - 1] for i in range(skipped, count))
        span = self.ends[-1] - self.ends[skipped - 1]
        return {
            "steps_timed": count - skipped,
            "steps_skipped": skipped,
            "seconds_per_step": span / (count - skipped),
            "steps_per_second": (count - skipped) / span if span > 0 else None,
            "median_seconds_per_step": durations[len(durations) // 2],
        }


def _trainer(settings: TrainingSettings, folder: Path, max_steps: int, progress: bool, callbacks: list):
    from lightning.pytorch.callbacks import ModelCheckpoint

    checkpoint = ModelCheckpoint(
        dirpath=folder, every_n_train_steps=CHECKPOINT_EVERY, save_last=True, save_top_k=0, enable_version_counter=False
    )
    return pl.Trainer(
        accelerator=settings.accelerator,
        devices=settings.devices,
        precision=settings.precision,
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=True,
        callbacks=[checkpoint, *callbacks],
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=10,
    )


def _fit(trainer, module, loader, folder: Path) -> None:
    last = folder / "last.ckpt"
    kwargs = {"ckpt_path": str(last)} if last.is_file() else {}
    try:
        # weights_only: a checkpoint is read as tensors and plain containers, never unpickled as code (the package's
        # pickle policy); Lightning's checkpoints of these modules hold nothing else.
        trainer.fit(module, train_dataloaders=loader, weights_only=True, **kwargs)
    except SIGTERMException:
        # Lightning's own SIGTERM check, after _PauseAfter saved the checkpoint and stopped at the step boundary.
        if not trainer.should_stop:
            raise


def _resume_offset(folder: Path) -> int:
    """A number that differs between the first run and each resume, so the data stream does not repeat."""
    return sum(1 for _ in folder.glob("resumed-*")) if folder.is_dir() else 0


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        output = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return output.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _read_history(path: Path, key: str) -> list[tuple[int, float]]:
    """``(step, loss)`` pairs in step order; a step logged twice (steps after the last checkpoint of an
    interrupted run, done again on resume) keeps its later value."""
    rows: dict[int, float] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                data = json.loads(line)
                rows[int(data["step"])] = float(data[key])
            except (ValueError, KeyError, TypeError):
                continue
    return sorted(rows.items())


def smoothed(values: list[float], window: int = 50) -> list[float]:
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_loss_curves(folder: Path) -> Path:
    from matplotlib.figure import Figure

    stages = [("vae", "vae_loss"), ("unet", "loss")]
    if (folder / "text-loss.jsonl").is_file():
        stages.insert(1, ("text", "contrastive_loss"))
    figure = Figure(figsize=(4 * len(stages), 3.2), dpi=110)
    for index, (name, key) in enumerate(stages):
        axis = figure.add_subplot(1, len(stages), index + 1)
        rows = _read_history(folder / f"{name}-loss.jsonl", key)
        if rows:
            steps, values = zip(*rows, strict=True)
            axis.plot(steps, values, color="#bbbbbb", linewidth=0.6, label="per step")
            axis.plot(steps, smoothed(list(values)), color="#1f5fa8", linewidth=1.4, label="mean of 50")
            axis.set_yscale("log")
        axis.set_title(f"{name} training loss")
        axis.set_xlabel("step")
        axis.legend(fontsize=7)
    figure.tight_layout()
    path = folder / "loss_curve.png"
    write_atomic(path, figure_png_bytes(figure))
    return path


def sample_grid(pipe, scenes, path: Path, seed: int = 0, steps: int = 25, guidance: float = 5.0) -> Path:
    """Draw each scene's caption once and save truth | sample pairs in a grid with the captions."""
    from matplotlib.figure import Figure

    columns = 4
    rows = math.ceil(len(scenes) / columns)
    figure = Figure(figsize=(columns * 2.6, rows * 1.55), dpi=100)
    for index, scene in enumerate(scenes):
        generator = torch.Generator().manual_seed(seed + index)
        image = pipe(
            scene.caption,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=generator,
            height=scene.canvas,
            width=scene.canvas,
        ).images[0]
        truth, _ = shapes_world.render_scene(scene)
        axis = figure.add_subplot(rows, columns, index + 1)
        axis.imshow(np.concatenate([truth, np.asarray(image)], axis=1), interpolation="nearest")
        axis.set_title(scene.caption, fontsize=6)
        axis.axis("off")
    figure.tight_layout()
    write_atomic(path, figure_png_bytes(figure))
    return path


def train_shapes_model(out: str | Path, settings: TrainingSettings, progress: bool = True, samples: int = 16) -> dict:
    """Run both stages (resuming from checkpoints in ``out``), export the EMA weights to ``out/weights`` and
    write the loss curve, the sample grid and ``training.json``. Returns the training summary.

    SIGINT or SIGTERM stops training after the step in progress with ``last.ckpt`` saved, as ``--pause-after``
    does; the summary then says ``"paused"`` and ``"interrupted"`` (the signal's number)."""
    with StopOnSignal("the current training step") as stop:
        return _train_shapes_model(out, settings, progress, samples, stop)


def _train_shapes_model(out, settings: TrainingSettings, progress: bool, samples: int, stop: StopOnSignal) -> dict:
    from safetensors.torch import load_file

    pause_after = settings.pause_after
    check_training_settings(settings)
    check_folder_kind(out, TRAINING_KIND)
    out = prepare_output_folder(out)
    _refuse_links(out)
    check_resume_settings(out, settings)
    pl.seed_everything(settings.seed, workers=True, verbose=False)
    started = time.time()
    configs = shapes_model.component_configs(settings.preset)
    pipe = shapes_model.build_shapes_pipeline(settings.preset, seed=settings.seed)
    components = {name: getattr(pipe, name) for name in shapes_model.COMPONENTS}
    summary: dict = {"settings": settings.to_json(), "commit": _git_commit(), "started": started}

    vae_folder, vae_file = out / "vae", out / "vae.safetensors"
    start = settings.init_from or settings.unet_from
    vae_source = settings.vae_from or start
    if not vae_file.is_file() and vae_source:
        _reuse_vae(vae_source, configs, out)
    if vae_file.is_file():
        components["vae"].load_state_dict(load_file(str(vae_file)))
    else:
        vae_folder.mkdir(exist_ok=True)
        module = VaeModule(components["vae"], settings)
        history = _LossHistory(out / "vae-loss.jsonl", "vae_loss")
        pause = _PauseAfter(pause_after, vae_folder, stop)
        trainer = _trainer(settings, vae_folder, settings.vae_steps, progress, [history, pause])
        loader = _loader(settings.vae_batch_size, settings, 0, _resume_offset(vae_folder))
        _touch_resume_marker(vae_folder)
        _fit(trainer, module, loader, vae_folder)
        if pause.paused:
            return {**summary, "paused": "vae", "step": trainer.global_step, "interrupted": stop.signal}
        if pause_after is not None:
            pause_after = max(1, pause_after - pause.done)
        components["vae"] = module.vae.cpu().eval()
        factor = _latent_scaling_factor(components["vae"], settings.seed)
        components["vae"].register_to_config(scaling_factor=factor)
        state = {k: v.contiguous() for k, v in components["vae"].state_dict().items()}
        write_safetensors_atomic(vae_file, state, metadata={"scaling_factor": repr(factor)})
        write_atomic(out / "vae.json", json.dumps({"scaling_factor": factor}) + "\n")
    factor = json.loads((out / "vae.json").read_text())["scaling_factor"]
    components["vae"].register_to_config(scaling_factor=factor)
    configs["vae"]["scaling_factor"] = factor
    summary["vae_seconds"] = time.time() - started
    if stop.requested:  # asked during the VAE's last step or its export: stop before the UNet stage starts
        return {**summary, "paused": "unet", "step": 0, "interrupted": stop.signal}
    configs["recipe"] = recipe_record(settings)
    if settings.init_from:
        _init_components(settings.init_from, configs, components, out)
    elif settings.unet_from:
        _init_components(settings.unet_from, configs, components, out, unet_only=True)

    if settings.text_recipe == "frozen-contrastive":
        text_file = out / "text.safetensors"
        if not text_file.is_file():
            text_folder = out / "text"
            text_folder.mkdir(exist_ok=True)
            width = configs["text_encoder"]["hidden_size"]
            module = ContrastiveTextModule(
                [components["text_encoder"], components["text_encoder_2"]],
                [pipe.tokenizer, pipe.tokenizer_2],
                width,
                settings,
            )
            history = _LossHistory(out / "text-loss.jsonl", "contrastive_loss")
            pause = _PauseAfter(pause_after, text_folder, stop)
            trainer = _trainer(settings, text_folder, settings.contrastive_steps, progress, [history, pause])
            text_settings = dataclasses.replace(settings, caption_dropout=0.0)
            loader = _loader(settings.contrastive_batch_size, text_settings, 0, _resume_offset(text_folder))
            _touch_resume_marker(text_folder)
            _fit(trainer, module, loader, text_folder)
            if pause.paused:
                return {**summary, "paused": "text", "step": trainer.global_step, "interrupted": stop.signal}
            if pause_after is not None:
                pause_after = max(1, pause_after - pause.done)
            state = {
                f"{name}.{key}": value.detach().cpu().contiguous()
                for name in ("text_encoder", "text_encoder_2")
                for key, value in getattr(module, name).state_dict().items()
            }
            write_safetensors_atomic(text_file, state)
        for name, tensors in _split_state(load_file(str(text_file))).items():
            components[name].load_state_dict(tensors)
        summary["text_seconds"] = time.time() - started

    unet_folder = out / "unet"
    unet_folder.mkdir(exist_ok=True)
    module = DiffusionModule(
        components, [pipe.tokenizer, pipe.tokenizer_2], pipe.scheduler, settings, shapes_model.IMAGE_SIZE
    )
    history = _LossHistory(out / "unet-loss.jsonl", "loss")
    pause = _PauseAfter(pause_after, unet_folder, stop)
    timer = _StepTimer()
    trainer = _trainer(settings, unet_folder, settings.unet_steps, progress, [history, pause, timer])
    loader = _loader(
        settings.batch_size,
        settings,
        trainer.global_rank,
        _resume_offset(unet_folder),
        vae=copy.deepcopy(components["vae"]).requires_grad_(False).eval(),
    )
    _touch_resume_marker(unet_folder)
    _fit(trainer, module, loader, unet_folder)
    summary["unet_speed"] = timer.summary()  # this invocation's UNet steps only
    if module.text_states is not None:
        summary["text_state_cache"] = {"hits": module.text_states.hits, "misses": module.text_states.misses}
    if pause.paused:
        return {**summary, "paused": "unet", "step": trainer.global_step, "interrupted": stop.signal}
    if trainer.global_rank != 0:
        return summary

    trained = {name: m.cpu().eval() for name, m in module.ema_components().items()}
    shapes_model.save_shapes_weights(trained, configs, out / "weights")
    summary["seconds_this_run"] = time.time() - started
    vae_rows = _read_history(out / "vae-loss.jsonl", "vae_loss")
    unet_rows = _read_history(out / "unet-loss.jsonl", "loss")
    summary["final_vae_loss"] = float(np.mean([v for _, v in vae_rows[-50:]])) if vae_rows else None
    summary["final_loss"] = float(np.mean([v for _, v in unet_rows[-200:]])) if unet_rows else None
    summary["steps"] = {"vae": settings.vae_steps, "unet": settings.unet_steps}
    summary["threads"] = torch.get_num_threads()
    plot_loss_curves(out)
    if samples:
        loaded = shapes_model.load_shapes_pipeline(out / "weights")
        scenes = [s for name in ("seen-1", "seen-2", "seen-3", "nested") for s in shapes_world.prompt_set(name, 4)]
        sample_grid(loaded, scenes[:samples], out / "samples.png", seed=settings.seed)
    write_atomic(out / "training.json", json.dumps(summary, indent=2) + "\n")
    return summary


# Settings a resumed run may change: how and where it runs, and how long (extending a run), not what it trains.
RESUMABLE_SETTINGS = frozenset({"pause_after", "workers", "accelerator", "devices", "vae_steps", "unet_steps"})
SETTINGS_FILE = "settings.json"


def _refuse_links(out: Path) -> None:
    """Lightning writes its checkpoints in place (through a symbolic link planted at ``last.ckpt``); attnmod's own
    files are replaced atomically, but a link anywhere in the training folder is refused before anything runs."""
    for path in sorted(out.rglob("*")):
        if path.is_symlink():
            raise AttnmodError(
                f"{str(path)!r} is a symbolic link: attnmod never writes through a link; remove it or choose another "
                "--out"
            )


def check_training_settings(settings: TrainingSettings) -> None:
    """Settings that would waste a run are refused before anything is built or written: learning rates must be
    finite and positive (a NaN passes a range check and trains the VAE for thousands of steps on nothing), and
    ``--vae-from`` must name a shapes weights folder whose VAE fits the preset."""
    rates = (
        ("--learning-rate", settings.learning_rate),
        ("VAE learning rate", settings.vae_learning_rate),
        ("contrastive learning rate", settings.contrastive_learning_rate),
    )
    start = settings.init_from or settings.unet_from
    if settings.init_from and settings.unet_from:
        raise AttnmodError("--init-from already starts the UNet from that model: leave out --unet-from")
    if start and settings.vae_from and settings.vae_from != start:
        raise AttnmodError(
            "a model started from saved weights keeps their VAE: leave out --vae-from or give it the same"
        )
    for name, value in rates:
        if not (math.isfinite(value) and value > 0):
            raise AttnmodError(f"{name} must be a finite number above 0, got {value}")
    if settings.vae_from:
        _vae_source(settings.vae_from, shapes_model.component_configs(settings.preset))


def check_resume_settings(out: Path, settings: TrainingSettings) -> None:
    """Refuse to resume a run in ``out`` under other training settings (a changed learning rate, seed or loss
    weighting would silently mix two runs, or finish at once on the old run's finished checkpoint). The first run
    records its settings in ``out/settings.json``; a folder with checkpoints but no such file (older runs) is not
    checked."""
    path = out / SETTINGS_FILE
    ours = {k: v for k, v in settings.to_json().items() if k not in RESUMABLE_SETTINGS}
    if path.is_file():
        try:
            # settings added since a run began were at their defaults in it
            theirs = {**TrainingSettings().to_json(), **json.loads(path.read_text())}
        except ValueError as error:
            raise AttnmodError(f"{path}: unreadable training settings ({error}); use another --out") from error
        changed = sorted(
            k for k in set(ours) | set(theirs) if k not in RESUMABLE_SETTINGS and ours.get(k) != theirs.get(k)
        )
        if changed:
            details = ", ".join(f"{k} {theirs.get(k)!r} -> {ours.get(k)!r}" for k in changed)
            raise AttnmodError(
                f"{out} holds a run with other settings ({details}); run the same command to resume it, "
                "or use another --out"
            )
        return
    if any((out / stage / "last.ckpt").is_file() for stage in ("vae", "unet")):
        return  # a run from before settings were recorded
    write_atomic(path, json.dumps(ours, indent=2, sort_keys=True) + "\n")


def _vae_source(source: str, configs: dict) -> tuple[Path, dict]:
    """The weights folder ``--vae-from`` names and its configuration, checked against the preset's VAE."""
    folder = shapes_model.shipped_weights_folder() if source == "shapes" else Path(source)
    if not shapes_model.is_shapes_folder(folder):
        raise ModelLoadError(f"--vae-from {source!r}: not a shapes weights folder (config.json and shapes.safetensors)")
    try:
        saved = json.loads((folder / shapes_model.CONFIG_FILE).read_text(encoding="utf-8"))
        theirs = {k: v for k, v in saved["vae"].items() if k != "scaling_factor"}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelLoadError(f"--vae-from {source!r}: unreadable {shapes_model.CONFIG_FILE} ({error})") from error
    ours = {k: v for k, v in configs["vae"].items() if k != "scaling_factor"}
    if theirs != ours:
        raise ModelLoadError(
            f"--vae-from {source!r}: its VAE has another configuration than preset {configs['preset']!r}"
        )
    return folder, saved


def _reuse_vae(source: str, configs: dict, out: Path) -> None:
    """Stage 1 replaced by a trained VAE: copy the VAE of a weights folder (``shapes``: the shipped model) into
    ``out`` with its scaling factor and, where the folder has it, its VAE loss history."""

    folder, saved = _vae_source(source, configs)
    vae = shapes_model.load_shapes_components(folder)["vae"]
    factor = float(saved["vae"]["scaling_factor"])
    state = {k: v.float().contiguous() for k, v in vae.state_dict().items()}
    write_safetensors_atomic(
        out / "vae.safetensors", state, metadata={"scaling_factor": repr(factor), "from": str(source)}
    )
    write_atomic(out / "vae.json", json.dumps({"scaling_factor": factor, "from": str(source)}) + "\n")
    history = folder / "loss-history.json"
    if history.is_file():
        rows = json.loads(history.read_text()).get("vae") or []
        lines = "".join(json.dumps({"step": step, "vae_loss": value}) + "\n" for step, value in rows)
        write_atomic(out / "vae-loss.jsonl", lines)


def recipe_record(settings: TrainingSettings) -> dict:
    """What a saved model records of how it was trained (``config.json``'s ``recipe``); ``--init-from`` refuses
    to continue a model under another ``text_recipe``. Weights saved before the record (the shipped model until
    issue 25) count as ``joint``, the recipe they were trained with."""
    return {
        "text_recipe": settings.text_recipe,
        "padding_augmentation": settings.padding_augmentation,
        "contrastive_steps": settings.contrastive_steps if settings.text_recipe == "frozen-contrastive" else None,
        "init_from": settings.init_from,
        "unet_from": settings.unet_from,
    }


def _split_state(state: dict) -> dict[str, dict]:
    parts: dict[str, dict] = {}
    for key, value in state.items():
        name, _, rest = key.partition(".")
        parts.setdefault(name, {})[rest] = value
    return parts


def _init_components(source: str, configs: dict, components: dict, out: Path, unet_only: bool = False) -> None:
    """``--init-from``: fill the UNet and both text encoders with a saved model's weights (its VAE is the one in
    use), after checking that it has the same architecture and was trained under the same text recipe. The
    frozen-contrastive recipe then keeps its encoders (no text stage).

    ``unet_only`` (``--unet-from``): a warm start of the UNet alone, under any text recipe: its convolutions and
    attention start from a trained model while its text side (and the cross-attention's reading of it) is
    learned anew."""

    folder = shapes_model.shipped_weights_folder() if source == "shapes" else Path(source)
    if not shapes_model.is_shapes_folder(folder):
        raise ModelLoadError(
            f"--init-from {source!r}: not a shapes weights folder (config.json and shapes.safetensors)"
        )
    saved = json.loads((folder / shapes_model.CONFIG_FILE).read_text())
    for name in ("unet", "text_encoder", "text_encoder_2"):
        if saved.get(name) != configs[name]:
            raise ModelLoadError(
                f"--init-from {source!r}: its {name} has another configuration than preset {configs['preset']!r}"
            )
    theirs = (saved.get("recipe") or {}).get("text_recipe", "joint")
    ours = configs["recipe"]["text_recipe"]
    if unet_only:
        configs["recipe"]["parent"] = saved.get("recipe") or {"text_recipe": "joint"}
        components["unet"].load_state_dict(shapes_model.load_shapes_components(folder)["unet"].state_dict())
        return
    if theirs != ours:
        raise ModelLoadError(
            f"--init-from {source!r}: that model was trained with text recipe {theirs!r}, this run asks for "
            f"{ours!r}; continue it under {theirs!r} or start a new model without --init-from"
        )
    # the lineage: a continued model's compute includes its parent's (and the parent's own parents')
    configs["recipe"]["parent"] = saved.get("recipe") or {"text_recipe": "joint"}
    loaded = shapes_model.load_shapes_components(folder)
    for name in ("unet", "text_encoder", "text_encoder_2"):
        components[name].load_state_dict(loaded[name].state_dict())
    if ours == "frozen-contrastive" and not (out / "text.safetensors").is_file():
        state = {
            f"{name}.{key}": value.contiguous()
            for name in ("text_encoder", "text_encoder_2")
            for key, value in loaded[name].state_dict().items()
        }
        write_safetensors_atomic(out / "text.safetensors", state, metadata={"from": str(source)})


def _touch_resume_marker(folder: Path) -> None:
    if (folder / "last.ckpt").is_file():
        (folder / f"resumed-{int(time.time())}-{os.getpid()}").touch()


@torch.no_grad()
def _latent_scaling_factor(vae, seed: int, batches: int = 8) -> float:
    """``1 / std`` of the latents over fresh renders, so scaled latents have unit variance (SDXL's convention)."""
    rng = random.Random(f"scale/{seed}")
    values = []
    for _ in range(batches):
        images, _ = shapes_world.training_batch(rng, 32, 0.0)
        tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        values.append(vae.encode(tensor).latent_dist.sample().flatten())
    return float(1.0 / torch.cat(values).std())
