"""Bounded-memory attention capture: running sums per resolution and phase, filled from the attention processors.

:class:`AttentionCapture` is an observer of :mod:`attnmod.toolkit.modulation.processors`. For every attention call it adds the
conditional rows' head-averaged probabilities to one sum per ``(kind, resolution, phase)`` and counts the
contribution; nothing is kept per step, so its memory does not depend on the number of steps:

    state bytes = samples x phases x (sum over cross-attention resolutions of tokens x H x W
                  + [self-attention at the coarsest resolution] (H x W)^2) x 4   (x 2 for modulated keys)

Two sets of sums: the **model's own maps** (the event's ``reference()``: the probabilities computed at that latent
before any modulation edited them) and, for the keys where some call was modulated, the **applied maps** (the
probabilities actually used). Scores read the model's own maps, so a modulated run is not scored on maps the
modulation shaped by construction. The second sum is created at the first modulated call of a key (as a copy of
the sum so far, where both agreed), so an unmodulated run keeps one set and costs what it did before.

The sums stay on the model's device during the run (no per-layer copies to the host) and become one
:class:`~attnmod.toolkit.modulation.record.AttentionRecord` per sample at the end, whose ``mean()`` is the head-,
layer- and step-averaged map of a phase.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from ..prompt.tokenizer import CLIP_CONTEXT_LENGTH
from ..prompt.tree import PromptTree
from .context import AttentionEvent
from .install import attention_levels
from .record import DEFAULT_PHASES, AttentionRecord, Phase, phase_of, resolution_key

FLOAT_BYTES = 4


class AttentionCapture:
    """Running sums of head-averaged conditional attention for a batch of ``samples`` prompts.

    Cross-attention is kept for every token at every resolution; self-attention only when ``self_attention`` is
    true, and then only at ``self_level`` (the coarsest level: its map has (H W)^2 entries).
    ``peak_bytes`` is the largest state plus the one transient head-average this object allocates at a time.
    """

    def __init__(
        self,
        samples: int,
        phases: Sequence[Phase] = DEFAULT_PHASES,
        self_attention: bool = False,
        self_level: int | None = None,
    ):
        self.samples = samples
        self.phases = tuple(phases)
        self.self_attention = self_attention
        self.self_level = self_level
        self.sums: dict[str, torch.Tensor] = {}  # key "kind/HxW/phase" -> [samples, ...] float32, model's own maps
        self.applied: dict[str, torch.Tensor] = {}  # same keys, maps after modulation, only where they differ
        self.counts: dict[str, int] = {}
        self.peak_bytes = 0

    def wants(self, kind: str, module: str, level: int) -> bool:
        if kind == "cross":
            return True
        return self.self_attention and (self.self_level is None or level == self.self_level)

    def observe(self, event: AttentionEvent) -> None:
        phase = phase_of(event.progress, self.phases)
        if phase is None:
            return
        height, width = event.resolution
        key = AttentionRecord.key(event.kind, resolution_key(height, width), phase.name)
        used = event.probabilities
        own = event.reference() if event.reference is not None else used
        contribution = self._contribution(event.kind, own, height, width)
        applied = contribution if own is used else self._contribution(event.kind, used, height, width)
        if applied is not contribution and key not in self.applied:
            # first modulated call of this key: until now the applied maps were the model's own
            self.applied[key] = self.sums[key].clone() if key in self.sums else torch.zeros_like(applied)
        if key in self.sums:
            self.sums[key] += contribution
        else:
            self.sums[key] = contribution.contiguous().clone()
        if key in self.applied:
            self.applied[key] += applied
        self.counts[key] = self.counts.get(key, 0) + 1
        transient = contribution.numel() * FLOAT_BYTES * (1 if applied is contribution else 2)
        self.peak_bytes = max(self.peak_bytes, self.state_bytes + transient)

    @staticmethod
    def _contribution(kind: str, probabilities: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Head average ``[B, N, L]`` of the probabilities; cross-attention reshaped to ``[B, L, H, W]``."""
        mean = probabilities.float().mean(dim=1)
        if kind == "cross":
            return mean.transpose(1, 2).reshape(mean.shape[0], mean.shape[2], height, width)
        return mean

    @property
    def state_bytes(self) -> int:
        tensors = [*self.sums.values(), *self.applied.values()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def records(
        self,
        token_ids: Sequence[Sequence[int]],
        token_texts: Sequence[Sequence[str]],
        trees: Sequence[PromptTree | None],
        metadata: Sequence[dict] | dict | None = None,
    ) -> list[AttentionRecord]:
        """One AttentionRecord per sample, its tensors moved to the CPU."""
        records = []
        for index in range(self.samples):
            extra = metadata[index] if isinstance(metadata, (list, tuple)) else dict(metadata or {})
            info = dict(extra)
            info["capture"] = {
                "state_bytes": self.state_bytes // max(self.samples, 1),
                "peak_bytes": self.peak_bytes,
                "self_attention": self.self_attention,
            }
            records.append(
                AttentionRecord(
                    phases=self.phases,
                    sums={key: value[index].detach().to("cpu").clone() for key, value in self.sums.items()},
                    applied={key: value[index].detach().to("cpu").clone() for key, value in self.applied.items()},
                    counts=dict(self.counts),
                    token_ids=list(token_ids[index]),
                    token_texts=list(token_texts[index]),
                    tree=trees[index],
                    metadata=info,
                )
            )
        return records


def estimate_state_bytes(
    resolutions: Iterable[tuple[int, int]],
    phases: int = len(DEFAULT_PHASES),
    tokens: int = CLIP_CONTEXT_LENGTH,
    self_resolution: tuple[int, int] | None = None,
    modulated: bool = False,
) -> int:
    """Capture state of one sample in bytes (float32): ``phases x (sum_r tokens H_r W_r + (H_s W_s)^2) x 4``, twice
    that with ``modulated`` (the applied maps beside the model's own; an upper bound: only keys where some call was
    modulated get the second sum)."""
    cross = sum(tokens * height * width for height, width in set(resolutions))
    self_part = (self_resolution[0] * self_resolution[1]) ** 2 if self_resolution else 0
    return phases * (cross + self_part) * FLOAT_BYTES * (2 if modulated else 1)


def unet_attention_resolutions(unet, latent_height: int, latent_width: int) -> dict[int, tuple[int, int]]:
    """Level -> (H, W) of the attention maps of ``unet`` for a latent of the given size."""
    sizes = {}
    for level in sorted(set(attention_levels(unet).values())):
        height, width = latent_height, latent_width
        for _ in range(level):
            height, width = (height + 1) // 2, (width + 1) // 2
        sizes[level] = (height, width)
    return sizes
