"""One denoising step with differentiable cross-attention maps: what the captum attributions differentiate.

:class:`OneStepAttention` fixes the latent and the timestep of one step of the sampling schedule (at progress 0 the
pipeline's own first UNet input) and maps token ids to the ``[1, T, H, W]`` cross-attention maps of that step, with
the modulation of a variant active, so that a score of those maps can be attributed to the prompt's tokens.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import torch

from ..toolkit.errors import AttnmodError
from ..toolkit.modulation.context import DenoisingProgress, ModulationContext
from ..toolkit.modulation.install import modulated_attention
from ..toolkit.modulation.plan import ModulationPlan, plan_sample
from ..toolkit.prompt.tokenizer import CLIP_CONTEXT_LENGTH
from ..toolkit.prompt.tree import PromptTree
from . import attention_maps

BASELINE_TOKEN_ID = 0  # "!" in the CLIP vocabulary


@dataclasses.dataclass
class FixedProgress(DenoisingProgress):
    """Denoising progress pinned to one step: every UNet call counts as step ``fixed``."""

    fixed: int = 0

    def on_unet_call(self, module, args) -> None:
        self.step = self.fixed
        self.calls += 1


class _CrossMaps:
    """An attention observer that keeps the conditional cross-attention of one UNet call, with its autograd graph."""

    def __init__(self) -> None:
        self.maps: dict[tuple[int, int], list[torch.Tensor]] = {}

    def wants(self, kind: str, module: str, level: int) -> bool:
        return kind == "cross"

    def observe(self, event) -> None:
        mean = event.probabilities.float().mean(dim=1)  # [B, N, T], heads averaged
        height, width = event.resolution
        self.maps.setdefault((height, width), []).append(
            mean.transpose(1, 2).reshape(mean.shape[0], mean.shape[2], height, width)
        )

    def combined(self) -> torch.Tensor:
        """``[B, T, H, W]``: layers averaged per resolution, then resolutions combined at the coarsest."""
        if not self.maps:
            raise AttnmodError("the UNet ran no cross-attention: nothing to attribute")
        per_resolution = [torch.stack(layer_maps).mean(dim=0) for layer_maps in self.maps.values()]
        return attention_maps.combine_resolutions(per_resolution)


class OneStepAttention:
    """Cross-attention maps of one UNet call at a fixed latent and timestep, as a function of the token ids.

    ``token_maps(*ids)`` takes one ``[B, 77]`` id tensor per text encoder and returns normalised maps
    ``[B, 77, H, W]``, differentiable with respect to the encoders' input embeddings.
    """

    def __init__(
        self,
        model,
        tree: PromptTree,
        seed: int = 0,
        steps: int = 4,
        at: float = 0.0,
        height: int = 128,
        width: int = 128,
        variant: str = "none",
    ):
        from ..toolkit.modulation.config import ModulationConfig

        if not 0.0 <= at < 1.0:
            raise AttnmodError(f"--at is the denoising progress of the attributed step, in [0, 1); got {at}")
        self.model = model
        self.pipe = pipe = model.pipeline
        self.tree = tree
        self.config = ModulationConfig.from_variant(variant)
        self.encoders = [e for e in (getattr(pipe, "text_encoder", None), getattr(pipe, "text_encoder_2", None)) if e]
        self.sdxl = model.family == "sdxl"
        self.device = pipe.unet.device
        self.dtype = pipe.unet.dtype
        self.steps = steps
        self.step = min(int(at * steps), steps - 1)
        self.ids = [
            torch.tensor(
                [
                    tokenizer(tree.prompt, padding="max_length", max_length=CLIP_CONTEXT_LENGTH, truncation=True)[
                        "input_ids"
                    ]
                ],
                dtype=torch.long,
                device=self.device,
            )
            for tokenizer in model.tokenizers
        ]
        mask = model.tokenizers[0](tree.prompt, padding="max_length", max_length=CLIP_CONTEXT_LENGTH, truncation=True)
        self.token_count = int(sum(mask["attention_mask"]))
        self.words = list(range(1, max(self.token_count - 1, 1)))  # between start and the first end token
        self.token_texts = model.tokenizers[0].convert_ids_to_tokens(self.ids[0][0].tolist())
        self.sample_plan = plan_sample(tree, self.token_count, self.config.masking.nested)

        scheduler = copy.deepcopy(pipe.scheduler)
        scheduler.set_timesteps(steps, device=self.device)
        self.timestep = scheduler.timesteps[self.step]
        scale = int(getattr(pipe, "vae_scale_factor", 8))
        shape = (1, pipe.unet.config.in_channels, height // scale, width // scale)
        self.latent_size = (height // scale, width // scale)
        noise = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(int(seed)), dtype=torch.float32)
        noise = noise.to(self.device, self.dtype)
        if self.step == 0:
            latent = noise * scheduler.init_noise_sigma
        else:
            latent = scheduler.add_noise(torch.zeros_like(noise), noise, self.timestep.reshape(1))
        self.latent = scheduler.scale_model_input(latent, self.timestep)
        self.time_ids = None
        if self.sdxl:
            projection = int(self.encoders[-1].config.projection_dim)
            self.time_ids = pipe._get_add_time_ids(
                (height, width), (0, 0), (height, width), dtype=self.dtype, text_encoder_projection_dim=projection
            ).to(self.device)

    @property
    def embedding_layers(self) -> list[torch.nn.Module]:
        return [encoder.get_input_embeddings() for encoder in self.encoders]

    def baseline_ids(self, positions: Sequence[int] | None = None) -> list[torch.Tensor]:
        """The ids with ``positions`` (default: every word position) replaced by the baseline token "!"."""
        positions = self.words if positions is None else positions
        baselines = []
        for ids in self.ids:
            replaced = ids.clone()
            replaced[:, list(positions)] = BASELINE_TOKEN_ID
            baselines.append(replaced)
        return baselines

    def encode(self, *ids: torch.Tensor):
        if self.sdxl:
            hidden, pooled = [], None
            for encoder, encoder_ids in zip(self.encoders, ids, strict=True):
                output = encoder(encoder_ids, output_hidden_states=True)
                if output[0].ndim == 2:  # the projection encoder's pooled text embedding
                    pooled = output[0]
                hidden.append(output.hidden_states[-2])
            return torch.cat(hidden, dim=-1), pooled
        return self.encoders[0](ids[0])[0], None

    def token_maps(self, *ids: torch.Tensor) -> torch.Tensor:
        embeddings, pooled = self.encode(*ids)
        batch = embeddings.shape[0]
        observer = _CrossMaps()
        progress = FixedProgress(steps=self.steps, fixed=self.step)
        context = ModulationContext(
            config=self.config,
            plan=ModulationPlan.build([self.sample_plan] * batch, device=self.device),
            progress=progress,
            observers=[observer],
            latent_size=self.latent_size,
        )
        added = None
        if self.sdxl:
            added = {"text_embeds": pooled, "time_ids": self.time_ids.expand(batch, -1)}
        with modulated_attention(self.pipe.unet, context):
            self.pipe.unet(
                self.latent.expand(batch, -1, -1, -1),
                self.timestep,
                encoder_hidden_states=embeddings.to(self.dtype),
                added_cond_kwargs=added,
                return_dict=False,
            )
        return observer.combined()
